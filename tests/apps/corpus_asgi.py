"""Plain ASGI 3 app for the HTTP/1.1 request corpus and the fuzzer.

Every request is answered with 200 and a JSON description of what reached the app. When
``CORPUS_SEEN_LOG`` names a file, one JSON line per request is appended to it as soon as
the request reaches the app (before its body is read), so the tests can tell which requests
the server dispatched even if no response made it back. ``/slow`` waits 0.2 s before reading
the body, to test that pipelined responses stay in order.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_SEEN_LOG = os.environ.get("CORPUS_SEEN_LOG")
_LOCK = threading.Lock()
_WATCHED = (b"host", b"content-length", b"transfer-encoding")


def _record(entry: dict[str, Any]) -> None:
    if not _SEEN_LOG:
        return
    line = json.dumps(entry) + "\n"
    with _LOCK, open(_SEEN_LOG, "a", encoding="utf-8") as log:
        log.write(line)


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
        return
    if scope["type"] != "http":
        return
    path: str = scope["path"]
    method: str = scope["method"]
    _record({"interface": "asgi", "method": method, "path": path})
    if path == "/slow":
        await asyncio.sleep(0.2)
    body = bytearray()
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return  # the client went away before the body was complete: nothing to answer
        body += message.get("body", b"")
        if not message.get("more_body", False):
            break
    headers: dict[str, list[str]] = {}
    for name, value in scope["headers"]:
        key = bytes(name).lower()
        if key in _WATCHED:
            headers.setdefault(key.decode("latin-1"), []).append(bytes(value).decode("latin-1"))
    seen = {
        "interface": "asgi",
        "method": method,
        "path": path,
        "query": bytes(scope.get("query_string", b"")).decode("latin-1"),
        "http_version": scope.get("http_version"),
        "host": ", ".join(headers["host"]) if "host" in headers else None,
        "content_length": ", ".join(headers["content-length"])
        if "content-length" in headers
        else None,
        "transfer_encoding": ", ".join(headers["transfer-encoding"])
        if "transfer-encoding" in headers
        else None,
        "body": body.decode("latin-1"),
    }
    payload = json.dumps(seen).encode("ascii")
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode("ascii")),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
