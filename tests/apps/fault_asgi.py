"""A plain ASGI app for tests/e2e/test_faults.py: resets, slow clients, app faults.

What happens out of the client's sight is printed as a ``fault: ...`` line (the server's output is
the test's log), tagged with the ``id`` query parameter so each test waits for its own event.
``/fault/<kind>`` misbehaves in the way ``kind`` names; each raises or sends something invalid
once and lets the error propagate, as a framework would.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qs

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

TEXT = [(b"content-type", b"text/plain")]
BLOCK = b"s" * 65536


def report(text: str) -> None:
    print(f"fault: {text}", flush=True)


def query_of(scope: Scope) -> dict[str, str]:
    raw = scope["query_string"].decode("latin-1")
    return {key: values[0] for key, values in parse_qs(raw).items()}


async def respond(send: Send, body: bytes, status: int = 200) -> None:
    await send({"type": "http.response.start", "status": status, "headers": TEXT})
    await send({"type": "http.response.body", "body": body})


async def upload(receive: Receive, send: Send, tag: str) -> None:
    """Read the body; report the first piece and a disconnect."""
    total = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            report(f"upload disconnected {tag} after {total}")
            return
        total += len(message.get("body", b""))
        if total and not message.get("more_body", False):
            break
        if total:
            report(f"upload receiving {tag}")
    await respond(send, b"%d" % total)


async def stream(send: Send, tag: str, size: int) -> None:
    """Stream ``size`` bytes with more_body; report a disconnect (send raises OSError)."""
    await send({"type": "http.response.start", "status": 200, "headers": TEXT})
    sent = 0
    try:
        while sent < size:
            piece = BLOCK[: min(len(BLOCK), size - sent)]
            sent += len(piece)
            await send({"type": "http.response.body", "body": piece, "more_body": sent < size})
            if sent == len(piece):
                report(f"stream started {tag}")
    except OSError as exc:
        report(f"stream disconnected {tag} after {sent}: {type(exc).__name__}")
        return
    report(f"stream finished {tag}")


async def hang(receive: Receive, tag: str) -> None:
    report(f"hang started {tag}")
    try:
        await asyncio.sleep(60)
    except asyncio.CancelledError:
        report(f"hang cancelled {tag}")
        raise


async def fault(kind: str, receive: Receive, send: Send) -> None:
    start = {"type": "http.response.start", "status": 200, "headers": TEXT}
    if kind == "between-start-and-body":
        await send(start)
        raise RuntimeError("fault between-start-and-body")
    if kind == "after-complete":
        await respond(send, b"complete")
        raise RuntimeError("fault after-complete")
    if kind == "in-receive":
        message = await receive()
        raise RuntimeError(f"fault in-receive ({len(message.get('body', b''))} bytes)")
    if kind == "mid-stream":
        await send(start)
        await send({"type": "http.response.body", "body": b"partial", "more_body": True})
        raise RuntimeError("fault mid-stream")
    if kind == "status-str":
        await send({**start, "status": "200"})
    elif kind == "status-missing":
        await send({"type": "http.response.start", "headers": TEXT})
    elif kind == "unknown-type":
        await send({"type": "http.response.push", "path": "/"})
    elif kind == "not-a-dict":
        await send([("type", "http.response.start")])  # type: ignore[arg-type]
    elif kind == "body-before-start":
        await send({"type": "http.response.body", "body": b"early"})
    elif kind == "body-str":
        await send(start)
        await send({"type": "http.response.body", "body": "text"})
    elif kind == "headers-str":
        await send({**start, "headers": [("content-type", "text/plain")]})
        await send({"type": "http.response.body", "body": b"x"})
    elif kind == "headers-int":
        await send({**start, "headers": 5})
        await send({"type": "http.response.body", "body": b"x"})
    elif kind == "stream-body-str":
        await send(start)
        await send({"type": "http.response.body", "body": b"partial", "more_body": True})
        await send({"type": "http.response.body", "body": "text", "more_body": True})
    elif kind == "stream-unknown-type":
        await send(start)
        await send({"type": "http.response.body", "body": b"partial", "more_body": True})
        await send({"type": "http.response.start", "status": 200, "headers": TEXT})
    else:
        await respond(send, b"unknown fault", 404)
        return
    raise AssertionError(f"send accepted fault {kind}")  # pragma: no cover


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    if scope["type"] != "http":
        return
    path = scope["path"]
    query = query_of(scope)
    tag = query.get("id", "-")
    if path == "/fast":
        await respond(send, b"fast")
    elif path == "/mark":
        report(f"mark {tag}")
        await respond(send, b"mark")
    elif path == "/upload":
        await upload(receive, send, tag)
    elif path == "/stream":
        await stream(send, tag, int(query.get("size", str(200 * 1024 * 1024))))
    elif path == "/hang":
        await hang(receive, tag)
    elif path.startswith("/fault/"):
        await fault(path[len("/fault/") :], receive, send)
    else:
        await respond(send, b"not found", 404)
