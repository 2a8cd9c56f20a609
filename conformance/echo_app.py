"""A plain ASGI 3 application used by the WebSocket conformance run (no framework).

* ``websocket``: accepts on connect, echoes every text and binary message back unchanged,
  returns when the client disconnects.
* ``http``: answers every request with a small ``200 OK`` text body.
* ``lifespan``: completes startup and shutdown.

Serve it with, for example, ``python -m forno conformance.echo_app:app`` from the repository
root, or ``uvicorn --app-dir conformance echo_app:app``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

HTTP_BODY = b"forno conformance echo app\n"


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    kind = scope["type"]
    if kind == "websocket":
        await _websocket(receive, send)
    elif kind == "http":
        await _http(receive, send)
    elif kind == "lifespan":
        await _lifespan(receive, send)
    else:
        raise RuntimeError(f"unsupported scope type: {kind!r}")


async def _websocket(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        kind = message["type"]
        if kind == "websocket.connect":
            await send({"type": "websocket.accept"})
        elif kind == "websocket.receive":
            text = message.get("text")
            if text is not None:
                await send({"type": "websocket.send", "text": text})
            else:
                await send({"type": "websocket.send", "bytes": message.get("bytes") or b""})
        elif kind == "websocket.disconnect":
            return


async def _http(receive: Receive, send: Send) -> None:
    # Drain the request body so the server can reuse the connection.
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        if message["type"] == "http.request" and not message.get("more_body", False):
            break
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(HTTP_BODY)).encode("ascii")),
            ],
        }
    )
    await send({"type": "http.response.body", "body": HTTP_BODY})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
