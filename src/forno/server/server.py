"""One worker's server: listeners, connections, the ticker, lifespan and graceful shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from typing import Any

from forno.asgi.http import asgi_cycle_factory
from forno.asgi.lifespan import Lifespan
from forno.config import Config, Interface
from forno.http.channel import CycleFactory
from forno.http.proxy import TrustedProxies
from forno.loader import LoadedApp
from forno.server.blocking import LoopWatchdog
from forno.server.h1 import H1Connection
from forno.server.listeners import describe_socket, open_listeners
from forno.server.state import Limits, ServerState
from forno.server.tls import create_ssl_context

logger = logging.getLogger("forno.error")

TICK_SECONDS = 0.25


class Server:
    """Serves one loaded app on the configured (or given) sockets until asked to stop."""

    def __init__(
        self,
        config: Config,
        loaded: LoadedApp,
        *,
        sockets: list[socket.socket] | None = None,
        on_ready: Callable[[], None] | None = None,
        on_request_done: Callable[[], None] | None = None,
    ) -> None:
        self.config = config
        self.loaded = loaded
        self.sockets = sockets
        self.on_ready = on_ready
        self.on_request_done = on_request_done
        self.state: ServerState | None = None
        self.lifespan: Lifespan | None = None
        self.servers: list[asyncio.base_events.Server] = []
        self.closed = asyncio.Event()
        self.started = asyncio.Event()
        self.shutdown_cleanups: list[Callable[[float], Awaitable[None]]] = []
        self._ticker: asyncio.TimerHandle | None = None
        self.watchdog: LoopWatchdog | None = None
        self.wsgi_threads: dict[int, float] | None = None
        self.unix_paths: list[str] = []

    # ---- app adapters ---------------------------------------------------------------------

    def make_cycle_factory(self, loop: asyncio.AbstractEventLoop) -> CycleFactory:
        config = self.config
        if self.loaded.interface is Interface.WSGI:
            try:
                from forno.wsgi.pool import ThreadPool  # noqa: PLC0415
                from forno.wsgi.runner import wsgi_cycle_factory  # noqa: PLC0415
            except ImportError:
                raise RuntimeError("WSGI apps are not supported by this build of forno") from None
            pool = ThreadPool(
                config.wsgi.threads, track_busy=config.wsgi.wsgi_slow_request_threshold > 0
            )
            self.wsgi_threads = pool.busy_since
            factory, cleanup = wsgi_cycle_factory(self.loaded.app, config, loop, pool)
            self.shutdown_cleanups.append(cleanup)
            return factory
        state = (
            self.lifespan.state if self.lifespan is not None and self.lifespan.supported else None
        )
        return asgi_cycle_factory(self.loaded.asgi, state, config.http.body_buffer_size, loop)

    # ---- running ------------------------------------------------------------------------------

    async def serve(self, shutdown_trigger: Awaitable[Any] | None = None) -> None:
        """Start, serve until ``shutdown_trigger`` completes (or ``shutdown()``), then drain."""
        await self.startup()
        stop = asyncio.ensure_future(shutdown_trigger) if shutdown_trigger is not None else None
        waiter = asyncio.ensure_future(self.closed.wait())
        try:
            pending = {waiter} if stop is None else {waiter, stop}
            await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (stop, waiter):
                if task is not None and not task.done():
                    task.cancel()
            await self.shutdown_gracefully()

    async def startup(self) -> None:
        loop = asyncio.get_running_loop()
        config = self.config
        if self.loaded.interface is not Interface.WSGI:
            self.lifespan = Lifespan(self.loaded.asgi, config.app.lifespan)
            await self.lifespan.startup()
        state = ServerState(
            config=config,
            limits=Limits.from_config(config),
            cycle_factory=self.make_cycle_factory(loop),
            loop=loop,
            access_log=config.log.access_log,
            on_request_done=self.on_request_done,
        )
        state.server_line = b"server: forno\r\n" if config.http.server_header else None
        if config.http.proxy_headers:
            state.trusted_proxies = TrustedProxies(config.http.forwarded_allow_ips)
        self.state = state
        self.install_upgrades(state)
        state.tick()
        ssl_context = create_ssl_context(config.tls)
        scheme = "https" if ssl_context is not None else "http"
        created = self.sockets is None
        sockets = self.sockets if self.sockets is not None else open_listeners(config)
        self.sockets = sockets
        if created and not config.bind.fd:
            self.unix_paths = [
                sock.getsockname()
                for sock in sockets
                if sock.family == socket.AF_UNIX and isinstance(sock.getsockname(), str)
            ]

        def protocol_factory() -> H1Connection:
            return H1Connection(state, scheme)

        for sock in sockets:
            if sock.family in (socket.AF_INET, socket.AF_INET6):
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            server = await loop.create_server(
                protocol_factory,
                sock=sock,
                ssl=ssl_context,
                backlog=config.bind.backlog,
                ssl_handshake_timeout=config.http.header_timeout if ssl_context else None,
            )
            self.servers.append(server)
        self._ticker = loop.call_later(TICK_SECONDS, self.tick)
        for sock in sockets:
            logger.info(
                "forno ready: listening on %s (%s, pid %d)",
                describe_socket(sock, scheme),
                self.loaded.interface.value,
                os.getpid(),
            )
        # Everything loaded so far (forno, the app, its framework) lives as long as the process:
        # moving it out of the collector's sight keeps full collections, which the churn of
        # in-flight requests triggers regularly, from walking it each time (~10 ms -> well
        # under 1 ms for a small app; more for Django-sized ones).
        gc.collect()
        gc.freeze()
        slow = config.wsgi.wsgi_slow_request_threshold if self.wsgi_threads is not None else 0.0
        if config.log.blocking_threshold > 0 or slow > 0:
            self.watchdog = LoopWatchdog(
                loop,
                config.log.blocking_threshold,
                in_flight=lambda: state.in_flight,
                slow_threads=self.wsgi_threads,
                slow_threshold=slow,
            )
            self.watchdog.start()
        self.started.set()
        if self.on_ready is not None:
            self.on_ready()

    def install_upgrades(self, state: ServerState) -> None:
        if self.loaded.interface is Interface.WSGI or not self.config.websocket.ws:
            return
        try:
            from forno.server.websocket import websocket_upgrade_handler  # noqa: PLC0415
        except ImportError:
            return
        lifespan = self.lifespan
        lifespan_state = lifespan.state if lifespan is not None and lifespan.supported else None
        state.upgrade_handler = websocket_upgrade_handler(state, self.loaded.asgi, lifespan_state)

    def tick(self) -> None:
        state = self.state
        if state is None:
            return
        state.tick()
        self._ticker = state.loop.call_later(TICK_SECONDS, self.tick)

    def shutdown(self) -> None:
        """Ask ``serve`` to stop (thread-unsafe; call from the loop)."""
        self.closed.set()

    async def shutdown_gracefully(self) -> None:
        try:
            await self._shutdown_gracefully()
        finally:
            if self.watchdog is not None:
                self.watchdog.stop()
                self.watchdog = None

    async def _shutdown_gracefully(self) -> None:
        state = self.state
        timeout = self.config.http.graceful_timeout
        if state is not None:
            state.shutting_down = True
            for server in self.servers:
                server.close()
            for connection in list(state.connections):
                connection.shutdown()
            loop = state.loop
            deadline = loop.time() + timeout
            state.check_drained()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(state.drained.wait(), timeout)
            if state.connections or state.in_flight > 0:
                logger.warning(
                    "graceful timeout (%.0fs): closing %d connection(s), cancelling %d request(s)",
                    timeout,
                    len(state.connections),
                    state.in_flight,
                )
                for connection in list(state.connections):
                    connection.force_close()
                for cycle in list(state.active_cycles):
                    cycle.cancel()
            for _ in range(3):
                await asyncio.sleep(0)
            for cleanup in self.shutdown_cleanups:
                await cleanup(max(0.0, deadline - loop.time()))
            if self._ticker is not None:
                self._ticker.cancel()
        for server in self.servers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 1.0)
        if self.lifespan is not None:
            await self.lifespan.shutdown()
        self.remove_unix_sockets()

    def remove_unix_sockets(self) -> None:
        """Unix socket files this server created are removed when it stops."""
        for path in self.unix_paths:
            with contextlib.suppress(OSError):
                os.unlink(path)
