"""The worker side: what a forked child runs, from loading the app to its exit code.

A worker loads the app itself (the supervisor never imports it), serves it with
``forno.server.worker.run_server`` on a fresh event loop, stamps its heartbeat from a timer on
that loop, and tells the supervisor when it is ready and when it has served its share of
requests. It exits with ``EXIT_APP_LOAD`` if the app cannot be imported and ``EXIT_BOOT`` if it
cannot start serving, so that the supervisor can tell a broken deploy from a crash.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from forno.config import Config
from forno.errors import (
    EXIT_APP_LOAD,
    EXIT_BOOT,
    EXIT_ERROR,
    EXIT_OK,
    AppLoadError,
    ConfigError,
    LifespanStartupError,
)
from forno.loader import load_app
from forno.server.worker import run_server
from forno.supervisor.channel import Notice, NoticeChannel
from forno.supervisor.heartbeat import Heartbeat, beat_interval
from forno.supervisor.signals import signals_blocked
from forno.supervisor.sockets import Listeners

if TYPE_CHECKING:
    from forno.server.server import Server

logger = logging.getLogger("forno.supervisor")


@dataclass
class WorkerContext:
    """Everything a worker gets from the supervisor at fork time."""

    config: Config
    listeners: Listeners
    heartbeat: Heartbeat
    channel: NoticeChannel
    supervisor_pid: int
    max_requests: int  # 0: never recycle; jitter already added


class RequestCounter:
    """Counts finished requests; asks once for a replacement when the limit is reached."""

    def __init__(self, context: WorkerContext) -> None:
        self.context = context
        self.count = 0
        self.asked = False

    def __call__(self) -> None:
        self.count += 1
        if self.asked or self.count < self.context.max_requests:
            return
        self.asked = True
        logger.info(
            "worker %d served %d requests (max-requests): asking for a replacement",
            os.getpid(),
            self.count,
        )
        self.context.channel.send(Notice.RECYCLE)


def install_worker_hooks(
    context: WorkerContext, loop: asyncio.AbstractEventLoop, server: Server
) -> None:
    """On the worker's loop: ignore SIGINT, stamp the heartbeat, watch for an orphaning."""
    loop.remove_signal_handler(signal.SIGINT)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    interval = beat_interval(context.config.workers.worker_timeout)

    def beat() -> None:
        context.heartbeat.beat()
        if os.getppid() != context.supervisor_pid and not server.closed.is_set():
            logger.warning("worker %d: the supervisor is gone, shutting down", os.getpid())
            server.shutdown()
        loop.call_later(interval, beat)

    beat()


def serve_in_worker(context: WorkerContext) -> int:
    """The body of a worker process; returns its exit code."""
    config = context.config
    pid = os.getpid()
    if config.workers.reload:
        # An edit within the same second as the last import could otherwise match a stale .pyc.
        sys.dont_write_bytecode = True
    context.heartbeat.beat()
    a = config.app
    try:
        loaded = load_app(a.app, factory=a.factory, app_dir=a.app_dir, interface=a.interface)
    except AppLoadError as exc:
        logger.error("worker %d: cannot load the app: %s", pid, exc, exc_info=config.log.traceback)
        return EXIT_APP_LOAD
    context.heartbeat.beat()
    try:
        sockets = context.listeners.for_worker(config)
    except ConfigError as exc:
        logger.error("worker %d: %s", pid, exc)
        return EXIT_BOOT
    counter = RequestCounter(context) if context.max_requests > 0 else None

    def on_ready() -> None:
        context.channel.send(Notice.READY)

    def setup(loop: asyncio.AbstractEventLoop, server: Server) -> None:
        install_worker_hooks(context, loop, server)

    try:
        run_server(
            config,
            loaded,
            sockets=sockets,
            on_ready=on_ready,
            on_request_done=counter,
            setup=setup,
        )
    except LifespanStartupError as exc:
        logger.error("worker %d: %s", pid, exc)
        return EXIT_BOOT
    except Exception:
        logger.exception("worker %d: unexpected error", pid)
        return EXIT_ERROR
    return EXIT_OK


def fork_worker(context: WorkerContext, prepare_child: Callable[[], None]) -> int:
    """Fork a worker; returns its PID. The child runs ``prepare_child``, then serves, then
    leaves with ``os._exit``: it never returns into the supervisor's code."""
    with signals_blocked():
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child never returns from here
            code = EXIT_ERROR
            try:
                prepare_child()
                code = serve_in_worker(context)
            except BaseException:
                logger.exception("worker %d: crashed", os.getpid())
            finally:
                logging.shutdown()
                with contextlib.suppress(Exception):
                    sys.stdout.flush()
                    sys.stderr.flush()
                os._exit(code)
    return pid
