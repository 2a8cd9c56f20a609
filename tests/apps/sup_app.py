"""ASGI app for the supervisor tests: every answer names the worker process that gave it.

``/pid``: the worker's PID. ``/sleep?s=1.5``: logs ``sup_app sleeping``, waits (without blocking the loop), then answers.
``/block?s=5``: blocks the worker's event loop (a stuck app) for that many seconds.
``/grow?mb=50``: keeps that many MiB allocated in the worker, then answers.
The lifespan is supported, and logs one line per worker at startup.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qs

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_HOARD: list[bytes] = []


def _number(scope: Scope, name: str, default: float) -> float:
    values = parse_qs(scope.get("query_string", b"").decode()).get(name)
    return float(values[0]) if values else default


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            print(f"sup_app lifespan startup in {os.getpid()}", file=sys.stderr, flush=True)
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
        return
    path = scope["path"]
    if path == "/sleep":
        print(f"sup_app sleeping in {os.getpid()}", file=sys.stderr, flush=True)
        await asyncio.sleep(_number(scope, "s", 1.0))
    elif path == "/block":
        time.sleep(_number(scope, "s", 5.0))
    elif path == "/grow":
        _HOARD.append(b"x" * int(_number(scope, "mb", 50) * 1024 * 1024))
    body = str(os.getpid()).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/plain"), (b"content-length", b"%d" % len(body))],
        }
    )
    await send({"type": "http.response.body", "body": body})
