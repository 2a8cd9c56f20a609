"""Chat-style broadcast over WebSockets with FastAPI (``app``) and plain Starlette (``starlette_app``)."""

from __future__ import annotations

from fastapi import FastAPI, WebSocket, WebSocketDisconnect
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute


class Room:
    def __init__(self) -> None:
        self.members: set[WebSocket] = set()

    async def join(self, websocket: WebSocket) -> None:
        await websocket.accept()
        self.members.add(websocket)
        await websocket.send_json({"joined": len(self.members)})

    async def broadcast(self, message: dict[str, object]) -> None:
        for member in list(self.members):
            await member.send_json(message)

    async def serve(self, websocket: WebSocket, name: str) -> None:
        await self.join(websocket)
        try:
            while True:
                text = await websocket.receive_text()
                await self.broadcast({"from": name, "text": text})
        except WebSocketDisconnect as exc:
            self.members.discard(websocket)
            print(f"ws-event: chat {name} left {exc.code}", flush=True)
            await self.broadcast({"left": name})


app = FastAPI()
fastapi_room = Room()


@app.websocket("/chat/{name}")
async def chat(websocket: WebSocket, name: str) -> None:
    await fastapi_room.serve(websocket, name)


starlette_room = Room()


async def starlette_chat(websocket: WebSocket) -> None:
    await starlette_room.serve(websocket, websocket.path_params["name"])


starlette_app = Starlette(routes=[WebSocketRoute("/chat/{name}", starlette_chat)])
