"""WebSocket test apps for tests/e2e/test_websocket*.py (plain ASGI, no framework).

The path selects the behaviour; events the tests wait for are printed as ``ws-event: ...``
lines (the server's output is the test's log).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


def report(text: str) -> None:
    print(f"ws-event: {text}", flush=True)


async def echo(scope: Scope, receive: Receive, send: Send) -> None:
    message = await receive()
    assert message["type"] == "websocket.connect"
    subprotocols = scope["subprotocols"]
    await send(
        {"type": "websocket.accept", "subprotocol": subprotocols[0] if subprotocols else None}
    )
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            report(f"disconnect {scope['path']} {message['code']} {message.get('reason', '')!r}")
            return
        if message.get("text") is not None:
            text = message["text"]
            if text.startswith("close:"):
                _, code, reason = text.split(":", 2)
                await send({"type": "websocket.close", "code": int(code), "reason": reason})
                continue
            await send({"type": "websocket.send", "text": text})
        else:
            await send({"type": "websocket.send", "bytes": message["bytes"]})


async def deny(scope: Scope, receive: Receive, send: Send) -> None:
    await receive()
    await send(
        {
            "type": "websocket.http.response.start",
            "status": 401,
            "headers": [(b"content-type", b"text/plain"), (b"x-denied", b"yes")],
        }
    )
    await send({"type": "websocket.http.response.body", "body": b"go ", "more_body": True})
    await send({"type": "websocket.http.response.body", "body": b"away"})


async def deny_invalid(scope: Scope, receive: Receive, send: Send) -> None:
    await receive()
    start = {"type": "websocket.http.response.start", "status": 401, "headers": [(b"b d", b"x")]}
    await send(start)
    try:
        await send({"type": "websocket.http.response.body", "body": b"never sent"})
    except RuntimeError as exc:
        report(f"deny-invalid raised {type(exc).__name__}")


async def refuse(scope: Scope, receive: Receive, send: Send) -> None:
    await receive()
    await send({"type": "websocket.close"})


async def send_after_close(scope: Scope, receive: Receive, send: Send) -> None:
    await receive()
    await send({"type": "websocket.accept"})
    message = await receive()
    report(f"after-close got {message['type']}")
    try:
        await send({"type": "websocket.send", "text": "too late"})
    except OSError as exc:
        report(f"send raised {type(exc).__name__}")
    again = await receive()
    report(f"receive again {again['type']}")


async def scope_info(scope: Scope, receive: Receive, send: Send) -> None:
    await receive()
    await send({"type": "websocket.accept", "headers": [(b"x-forno-test", b"1")]})
    info = {
        key: scope[key]
        for key in ("type", "http_version", "scheme", "path", "root_path", "subprotocols")
    }
    info["query_string"] = scope["query_string"].decode()
    info["raw_path"] = scope["raw_path"].decode()
    info["extensions"] = sorted(scope.get("extensions", {}))
    info["state"] = dict(scope.get("state", {}))
    await send({"type": "websocket.send", "text": repr(info)})
    await send({"type": "websocket.close", "code": 1000})


async def slow_reader(scope: Scope, receive: Receive, send: Send) -> None:
    """Accepts, then sends without reading until told; reports how far it got."""
    await receive()
    await send({"type": "websocket.accept"})
    payload = b"x" * 65536
    sent = 0
    try:
        while sent < 2000:
            await send({"type": "websocket.send", "bytes": payload})
            sent += 1
            if sent % 10 == 0:
                report(f"sent {sent}")
    except OSError:
        report(f"slow send raised after {sent}")
        return
    report("slow done")


async def ignore_messages(scope: Scope, receive: Receive, send: Send) -> None:
    """Accepts and never reads: the server must stop reading from the client."""
    await receive()
    await send({"type": "websocket.accept"})
    report("not reading")
    await asyncio.Event().wait()


ROUTES = {
    "/deny": deny,
    "/deny-invalid": deny_invalid,
    "/refuse": refuse,
    "/send-after-close": send_after_close,
    "/scope": scope_info,
    "/slow": slow_reader,
    "/ignore": ignore_messages,
}


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                scope["state"]["greeting"] = "hello"
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] == "http":
        await receive()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"plain http"})
        return
    if scope["path"] == "/crash":
        raise RuntimeError("boom before accept")
    handler = ROUTES.get(scope["path"], echo)
    await handler(scope, receive, send)
