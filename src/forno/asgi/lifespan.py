"""The ASGI lifespan protocol: startup before serving, shutdown after the last connection."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from forno.config import LifespanMode
from forno.errors import LifespanStartupError
from forno.typing import ASGIApp, Message

logger = logging.getLogger("forno.error")


class Lifespan:
    """Runs the app's lifespan task; ``state`` is copied into every request scope."""

    def __init__(self, app: ASGIApp, mode: LifespanMode, timeout: float = 60.0) -> None:
        self.app = app
        self.mode = mode
        self.timeout = timeout
        self.state: dict[str, Any] = {}
        self.supported = mode is not LifespanMode.OFF
        self.inbox: asyncio.Queue[Message] = asyncio.Queue(maxsize=2)
        self.startup_done = asyncio.Event()
        self.shutdown_done = asyncio.Event()
        self.startup_failed: str | None = None
        self.shutdown_failed: str | None = None
        self.task: asyncio.Task[None] | None = None
        self.app_error: BaseException | None = None

    async def startup(self) -> None:
        if not self.supported:
            return
        self.task = asyncio.get_running_loop().create_task(self.run())
        await self.inbox.put({"type": "lifespan.startup"})
        try:
            await asyncio.wait_for(self.startup_done.wait(), self.timeout)
        except TimeoutError:
            raise LifespanStartupError(
                f"lifespan startup did not complete within {self.timeout:.0f}s"
            ) from None
        if self.startup_failed is not None:
            raise LifespanStartupError(f"lifespan startup failed: {self.startup_failed}")
        if self.app_error is not None and self.mode is LifespanMode.ON:
            raise LifespanStartupError(f"lifespan startup failed: {self.app_error!r}")

    async def shutdown(self) -> None:
        if not self.supported or self.task is None:
            return
        if self.task.done():
            return
        await self.inbox.put({"type": "lifespan.shutdown"})
        try:
            await asyncio.wait_for(self.shutdown_done.wait(), self.timeout)
        except TimeoutError:
            logger.error("lifespan shutdown did not complete within %.0fs", self.timeout)
            self.task.cancel()
            return
        if self.shutdown_failed is not None:
            logger.error("lifespan shutdown failed: %s", self.shutdown_failed)

    async def run(self) -> None:
        scope = {
            "type": "lifespan",
            "asgi": {"version": "3.0", "spec_version": "2.4"},
            "state": self.state,
        }
        try:
            await self.app(scope, self.receive, self.send)
        except BaseException as exc:
            self.app_error = exc
            if self.startup_done.is_set() and not self.shutdown_done.is_set():
                logger.error("exception in the lifespan task", exc_info=exc)
            elif self.mode is LifespanMode.AUTO:
                logger.info("the app does not support the lifespan protocol (%r)", exc)
                self.supported = False
            else:
                logger.error("exception in lifespan startup", exc_info=exc)
            if not isinstance(exc, Exception):
                raise
        finally:
            self.startup_done.set()
            self.shutdown_done.set()

    async def receive(self) -> Message:
        return await self.inbox.get()

    async def send(self, message: Message) -> None:
        kind = message.get("type")
        if kind == "lifespan.startup.complete":
            self.startup_done.set()
        elif kind == "lifespan.startup.failed":
            self.startup_failed = str(message.get("message", "")) or "(no message)"
            self.startup_done.set()
        elif kind == "lifespan.shutdown.complete":
            self.shutdown_done.set()
        elif kind == "lifespan.shutdown.failed":
            self.shutdown_failed = str(message.get("message", "")) or "(no message)"
            self.shutdown_done.set()
        else:
            raise RuntimeError(f"unexpected lifespan message {kind!r}")
