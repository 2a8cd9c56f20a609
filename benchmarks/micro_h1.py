"""Per-request CPU cost of forno's HTTP/1.1 + ASGI path, without sockets.

Drives one ``H1Connection`` with an in-memory transport: the figure is the Python work forno adds
per request (parsing callbacks, scope, the app's two sends, the response head), which is what the
hot-path optimisations change. Run: ``python benchmarks/micro_h1.py [requests]``.
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Any

from forno.config import Config, Interface
from forno.loader import LoadedApp
from forno.server.server import Server
from forno.server.worker import new_event_loop, use_eager_tasks

REQUEST = b"GET / HTTP/1.1\r\nHost: localhost:8000\r\nUser-Agent: wrk\r\nAccept: */*\r\n\r\n"


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/plain"), (b"content-length", b"13")],
        }
    )
    await send({"type": "http.response.body", "body": b"Hello, world!"})


class MemoryTransport:
    def __init__(self) -> None:
        self.written = 0
        self.protocol: Any = None

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 50000), "sockname": ("127.0.0.1", 8000)}.get(
            name, default
        )

    def set_write_buffer_limits(self, high: int, low: int) -> None:
        return None

    def write(self, data: bytes) -> None:
        self.written += 1

    def pause_reading(self) -> None:
        return None

    def resume_reading(self) -> None:
        return None

    def close(self) -> None:
        return None

    def is_closing(self) -> bool:
        return False


async def main(count: int) -> None:
    from forno.server.h1 import H1Connection  # noqa: PLC0415

    config = Config().replace(access_log=False, lifespan="off")
    server = Server(config, LoadedApp(app, Interface.ASGI3, "bench"), sockets=[])
    await server.startup()
    assert server.state is not None
    transport = MemoryTransport()
    connection = H1Connection(server.state)
    connection.connection_made(transport)  # type: ignore[arg-type]
    for _ in range(1000):
        connection.data_received(REQUEST)
        await asyncio.sleep(0)
    start = time.perf_counter()
    for _ in range(count):
        connection.data_received(REQUEST)
        await asyncio.sleep(0)
    elapsed = time.perf_counter() - start
    assert transport.written >= count, transport.written
    python = sys.version.split()[0]
    print(f"{elapsed / count * 1e6:.2f} µs per request ({count} requests, Python {python})")
    connection.connection_lost(None)
    await server.shutdown_gracefully()


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    loop = new_event_loop()
    use_eager_tasks(loop)
    loop.run_until_complete(main(n))
