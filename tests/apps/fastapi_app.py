"""A FastAPI app exercising routing, params, JSON, streaming, SSE, background tasks, lifespan."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import BackgroundTasks, FastAPI, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

background_done: list[str] = []


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
    yield {"db": "connected"}


app = FastAPI(lifespan=lifespan)


class Item(BaseModel):
    name: str
    price: float


@app.get("/items/{item_id}")
async def read_item(item_id: int, q: str | None = None) -> dict[str, Any]:
    return {"item_id": item_id, "q": q}


@app.post("/items")
async def create_item(item: Item) -> dict[str, Any]:
    return {"name": item.name, "price_with_tax": round(item.price * 1.2, 2)}


@app.get("/state")
async def state(request: Request) -> dict[str, Any]:
    return {"db": request.state.db}


@app.get("/stream")
async def stream() -> StreamingResponse:
    async def numbers() -> AsyncIterator[bytes]:
        for i in range(5):
            yield f"{i}\n".encode()
            await asyncio.sleep(0)

    return StreamingResponse(numbers(), media_type="text/plain")


@app.get("/sse")
async def sse() -> StreamingResponse:
    async def events() -> AsyncIterator[bytes]:
        for i in range(3):
            yield f"data: event {i}\n\n".encode()
            await asyncio.sleep(0.01)

    return StreamingResponse(events(), media_type="text/event-stream")


@app.post("/background")
async def background(tasks: BackgroundTasks) -> dict[str, str]:
    tasks.add_task(background_done.append, "done")
    return {"scheduled": "yes"}


@app.get("/background-result")
async def background_result() -> dict[str, list[str]]:
    return {"done": background_done}
