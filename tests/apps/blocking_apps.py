"""Apps that block the event loop (time.sleep in async def), for the blocking detector's tests.

Every blocking call carries a ``# BLOCKS`` marker so the tests can find its line number.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

BLOCK_SECONDS = 0.5


async def _respond(send: Any, body: bytes) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


async def plain(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A bare ASGI app: /block sleeps on the loop, /wait awaits instead, / answers at once."""
    if scope["type"] != "http":
        return
    if scope["path"] == "/block":
        time.sleep(BLOCK_SECONDS)  # BLOCKS plain
    elif scope["path"] == "/wait":
        await asyncio.sleep(BLOCK_SECONDS)
    await _respond(send, b"done")


fastapi_app = FastAPI()


@fastapi_app.get("/block")
async def fastapi_block() -> dict[str, str]:
    time.sleep(BLOCK_SECONDS)  # BLOCKS fastapi
    return {"slept": "yes"}


async def starlette_block(request: Request) -> PlainTextResponse:
    time.sleep(BLOCK_SECONDS)  # BLOCKS starlette
    return PlainTextResponse("slept")


starlette_app = Starlette(routes=[Route("/block", starlette_block)])


def wsgi_slow(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """A WSGI app: blocking here is fine (a pool thread), but /slow is a slow request."""
    if environ["PATH_INFO"] == "/slow":
        time.sleep(BLOCK_SECONDS)  # BLOCKS wsgi
    start_response("200 OK", [("content-type", "text/plain")])
    return [b"done"]
