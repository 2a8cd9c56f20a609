"""The server's hook for WSGI apps: a cycle factory sharing one thread pool, and its cleanup."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from forno.config import Config
from forno.http.channel import HTTPChannel, RequestHead
from forno.typing import WSGIApp
from forno.wsgi.cycle import WSGICycle
from forno.wsgi.pool import ThreadPool

logger = logging.getLogger("forno.error")


@dataclass(slots=True)
class WSGIRuntime:
    """What every WSGI cycle of one worker shares."""

    app: WSGIApp
    loop: asyncio.AbstractEventLoop
    pool: ThreadPool
    body_limit: int
    write_limit: int
    multiprocess: bool


def wsgi_cycle_factory(
    app: WSGIApp,
    config: Config,
    loop: asyncio.AbstractEventLoop,
    pool: ThreadPool,
) -> tuple[Callable[[RequestHead, HTTPChannel], WSGICycle], Callable[[float], Awaitable[None]]]:
    """A factory of one ``WSGICycle`` per request on ``pool``, and ``cleanup(timeout)``.

    The server owns the pool (its watchdog may read the pool's busy threads).
    """
    runtime = WSGIRuntime(
        app=app,
        loop=loop,
        pool=pool,
        body_limit=config.http.body_buffer_size,
        write_limit=config.http.write_buffer_size,
        multiprocess=config.workers.workers > 1,
    )

    def factory(head: RequestHead, channel: HTTPChannel) -> WSGICycle:
        return WSGICycle(runtime, head, channel)

    async def cleanup(grace: float) -> None:
        """Wait (at most ``grace`` seconds) for running WSGI requests, then stop the threads."""
        stopped = await loop.run_in_executor(None, runtime.pool.shutdown, grace)
        if not stopped:
            logger.warning(
                "WSGI threads still busy after the graceful timeout; leaving them behind"
            )

    return factory, cleanup
