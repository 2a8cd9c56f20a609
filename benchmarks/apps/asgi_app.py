"""The fixed ASGI 3 benchmark app, served unchanged by every ASGI server.

No framework: the point is to measure the server, not the app.

    GET  /        13-byte ``Hello, world!`` (text/plain)
    GET  /json    ``{"message":"Hello, world!"}``, serialised per request
    POST /echo    the request body, echoed back
    GET  /stream  1 MiB in 64 KiB ``more_body`` chunks (no Content-Length: chunked encoding)
    GET  /slow    ``Hello, world!`` after ``await asyncio.sleep(0.1)``
    WS   /ws      echoes every text and binary message
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

HELLO = b"Hello, world!"
CHUNK = b"x" * (64 * 1024)
CHUNKS = 16  # 16 x 64 KiB = 1 MiB
SLOW_SECONDS = 0.1

TEXT_HEADERS = [(b"content-type", b"text/plain"), (b"content-length", b"13")]
STREAM_HEADERS = [(b"content-type", b"application/octet-stream")]


async def _respond(
    send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes
) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _read_body(receive: Receive) -> bytes:
    parts: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        parts.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(parts)


async def _http(scope: Scope, receive: Receive, send: Send) -> None:
    path = scope["path"]
    method = scope["method"]
    if path == "/" and method == "GET":
        await _respond(send, 200, TEXT_HEADERS, HELLO)
    elif path == "/json" and method == "GET":
        body = json.dumps({"message": "Hello, world!"}, separators=(",", ":")).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        await _respond(send, 200, headers, body)
    elif path == "/echo" and method == "POST":
        body = await _read_body(receive)
        headers = [
            (b"content-type", b"application/octet-stream"),
            (b"content-length", str(len(body)).encode()),
        ]
        await _respond(send, 200, headers, body)
    elif path == "/stream" and method == "GET":
        await send({"type": "http.response.start", "status": 200, "headers": STREAM_HEADERS})
        for index in range(CHUNKS):
            more = index < CHUNKS - 1
            await send({"type": "http.response.body", "body": CHUNK, "more_body": more})
    elif path == "/slow" and method == "GET":
        await asyncio.sleep(SLOW_SECONDS)
        await _respond(send, 200, TEXT_HEADERS, HELLO)
    else:
        await _respond(send, 404, [(b"content-type", b"text/plain")], b"Not Found")


async def _websocket(scope: Scope, receive: Receive, send: Send) -> None:
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    if scope["path"] != "/ws":
        await send({"type": "websocket.close", "code": 1008})
        return
    await send({"type": "websocket.accept"})
    while True:
        message = await receive()
        kind = message["type"]
        if kind == "websocket.receive":
            text = message.get("text")
            if text is not None:
                await send({"type": "websocket.send", "text": text})
            else:
                await send({"type": "websocket.send", "bytes": message.get("bytes") or b""})
        elif kind == "websocket.disconnect":
            return


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    kind = scope["type"]
    if kind == "http":
        await _http(scope, receive, send)
    elif kind == "websocket":
        await _websocket(scope, receive, send)
    elif kind == "lifespan":
        await _lifespan(receive, send)
