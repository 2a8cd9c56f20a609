"""Property-based fuzzing of forno's HTTP/1.1 parsing against a real server.

Valid requests (alone or pipelined) are mutated with hypothesis: byte flips, insertions of
delimiter and control bytes, duplicated or dropped lines, odd chunk sizes, truncation. Each
example is sent in random pieces on a fresh connection which is then half-closed, so the
server always has all the information it will ever get. Properties:

* the server answers or closes within a bound (never hangs);
* every response is well-formed HTTP/1.1 (h11 is the judge);
* it never sends more responses than there are message boundaries it could have seen;
* unmutated pipelines get exactly one 200 per request, in order, with the right bodies;
* afterwards the process is alive, has logged no traceback, and answers a fresh request.

The run is derandomized (fixed seed) so CI is reproducible; ``FORNO_FUZZ_SEED`` picks another
fixed seed. ``FORNO_FUZZ_EXAMPLES`` sets the
number of examples per app (default 200); see tests/fuzz/README.md for long runs.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from tests.corpus.replay import (
    BARRIER_REQUEST,
    exchange,
    show_bytes,
    simple_get,
)
from tests.support.server import RunningServer, serve

# forno refuses unknown FORNO_* variables and the server inherits our environment, so the
# setting is taken out of it before any server starts.
EXAMPLES = int(os.environ.pop("FORNO_FUZZ_EXAMPLES", "") or "200")
#: Optional: explore a different, still reproducible, part of the input space.
SEED = os.environ.pop("FORNO_FUZZ_SEED", "")
TIMEOUT = 5.0
APPS = {"asgi": "corpus_asgi:app", "wsgi": "corpus_wsgi:app"}
HOST = b"Host: fuzz.test\r\n"

# --------------------------------------------------------------------------------------------
# Building blocks: valid requests


@dataclass(frozen=True)
class Request:
    data: bytes
    method: str
    path: str
    body: bytes


def _get(path: str, extra: bytes = b"") -> Request:
    data = b"GET " + path.encode() + b" HTTP/1.1\r\n" + HOST + extra + b"\r\n"
    return Request(data, "GET", path, b"")


def _head(path: str) -> Request:
    return Request(b"HEAD " + path.encode() + b" HTTP/1.1\r\n" + HOST + b"\r\n", "HEAD", path, b"")


def _post(path: str, body: bytes) -> Request:
    data = (
        b"POST " + path.encode() + b" HTTP/1.1\r\n" + HOST + b"Content-Type: text/plain\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )
    return Request(data, "POST", path, body)


def _chunked(path: str, pieces: list[bytes], trailer: bool) -> Request:
    encoded = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces if p)
    last = b"0\r\nX-Trailer: yes\r\n\r\n" if trailer else b"0\r\n\r\n"
    data = (
        (b"POST " + path.encode() + b" HTTP/1.1\r\n" + HOST + b"Transfer-Encoding: chunked\r\n\r\n")
        + encoded
        + last
    )
    return Request(data, "POST", path, b"".join(pieces))


paths = st.sampled_from(["/", "/a", "/b/c", "/q?x=1&y=2", "/%7Euser"])
bodies = st.binary(min_size=0, max_size=40).map(lambda b: b.replace(b"GET", b"get"))
requests = st.one_of(
    st.builds(_get, paths),
    st.builds(_get, paths, st.just(b"X-Extra: 1\r\nAccept: */*\r\n")),
    st.builds(_head, paths),
    st.builds(_post, paths, bodies),
    st.builds(_chunked, paths, st.lists(bodies, max_size=3), st.booleans()),
)
pipelines = st.lists(requests, min_size=1, max_size=4)

# --------------------------------------------------------------------------------------------
# Mutations

SPECIAL = [b"\r", b"\n", b"\x00", b" ", b"\t", b":", b",", b"\r\n", b";", b"\x0b", b"\xff"]
ODD_SIZES = [b"0x5", b"+5", b"-1", b"FFFFFFFFFFFFFFFFFFFF", b"5 ", b"z", b"", b"00000005"]


def _flip(data: bytes, position: int, value: int) -> bytes:
    if not data:
        return data
    i = position % len(data)
    return data[:i] + bytes([data[i] ^ (value or 1)]) + data[i + 1 :]


def _insert(data: bytes, position: int, piece: bytes) -> bytes:
    i = position % (len(data) + 1)
    return data[:i] + piece + data[i:]


def _lines(data: bytes) -> list[bytes]:
    return data.split(b"\r\n")


def _duplicate_line(data: bytes, position: int) -> bytes:
    lines = _lines(data)
    i = position % len(lines)
    return b"\r\n".join([*lines[: i + 1], lines[i], *lines[i + 1 :]])


def _drop_line(data: bytes, position: int) -> bytes:
    lines = _lines(data)
    i = position % len(lines)
    return b"\r\n".join(lines[:i] + lines[i + 1 :])


def _odd_chunk_size(data: bytes, position: int, size: bytes) -> bytes:
    lines = _lines(data)
    sizes = [
        i for i, line in enumerate(lines) if line and all(c in b"0123456789abcdef" for c in line)
    ]
    if not sizes:
        return data
    lines[sizes[position % len(sizes)]] = size
    return b"\r\n".join(lines)


def _truncate(data: bytes, position: int) -> bytes:
    return data[: position % (len(data) + 1)]


positions = st.integers(min_value=0, max_value=1 << 16)
mutations = st.one_of(
    st.tuples(st.just("flip"), positions, st.integers(0, 255)),
    st.tuples(st.just("insert"), positions, st.sampled_from(SPECIAL)),
    st.tuples(st.just("duplicate"), positions),
    st.tuples(st.just("drop"), positions),
    st.tuples(st.just("chunk-size"), positions, st.sampled_from(ODD_SIZES)),
    st.tuples(st.just("truncate"), positions),
)


def mutate(data: bytes, mutation: tuple[object, ...]) -> bytes:
    kind, position, *rest = mutation
    assert isinstance(position, int)
    if kind == "flip":
        return _flip(data, position, int(rest[0]))  # type: ignore[call-overload]
    if kind == "insert":
        return _insert(data, position, rest[0])  # type: ignore[arg-type]
    if kind == "duplicate":
        return _duplicate_line(data, position)
    if kind == "drop":
        return _drop_line(data, position)
    if kind == "chunk-size":
        return _odd_chunk_size(data, position, rest[0])  # type: ignore[arg-type]
    return _truncate(data, position)


def split_at(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(points) if b > a] or [b""]


# --------------------------------------------------------------------------------------------
# Server


@dataclass
class FuzzServer:
    server: RunningServer
    interface: str
    log_offset: int = 0


@pytest.fixture(scope="module", params=sorted(APPS))
def fuzz_server(request: pytest.FixtureRequest) -> Iterator[FuzzServer]:
    with serve(APPS[request.param]) as server:
        simple_get(server.host, server.port, BARRIER_REQUEST, timeout=30)
        running = FuzzServer(server, request.param, len(server.log()))
        yield running
        assert server.process.poll() is None, f"forno died:\n{server.log()}"
        assert "Traceback" not in server.log(), server.log()


def _check_server(fuzz: FuzzServer, data: bytes) -> None:
    server = fuzz.server
    assert server.process.poll() is None, f"forno died after {show_bytes(data)}:\n{server.log()}"
    log = server.log()
    new, fuzz.log_offset = log[fuzz.log_offset :], len(log)
    assert "Traceback" not in new, f"traceback after {show_bytes(data)}:\n{new}"
    response = simple_get(server.host, server.port, BARRIER_REQUEST, timeout=TIMEOUT)
    assert response.status == 200, f"fresh request got {response.status} after {data!r}"


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not SEED,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@seed(int(SEED or "0"))
@given(
    pipeline=pipelines,
    applied=st.lists(mutations, max_size=3),
    cuts=st.lists(st.integers(min_value=0, max_value=1 << 16), max_size=6),
)
def test_fuzz_http(
    fuzz_server: FuzzServer,
    pipeline: list[Request],
    applied: list[tuple[object, ...]],
    cuts: list[int],
) -> None:
    if applied:
        # After a mutation the client cannot know which response answers a HEAD (whose
        # Content-Length announces a body that never comes), so mutated pipelines use GET.
        pipeline = [_get(r.path) if r.method == "HEAD" else r for r in pipeline]
    data = b"".join(r.data for r in pipeline)
    for mutation in applied:
        data = mutate(data, mutation)
    server = fuzz_server.server
    pieces = split_at(data, cuts)
    if not applied:
        # Valid pipelines: exactly one 200 per request, in order, then the connection is still
        # open and in sync (a probe request on it is answered).
        result = exchange(
            server.host,
            server.port,
            pieces,
            expected_responses=len(pipeline),
            until_close=False,
            methods=[r.method for r in pipeline],
            timeout=TIMEOUT,
        )
        context = f"[{fuzz_server.interface}] {show_bytes(data)} -> {result.summary()}"
        assert result.error is None, context
        assert result.statuses == [200] * len(pipeline), context
        assert result.closed is False, context
        for request, response in zip(pipeline, result.responses, strict=True):
            if request.method == "HEAD":
                assert response.body == b"", context
                continue
            seen = response.app_json()
            assert seen is not None, context
            assert seen["method"] == request.method, context
            assert seen["path"] == request.path.split("?")[0].replace("%7E", "~"), context
            assert seen["body"] == request.body.decode("latin-1"), context
    else:
        # Mutated bytes, then the client half-closes: the server has everything it will ever
        # get, so it must answer what it can and close, within the bound.
        result = exchange(
            server.host,
            server.port,
            pieces,
            until_close=True,
            half_close=True,
            timeout=TIMEOUT,
        )
        context = f"[{fuzz_server.interface}] {show_bytes(data)} -> {result.summary()}"
        assert result.error is None or "timed out" not in result.error, f"hang: {context}"
        assert result.error is None, f"bad response bytes: {context}"
        assert result.closed, f"server did not close after the client did: {context}"
        # Each mutation adds at most one message boundary the server could act on.
        limit = len(pipeline) + len(applied)
        assert len(result.responses) <= limit, f"extra responses: {context}"
    _check_server(fuzz_server, data)
