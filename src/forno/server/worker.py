"""Run one server on its own event loop in this process, with signal handling."""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import sys
from collections.abc import Callable

from forno.config import Config
from forno.loader import LoadedApp
from forno.server.server import Server

logger = logging.getLogger("forno.error")

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop where it is installed (CPython on Unix), else asyncio's default loop."""
    try:
        import uvloop  # noqa: PLC0415
    except ImportError:
        return asyncio.new_event_loop()
    loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
    return loop


def use_eager_tasks(loop: asyncio.AbstractEventLoop) -> None:
    """Python 3.12+: start tasks eagerly, so a handler that never waits costs no loop turn."""
    factory = getattr(asyncio, "eager_task_factory", None)
    if factory is not None and sys.version_info >= (3, 12):
        loop.set_task_factory(factory)


def run_server(
    config: Config,
    loaded: LoadedApp,
    *,
    sockets: list[socket.socket] | None = None,
    on_ready: Callable[[], None] | None = None,
    on_request_done: Callable[[], None] | None = None,
    setup: Callable[[asyncio.AbstractEventLoop, Server], None] | None = None,
) -> None:
    """Serve until SIGINT/SIGTERM, then shut down gracefully. Raises on startup failure."""
    loop = new_event_loop()
    asyncio.set_event_loop(loop)
    use_eager_tasks(loop)
    server = Server(
        config, loaded, sockets=sockets, on_ready=on_ready, on_request_done=on_request_done
    )

    def request_stop(signum: int) -> None:
        if server.closed.is_set():
            logger.warning("second %s: shutting down now", signal.Signals(signum).name)
            for task in asyncio.all_tasks(loop):
                task.cancel()
            return
        logger.info("%s received: shutting down", signal.Signals(signum).name)
        server.shutdown()

    for signum in STOP_SIGNALS:
        loop.add_signal_handler(signum, request_stop, signum)
    if setup is not None:
        setup(loop, server)
    try:
        loop.run_until_complete(server.serve())
    finally:
        for signum in STOP_SIGNALS:
            loop.remove_signal_handler(signum)
        try:
            pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            asyncio.set_event_loop(None)
            loop.close()
