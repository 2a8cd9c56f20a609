"""An H1Connection on a real event loop over an in-memory transport (no sockets)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from forno.config import Config, Interface
from forno.loader import LoadedApp
from forno.server.h1 import H1Connection
from forno.server.server import Server


class MemoryTransport:
    """Records what the connection writes; ``closed`` is set when it closes the transport."""

    def __init__(self) -> None:
        self.output = bytearray()
        self.closed = asyncio.Event()
        self.reading_paused = False
        #: Set on every write, close and pause/resume, for tests that wait for progress.
        self.changed = asyncio.Event()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 50000), "sockname": ("127.0.0.1", 8000)}.get(
            name, default
        )

    def set_write_buffer_limits(self, high: int, low: int) -> None:
        return None

    def get_write_buffer_size(self) -> int:
        return 0

    def write(self, data: bytes) -> None:
        self.output += data
        self.changed.set()

    def pause_reading(self) -> None:
        self.reading_paused = True
        self.changed.set()

    def resume_reading(self) -> None:
        self.reading_paused = False
        self.changed.set()

    def close(self) -> None:
        self.closed.set()
        self.changed.set()

    def abort(self) -> None:
        self.close()

    def is_closing(self) -> bool:
        return self.closed.is_set()


@asynccontextmanager
async def h1_connection(
    app: Any, interface: Interface = Interface.ASGI3, **settings: Any
) -> AsyncIterator[tuple[H1Connection, MemoryTransport]]:
    config = Config().replace(access_log=False, lifespan="off", **settings)
    server = Server(config, LoadedApp(app, interface, "test"), sockets=[])
    await server.startup()
    assert server.state is not None
    transport = MemoryTransport()
    connection = H1Connection(server.state)
    connection.connection_made(transport)  # type: ignore[arg-type]
    try:
        yield connection, transport
    finally:
        connection.connection_lost(None)
        await server.shutdown_gracefully()
