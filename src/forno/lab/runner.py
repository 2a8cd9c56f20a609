"""The lab's users: one HTTP/1.1 connection each, all requests sent at once, times recorded.

A small client on asyncio streams and httptools (forno's own parser), so that the page and the
terminal measure the same way, with no dependency beyond forno's. The lab plays the users
instead of the browser because a browser opens at most six connections to one host and port:
with more users it would queue the requests itself and the picture would lie.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httptools

from forno.lab.timeline import Request

# A lab response is a few hundred bytes; anything much larger is not one of ours.
MAX_RESPONSE = 64 * 1024
# Beyond the time the lane itself needs, how long a request may take before it counts as failed.
REQUEST_SLACK = 15.0
# Spreading users over a lane's worker processes: the pause after a reconnection that landed on
# a worker already taken (the others may still be starting; the wait is bounded by ``timeout``).
SPREAD_PAUSE = 0.02

Emit = Callable[[dict[str, Any]], Awaitable[None]]


class HTTPError(Exception):
    pass


@dataclass
class _Response:
    status: int = 0
    body: bytearray = field(default_factory=bytearray)
    complete: bool = False


class Connection:
    """One keep-alive connection; ``request`` sends a GET and reads the whole response."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, host: str, port: int, timeout: float) -> Connection:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        return cls(reader, writer)

    def send(self, path: str) -> None:
        self.writer.write(
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: forno-lab\r\n\r\n".encode()
        )

    async def receive(self) -> _Response:
        response = _Response()

        class Handler:
            def on_body(self, body: bytes) -> None:
                response.body += body
                if len(response.body) > MAX_RESPONSE:
                    raise HTTPError("response too large")

            def on_message_complete(self) -> None:
                response.complete = True

        parser = httptools.HttpResponseParser(Handler())
        while not response.complete:
            data = await self.reader.read(16384)
            if not data:
                raise HTTPError("connection closed before the response was complete")
            try:
                parser.feed_data(data)
            except httptools.HttpParserError as exc:
                raise HTTPError(f"bad response: {exc}") from None
        response.status = parser.get_status_code()
        return response

    async def get_json(self, path: str, timeout: float) -> tuple[int, dict[str, Any]]:
        self.send(path)
        response = await asyncio.wait_for(self.receive(), timeout)
        try:
            payload = json.loads(response.body)
        except ValueError:
            payload = {"text": response.body.decode(errors="replace")}
        if not isinstance(payload, dict):
            payload = {"value": payload}
        return response.status, payload

    def close(self) -> None:
        self.writer.close()


async def get_json(host: str, port: int, path: str, timeout: float) -> dict[str, Any]:
    """One request on a fresh connection; non-200 answers raise ``HTTPError``."""
    connection = await Connection.open(host, port, timeout)
    try:
        status, payload = await connection.get_json(path, timeout)
    finally:
        connection.close()
    if status != 200:
        raise HTTPError(f"GET {path}: {status} {payload}")
    return payload


async def connect_users(
    port: int, users: int, *, spread_over: int = 0, timeout: float = 10.0
) -> list[Connection]:
    """Open one warmed-up connection per user (a ``/ping`` on each).

    With ``spread_over`` > 1 (a lane of that many worker processes), reconnect users that share
    a worker with an earlier user until each of the first ``spread_over`` users has a worker of
    its own, or ``timeout`` runs out: the kernel hands connections of a shared
    listening socket to whichever worker wakes first, not round robin (docs/lab.md).
    """
    connections: list[Connection] = []
    pids: list[int] = []
    try:
        for _ in range(users):
            connections.append(await Connection.open("127.0.0.1", port, timeout))
        for connection in connections:
            _status, payload = await connection.get_json("/ping", timeout)
            pids.append(int(payload.get("pid", 0)))
        if spread_over > 1:
            await _spread(connections, pids, port, min(users, spread_over), timeout)
    except BaseException:
        for connection in connections:
            connection.close()
        raise
    return connections


async def _spread(
    connections: list[Connection], pids: list[int], port: int, wanted: int, timeout: float
) -> None:
    """Reconnect the first ``wanted`` users until no two of them share a worker (bounded)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        seen: set[int] = set()
        clash = None
        for index, pid in enumerate(pids[:wanted]):
            if pid in seen:
                clash = index
                break
            seen.add(pid)
        if clash is None:
            return
        connections[clash].close()
        connections[clash] = await Connection.open("127.0.0.1", port, timeout)
        _status, payload = await connections[clash].get_json("/ping", timeout)
        pids[clash] = int(payload.get("pid", 0))
        if pids[clash] in seen:
            # Still the same few workers: the others may still be starting. Give them a moment
            # rather than spinning through connections.
            await asyncio.sleep(SPREAD_PAUSE)


async def run_requests(
    lane: str,
    connections: list[Connection],
    delay: float,
    origin: float,
    emit: Emit,
) -> list[Request]:
    """Send ``/work?delay=`` on every connection at once; times relative to ``origin``."""
    timeout = len(connections) * delay + REQUEST_SLACK

    async def one(user: int, connection: Connection) -> Request:
        sent = time.monotonic() - origin
        request = Request(user=user, sent=sent)
        await emit({"type": "sent", "lane": lane, "user": user, "t": sent})
        try:
            status, payload = await connection.get_json(f"/work?delay={delay:g}", timeout)
            arrived = time.monotonic() - origin
        except (TimeoutError, HTTPError, OSError) as exc:
            request.error = str(exc) or type(exc).__name__
        else:
            request.status = status
            if status != 200:
                request.error = f"status {status}: {payload}"
            request.pid = payload.get("pid")
            request.thread = payload.get("thread")
            for name in ("server_start", "server_end"):
                value = payload.get(name)
                if isinstance(value, int | float):
                    setattr(request, name, value - origin)
            if request.error is None:
                request.arrived = arrived
        finally:
            connection.close()
        await emit({"type": "arrived", "lane": lane, "request": _as_dict(request)})
        return request

    return list(await asyncio.gather(*(one(i, c) for i, c in enumerate(connections))))


def _as_dict(request: Request) -> dict[str, Any]:
    return {
        "user": request.user,
        "sent": request.sent,
        "arrived": request.arrived,
        "status": request.status,
        "pid": request.pid,
        "thread": request.thread,
        "server_start": request.server_start,
        "server_end": request.server_end,
        "error": request.error,
    }
