"""Apps with particular lifespan behaviour."""

from __future__ import annotations

from forno.typing import Receive, Scope, Send


async def failing_startup(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        await receive()
        await send({"type": "lifespan.startup.failed", "message": "database unreachable"})
        return
    raise AssertionError("must not serve")


async def raising_startup(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        await receive()
        raise RuntimeError("startup exploded")
    raise AssertionError("must not serve")


async def no_lifespan(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        raise ValueError(f"unsupported scope {scope['type']}")
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


class ASGI2App:
    """An ASGI 2 app: instantiated with the scope, then called with receive and send."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    async def __call__(self, receive: Receive, send: Send) -> None:
        if self.scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"asgi2"})


def factory() -> object:
    return no_lifespan


broken_import_attr = None
