"""Replay the raw HTTP/1.1 request corpus against a real forno server.

Every case in ``cases/`` is sent whole, line by line, byte by byte (cases up to
``BYTE_SPLIT_LIMIT`` bytes) and in two seeded random splits, to an ASGI app and to a WSGI app,
each served by one forno process for the whole module.

``CORPUS_STRICT=1`` accepts only each case's preferred outcome (forno's own choice where
the RFC allows several); by default every RFC-permitted outcome passes.
``CORPUS_MODES=whole,lines`` restricts the split modes (e.g. for a quick run).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.corpus.replay import (
    BARRIER_PATH,
    BARRIER_REQUEST,
    INTERNAL_PATHS,
    Case,
    judge,
    load_cases,
    read_seen,
    show_bytes,
    simple_get,
    splitter,
)
from tests.corpus.replay import exchange as run_exchange
from tests.support.server import RunningServer, serve

CASES = load_cases()
ALL_MODES = ("whole", "lines", "bytes", "random1", "random2")
MODES = tuple(m for m in os.environ.get("CORPUS_MODES", ",".join(ALL_MODES)).split(",") if m)
BYTE_SPLIT_LIMIT = 2048
STRICT = os.environ.get("CORPUS_STRICT", "") not in ("", "0")
TIMEOUT = float(os.environ.get("CORPUS_TIMEOUT", "5"))
APPS = {"asgi": "corpus_asgi:app", "wsgi": "corpus_wsgi:app"}


# Valid requests forno refuses because its parser (llhttp, in strict mode) does; the RFC
# expectation stays in the case, the deviation is listed in docs/http.md. strict=True makes a
# fix show up as a failure, so this list cannot go stale.
KNOWN_DEVIATIONS = {
    "valid_te_chunked_tab_ows": "llhttp does not take 'chunked<TAB>' as chunked; forno answers 400",
    "valid_chunked_extension_bws": "llhttp refuses whitespace around ';' in chunk extensions (400)",
    "valid_version_1_2": "llhttp knows only HTTP/1.0 and 1.1 here; forno answers 505",
}


def _params() -> Iterator[object]:
    for case in CASES:
        marks = []
        if case.name in KNOWN_DEVIATIONS:
            marks.append(pytest.mark.xfail(reason=KNOWN_DEVIATIONS[case.name], strict=True))
        for mode in MODES:
            if mode == "bytes" and len(case.data) > BYTE_SPLIT_LIMIT:
                continue
            yield pytest.param(case, mode, id=f"{case.name}-{mode}", marks=marks)


@dataclass
class CorpusServer:
    server: RunningServer
    interface: str
    seen_log: Path
    offset: int = 0


@pytest.fixture(scope="module", params=sorted(APPS))
def corpus_server(request: pytest.FixtureRequest) -> Iterator[CorpusServer]:
    interface: str = request.param
    with tempfile.TemporaryDirectory(prefix="forno-corpus-") as tmp:
        seen_log = Path(tmp) / "seen.jsonl"
        seen_log.touch()
        env = {"CORPUS_SEEN_LOG": str(seen_log)}
        with serve(APPS[interface], env=env) as server:
            # Wait for readiness by asking: the socket is bound already, so this just queues.
            simple_get(server.host, server.port, BARRIER_REQUEST, timeout=30)
            running = CorpusServer(server, interface, seen_log)
            _, running.offset = read_seen(seen_log, 0)
            yield running
            assert server.process.poll() is None, f"forno died:\n{server.log()}"


def test_corpus_is_well_formed() -> None:
    """The corpus loads, is big enough and every case has a description and reference."""
    assert len(CASES) >= 90
    names = [case.name for case in CASES]
    assert len(names) == len(set(names))
    for case in CASES:
        assert case.outcomes, case.name


@pytest.mark.parametrize(("case", "mode"), list(_params()))
def test_corpus(corpus_server: CorpusServer, case: Case, mode: str) -> None:
    server = corpus_server.server
    chunks = splitter(mode, case.name)(case.data)
    # After the fewest responses any acceptable outcome has, a probe request on the same
    # connection tells "kept open and in sync" from "closed" without waiting for a timeout.
    fewest = min(len(outcome.responses) for outcome in case.outcomes)
    result = run_exchange(
        server.host,
        server.port,
        chunks,
        expected_responses=fewest,
        until_close=case.half_close or fewest == 0,
        methods=case.methods,
        half_close=case.half_close,
        timeout=TIMEOUT,
    )
    # A fresh connection proves the server still answers, and (since the app logs a request
    # before answering it) that everything dispatched before it is in the seen log.
    barrier = simple_get(server.host, server.port, BARRIER_REQUEST, timeout=TIMEOUT)
    assert barrier.status == 200, f"barrier request got {barrier.status}"
    entries, corpus_server.offset = read_seen(corpus_server.seen_log, corpus_server.offset)
    assert entries, "the barrier request never reached the app"
    assert entries[-1]["path"] == BARRIER_PATH, entries
    app_paths = [e["path"] for e in entries if e["path"] not in INTERNAL_PATHS]
    assert server.process.poll() is None, f"forno died:\n{server.log()}"

    problems = judge(case, result, app_paths, strict=STRICT)
    if problems:
        allowed = "\n".join(f"  - {o.describe()}" for o in case.outcomes)
        pytest.fail(
            f"{case.name} [{corpus_server.interface}, {mode}, {len(chunks)} pieces]\n"
            f"{case.description}\n({case.reference})\n"
            f"request: {show_bytes(case.data)}\n"
            f"expected one of:\n{allowed}\n"
            f"actual:   {result.summary()}, app saw {app_paths}\n"
            f"problems: {'; '.join(problems)}",
            pytrace=False,
        )
