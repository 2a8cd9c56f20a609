"""A Starlette app: routing, path and query params, JSON, streaming and lifespan state."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, StreamingResponse
from starlette.routing import Route


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[dict[str, str]]:
    yield {"greeting": "hello"}


async def home(request: Request) -> PlainTextResponse:
    return PlainTextResponse(request.state.greeting)


async def user(request: Request) -> JSONResponse:
    return JSONResponse(
        {"user": request.path_params["name"], "page": request.query_params.get("page")}
    )


async def upload(request: Request) -> JSONResponse:
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
    return JSONResponse({"received": size})


async def form(request: Request) -> JSONResponse:
    data = await request.form()
    return JSONResponse({key: str(value) for key, value in data.items()})


async def download(request: Request) -> StreamingResponse:
    async def blocks() -> AsyncIterator[bytes]:
        for _ in range(16):
            yield b"d" * 65536

    return StreamingResponse(blocks())


app = Starlette(
    routes=[
        Route("/", home),
        Route("/users/{name}", user),
        Route("/upload", upload, methods=["POST"]),
        Route("/form", form, methods=["POST"]),
        Route("/download", download),
    ],
    lifespan=lifespan,
)
