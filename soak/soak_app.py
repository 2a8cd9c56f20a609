"""The apps soak/soak.py serves: ``app`` (ASGI: HTTP endpoints and a WebSocket echo) and
``wsgi_app`` (the same HTTP endpoints for WSGI).

- ``GET /hello``: a small fixed body.
- ``POST /upload``: reads the body; answers ``<length> <crc32>``.
- ``GET /stream?size=N``: streams N bytes of ``PATTERN`` in 64 KiB pieces (chunked).
- ``/ws`` (ASGI): echoes every text and binary message until the client closes.
"""

from __future__ import annotations

import zlib
from collections.abc import Awaitable, Callable, Iterable, Iterator, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
StartResponse = Callable[..., Any]

HELLO = b"hello, soak\n"
PIECE = 65536
PATTERN = bytes(range(256)) * (PIECE // 256)
TEXT = [(b"content-type", b"text/plain")]


def stream_size(query: bytes) -> int:
    for part in query.split(b"&"):
        name, _, value = part.partition(b"=")
        if name == b"size" and value.isdigit():
            return int(value)
    return PIECE


async def websocket_echo(receive: Receive, send: Send) -> None:
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    await send({"type": "websocket.accept"})
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return
        if message.get("text") is not None:
            await send({"type": "websocket.send", "text": message["text"]})
        else:
            await send({"type": "websocket.send", "bytes": message.get("bytes") or b""})


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    if scope["type"] == "websocket":
        await websocket_echo(receive, send)
        return
    path = scope["path"]
    if path == "/hello":
        await send({"type": "http.response.start", "status": 200, "headers": TEXT})
        await send({"type": "http.response.body", "body": HELLO})
    elif path == "/upload":
        length, crc = 0, 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # a client reset mid-upload: nothing to answer
            body = message.get("body", b"")
            length += len(body)
            crc = zlib.crc32(body, crc)
            if not message.get("more_body", False):
                break
        await send({"type": "http.response.start", "status": 200, "headers": TEXT})
        await send({"type": "http.response.body", "body": b"%d %d" % (length, crc)})
    elif path == "/stream":
        size = stream_size(scope["query_string"])
        await send({"type": "http.response.start", "status": 200, "headers": TEXT})
        sent = 0
        try:
            while sent < size:
                piece = PATTERN[: min(PIECE, size - sent)]
                sent += len(piece)
                await send({"type": "http.response.body", "body": piece, "more_body": True})
        except OSError:
            return  # the client went away mid-download
        await send({"type": "http.response.body", "body": b""})
    else:
        await send({"type": "http.response.start", "status": 404, "headers": TEXT})
        await send({"type": "http.response.body", "body": b"not found"})


def _pieces(size: int) -> Iterator[bytes]:
    sent = 0
    while sent < size:
        piece = PATTERN[: min(PIECE, size - sent)]
        sent += len(piece)
        yield piece


def wsgi_app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    path = environ["PATH_INFO"]
    headers = [("Content-Type", "text/plain")]
    if path == "/hello":
        start_response("200 OK", headers)
        return [HELLO]
    if path == "/upload":
        stream = environ["wsgi.input"]
        length, crc = 0, 0
        while body := stream.read(PIECE):
            length += len(body)
            crc = zlib.crc32(body, crc)
        start_response("200 OK", headers)
        return [b"%d %d" % (length, crc)]
    if path == "/stream":
        start_response("200 OK", headers)
        return _pieces(stream_size(environ["QUERY_STRING"].encode("latin-1")))
    start_response("404 Not Found", headers)
    return [b"not found"]
