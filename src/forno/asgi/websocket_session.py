"""Runs an ASGI app for one WebSocket connection: ``receive``/``send`` over ``WebSocketMachine``.

The connection (server layer) owns the socket and the frame codec; it reaches the session through
``on_message``/``on_disconnect`` and the session answers through a ``WebSocketChannel``. Reading
pauses while ``max_queue`` received messages wait for the app; ``send`` waits while the client's
buffer is full.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Protocol

from forno.asgi.websocket import (
    Accept,
    Action,
    Close,
    Reject,
    ResponseBody,
    ResponseStart,
    SendData,
    WebSocketMachine,
)
from forno.errors import ASGIProtocolError, ClientDisconnected
from forno.http.response import InvalidResponse
from forno.typing import ASGIApp, Headers, Message, Scope

logger = logging.getLogger("forno.error")


class WebSocketChannel(Protocol):
    """What a session may ask of its connection."""

    def accept(self, subprotocol: str | None, headers: Headers) -> None:
        """Answer the handshake with 101 (raise ``InvalidResponse`` for bad headers)."""

    def send_message(self, data: str | bytes) -> None:
        """Send one text or binary message."""

    def close(self, code: int, reason: str) -> None:
        """Start the closing handshake."""

    def reject(self, status: int) -> None:
        """Refuse the handshake with a plain HTTP error and close."""

    def respond(self, status: int, headers: Headers) -> None:
        """Start a denial response (raise ``InvalidResponse`` if it cannot be sent)."""

    def respond_body(self, body: bytes, more: bool) -> None:
        """Send denial response body; ``more=False`` ends it and closes."""

    def drain(self) -> Awaitable[None] | None:
        """An awaitable while the client's buffer is full, else None."""

    def pause_reading(self) -> None: ...

    def resume_reading(self) -> None: ...

    def session_done(self) -> None:
        """The app has returned."""


class WebSocketSession:
    __slots__ = ("app", "channel", "machine", "max_queue", "paused", "scope", "task", "waiter")

    def __init__(
        self,
        app: ASGIApp,
        scope: Scope,
        channel: WebSocketChannel,
        max_queue: int,
    ) -> None:
        self.app = app
        self.scope = scope
        self.channel = channel
        self.machine = WebSocketMachine(scope["subprotocols"])
        self.max_queue = max(1, max_queue)
        self.paused = False
        self.waiter: asyncio.Future[None] | None = None
        self.task: asyncio.Task[None] | None = None

    # ---- driven by the connection ---------------------------------------------------------------

    def run(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self.run_app())

    def on_message(self, data: str | bytes) -> None:
        machine = self.machine
        machine.push_message(data)
        if machine.queued >= self.max_queue and not self.paused:
            self.paused = True
            self.channel.pause_reading()
        self.wake()

    def on_disconnect(self, code: int, reason: str = "") -> None:
        if self.machine.push_disconnect(code, reason):
            self.wake()

    def cancel(self) -> None:
        if self.task is not None and not self.task.done():
            self.task.cancel()

    def wake(self) -> None:
        waiter = self.waiter
        if waiter is not None:
            self.waiter = None
            if not waiter.done():
                waiter.set_result(None)

    @property
    def accepted(self) -> bool:
        return self.machine.phase.value in ("open", "closed")

    # ---- the app --------------------------------------------------------------------------------

    async def run_app(self) -> None:
        scope = self.scope
        failed = False
        try:
            await self.app(scope, self.receive, self.send)
        except asyncio.CancelledError:
            failed = True
            raise
        except BaseException as exc:
            failed = True
            if isinstance(exc, ClientDisconnected):
                logger.debug("WebSocket client went away (%s)", scope["path"])
            else:
                logger.error("exception in ASGI app for WebSocket %s", scope["path"], exc_info=exc)
            if not isinstance(exc, Exception):
                raise
        finally:
            action = self.machine.app_returned(failed)
            if action is not None:
                self.perform(action)
            self.channel.session_done()

    async def receive(self) -> Message:
        machine = self.machine
        while True:
            message = machine.pop()
            if message is not None:
                if self.paused and machine.queued < self.max_queue:
                    self.paused = False
                    self.channel.resume_reading()
                return message
            waiter = self.waiter
            if waiter is None:
                waiter = self.waiter = asyncio.get_running_loop().create_future()
            await waiter

    async def send(self, message: Message) -> None:
        action = self.machine.app_message(message)
        try:
            self.perform(action)
        except InvalidResponse as exc:
            logger.error("invalid WebSocket handshake answer from ASGI app: %s", exc)
            self.machine.app_returned(True)
            self.channel.reject(500)
            raise ASGIProtocolError(str(exc)) from None
        if type(action) is SendData or type(action) is ResponseBody:
            waiter = self.channel.drain()
            if waiter is not None:
                await waiter
                if self.machine.peer_gone and type(action) is SendData:
                    raise ClientDisconnected("the WebSocket connection is closed")

    def perform(self, action: Action) -> None:
        channel = self.channel
        if type(action) is SendData:
            channel.send_message(action.data)
        elif type(action) is Accept:
            channel.accept(action.subprotocol, action.headers)
        elif type(action) is Close:
            channel.close(action.code, action.reason)
        elif type(action) is Reject:
            channel.reject(action.status)
        elif type(action) is ResponseStart:
            channel.respond(action.status, action.headers)
        elif type(action) is ResponseBody:
            channel.respond_body(action.body, action.more)
