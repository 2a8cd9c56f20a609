"""The raw-request corpus replayed in-process: an H1Connection over an in-memory transport.

The same cases, split modes and judgement as ``tests/corpus`` (which replays them over real
sockets against a forno process), but each exchange runs on a real event loop in this process,
in milliseconds, with no socket between the bytes and the parser. A failure here that the
socket replay does not show points at the transport layer; one that both show, at the
connection.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from forno.config import Interface
from forno.server.h1 import H1Connection
from tests.apps import corpus_asgi, corpus_wsgi
from tests.corpus.replay import (
    INTERNAL_PATHS,
    PROBE_REQUEST,
    Case,
    Exchange,
    ExchangeError,
    ExchangeTimeout,
    Response,
    ResponseReader,
    judge,
    show_bytes,
    splitter,
)
from tests.corpus.test_corpus import CASES, KNOWN_DEVIATIONS
from tests.unit.server.memory import MemoryTransport, h1_connection

MODES = ("whole", "lines", "bytes", "random1", "random2")
BYTE_SPLIT_LIMIT = 2048
#: Seconds an exchange may take; in-process exchanges finish in milliseconds unless the server
#: keeps a connection open that the case expects closed (then this is how long we wait).
TIMEOUT = 2.0

APPS: dict[str, tuple[Any, Interface, Any]] = {
    "asgi": (corpus_asgi.app, Interface.ASGI3, corpus_asgi),
    "wsgi": (corpus_wsgi.app, Interface.WSGI, corpus_wsgi),
}


class _OutputSocket:
    """What ResponseReader needs of a socket, reading the transport's output so far."""

    def __init__(self, data: bytes, eof: bool) -> None:
        self._data = data
        self._eof = eof
        self._position = 0

    def settimeout(self, timeout: float) -> None:
        return None

    def recv(self, size: int) -> bytes:
        if self._position < len(self._data):
            chunk = self._data[self._position : self._position + size]
            self._position += len(chunk)
            return chunk
        if self._eof:
            return b""
        raise TimeoutError  # no more bytes yet: ResponseReader turns this into ExchangeTimeout


@dataclass
class _Parsed:
    responses: list[Response]
    closed: bool | None
    probe_answered: bool
    error: str | None
    complete: bool


def _parse(output: bytes, eof: bool, methods: tuple[str, ...], *, probing: bool) -> _Parsed:
    """Every whole response in ``output``, as the socket replay reads them."""
    reader = ResponseReader(_OutputSocket(output, eof), time.monotonic() + 3600)  # type: ignore[arg-type]
    parsed = _Parsed([], None, False, None, True)
    try:
        while True:
            index = len(parsed.responses)
            response = reader.next_response(methods[index] if index < len(methods) else "GET")
            if response is None:
                parsed.closed = True
                return parsed
            if probing and response.is_probe:
                parsed.closed = False
                parsed.probe_answered = True
                return parsed
            parsed.responses.append(response)
    except ExchangeTimeout:
        parsed.complete = False
    except ExchangeError as exc:
        parsed.error = str(exc)
        parsed.closed = reader.eof or None
    return parsed


class _Driver:
    """Feeds a connection as the event loop would, and waits on the transport's progress."""

    def __init__(self, connection: H1Connection, transport: MemoryTransport) -> None:
        self.connection = connection
        self.transport = transport
        self.deadline = asyncio.get_running_loop().time() + TIMEOUT

    async def until(self, condition: Callable[[], bool]) -> bool:
        loop = asyncio.get_running_loop()
        while not condition():
            self.transport.changed.clear()
            remaining = self.deadline - loop.time()
            if remaining <= 0:
                return False
            try:
                await asyncio.wait_for(self.transport.changed.wait(), remaining)
            except TimeoutError:
                return condition()
        return True

    async def send(self, data: bytes) -> str | None:
        """Deliver ``data`` as one read, once reading is resumed; an error text if it cannot."""
        transport = self.transport
        if not await self.until(lambda: not transport.reading_paused or transport.is_closing()):
            return "timed out sending"
        if transport.is_closing():
            return "closed by the server"
        self.connection.data_received(data)
        # A socket delivers each piece in its own read: let the loop run in between.
        await asyncio.sleep(0)
        return None


async def _replay(case: Case, chunks: list[bytes], interface: str) -> tuple[Exchange, list[str]]:
    app, kind, module = APPS[interface]
    seen: list[str] = []
    original_record = module._record
    module._record = lambda entry: seen.append(entry["path"])
    fewest = min(len(outcome.responses) for outcome in case.outcomes)
    until_close = case.half_close or fewest == 0
    result = Exchange()
    try:
        async with h1_connection(app, kind) as (connection, transport):
            driver = _Driver(connection, transport)
            for chunk in chunks:
                result.send_error = await driver.send(chunk)
                if result.send_error:
                    break
            # An asyncio transport closes itself when eof_received answers falsy.
            if case.half_close and result.send_error is None and not connection.eof_received():
                transport.close()

            def parse(probing: bool) -> _Parsed:
                return _parse(
                    bytes(transport.output),
                    transport.closed.is_set(),
                    case.methods,
                    probing=probing,
                )

            if until_close:
                await driver.until(transport.closed.is_set)
                probing = False
            else:
                await driver.until(
                    lambda: transport.closed.is_set() or len(parse(False).responses) >= fewest
                )
                probing = not transport.closed.is_set() and await driver.send(PROBE_REQUEST) is None
                if probing:
                    await driver.until(
                        lambda: transport.closed.is_set() or parse(True).probe_answered
                    )
            parsed = parse(probing)
    finally:
        module._record = original_record
    result.responses = parsed.responses
    result.closed = parsed.closed
    result.error = parsed.error
    if parsed.error is None and parsed.closed is None:
        # Still open at the deadline: for a case read until close that means "kept open".
        if until_close:
            result.closed = False
        result.error = f"timed out after {TIMEOUT:.1f}s" + (
            " waiting for the server to close" if until_close else ""
        )
    return result, [path for path in seen if path not in INTERNAL_PATHS]


def _params() -> Iterator[object]:
    for case in CASES:
        marks = []
        if case.name in KNOWN_DEVIATIONS:
            marks.append(pytest.mark.xfail(reason=KNOWN_DEVIATIONS[case.name], strict=True))
        for mode in MODES:
            if mode == "bytes" and len(case.data) > BYTE_SPLIT_LIMIT:
                continue
            yield pytest.param(case, mode, id=f"{case.name}-{mode}", marks=marks)


@pytest.mark.parametrize("interface", sorted(APPS))
@pytest.mark.parametrize(("case", "mode"), list(_params()))
def test_corpus_in_process(case: Case, mode: str, interface: str) -> None:
    chunks = splitter(mode, case.name)(case.data)
    result, app_paths = asyncio.run(_replay(case, chunks, interface))
    problems = judge(case, result, app_paths)
    if problems:
        allowed = "\n".join(f"  - {o.describe()}" for o in case.outcomes)
        pytest.fail(
            f"{case.name} [{interface}, {mode}, {len(chunks)} pieces, in-process]\n"
            f"{case.description}\n({case.reference})\n"
            f"request: {show_bytes(case.data)}\n"
            f"expected one of:\n{allowed}\n"
            f"actual:   {result.summary()}, app saw {app_paths}\n"
            f"problems: {'; '.join(problems)}",
            pytrace=False,
        )
