"""One ASGI HTTP request: scope, ``receive`` and ``send``, checked against the spec's message order.

``send`` accepts exactly: one ``http.response.start``, then ``http.response.body`` messages until
one has ``more_body`` false; anything else (wrong type, wrong order, after completion, bad field
types) raises ``ASGIProtocolError`` inside the app. After the client disconnects, ``send`` raises
``ClientDisconnected`` (an ``OSError``) and ``receive`` returns ``http.disconnect``.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from typing import Any

from forno.asgi.scope import http_scope
from forno.errors import ASGIProtocolError, ClientDisconnected
from forno.http.channel import HTTPChannel, RequestHead
from forno.http.response import InvalidResponse
from forno.typing import ASGIApp, Message

logger = logging.getLogger("forno.error")

_START, _STREAMING, _COMPLETE = 0, 1, 2


class ASGIHTTPCycle:
    __slots__ = (
        "app",
        "body",
        "body_complete",
        "body_size",
        "buffer_limit",
        "channel",
        "disconnected",
        "eof",
        "head",
        "loop",
        "paused",
        "receive_waiter",
        "reported",
        "request_done",
        "response_state",
        "start_message",
        "state",
        "task",
    )

    def __init__(
        self,
        app: ASGIApp,
        head: RequestHead,
        channel: HTTPChannel,
        state: dict[str, Any] | None,
        buffer_limit: int,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self.app = app
        self.loop = loop
        self.head = head
        self.channel = channel
        self.state = state
        self.buffer_limit = buffer_limit
        self.body: deque[bytes] = deque()
        self.body_size = 0
        self.body_complete = not head.has_body
        self.disconnected = False
        self.eof = False
        self.paused = False
        self.receive_waiter: asyncio.Future[None] | None = None
        # The error ``send`` already logged (and answered with a 500) before raising it.
        self.reported: BaseException | None = None
        self.request_done = False
        self.response_state = _START
        self.start_message: Message | None = None
        self.task: asyncio.Task[None] | None = None

    # ---- driven by the connection --------------------------------------------------------------

    def run(self) -> None:
        self.task = self.loop.create_task(self.run_app())

    def on_body(self, data: bytes) -> None:
        if self.response_state == _COMPLETE:
            return
        self.body.append(data)
        self.body_size += len(data)
        if self.body_size > self.buffer_limit and not self.paused:
            self.paused = True
            self.channel.pause_reading()
        self.wake()

    def on_body_end(self) -> None:
        self.body_complete = True
        self.wake()

    def on_response_complete(self) -> None:
        self.response_state = _COMPLETE
        if self.paused:
            self.paused = False
            self.channel.resume_reading()
        self.wake()

    def on_eof(self) -> None:
        self.eof = True
        self.wake()

    def on_disconnect(self) -> None:
        self.disconnected = True
        self.wake()

    def cancel(self) -> None:
        if self.task is not None and not self.task.done():
            self.task.cancel()

    def wake(self) -> None:
        waiter = self.receive_waiter
        if waiter is not None:
            self.receive_waiter = None
            if not waiter.done():
                waiter.set_result(None)

    # ---- the app -------------------------------------------------------------------------------

    async def run_app(self) -> None:
        head = self.head
        scope = http_scope(head, self.state)
        try:
            await self.app(scope, self.receive, self.send)
        except asyncio.CancelledError:
            if self.response_state != _COMPLETE:
                logger.warning("request %s %s cancelled", head.method, scope["path"])
                self.channel.abort()
            raise
        except BaseException as exc:
            if isinstance(exc, ClientDisconnected) and self.disconnected:
                logger.debug("client went away during %s %s", head.method, scope["path"])
            elif exc is self.reported:
                pass  # logged once already, where it was raised
            else:
                logger.error(
                    "exception in ASGI app for %s %s", head.method, scope["path"], exc_info=exc
                )
                self.fail()
            if not isinstance(exc, Exception):
                raise
        else:
            if self.response_state != _COMPLETE and not self.disconnected:
                logger.error(
                    "ASGI app returned without completing the response for %s %s",
                    head.method,
                    scope["path"],
                )
                self.fail()
        finally:
            self.reported = None  # no cycle through its traceback
            self.channel.cycle_done(self)

    def fail(self) -> None:
        """500 when nothing was sent yet, otherwise close: the client must not see a torso."""
        if self.disconnected or self.response_state == _COMPLETE:
            return
        self.response_state = _COMPLETE
        if self.channel.response_started:
            self.channel.abort()
        else:
            self.channel.send_error(500, "Internal Server Error")

    async def receive(self) -> Message:
        while True:
            if self.body:
                if len(self.body) == 1:
                    data = self.body.popleft()
                else:
                    data = b"".join(self.body)
                    self.body.clear()
                self.body_size = 0
                self.request_done = self.body_complete
                if self.paused:
                    self.paused = False
                    self.channel.resume_reading()
                return {
                    "type": "http.request",
                    "body": data,
                    "more_body": not self.body_complete,
                }
            if self.disconnected:
                return {"type": "http.disconnect"}
            if self.body_complete:
                if not self.request_done:
                    # The final (possibly empty) http.request is sent once; then only disconnect.
                    self.request_done = True
                    return {"type": "http.request", "body": b"", "more_body": False}
                if self.eof or self.response_state == _COMPLETE:
                    return {"type": "http.disconnect"}
            else:
                self.channel.want_body()
            waiter = self.receive_waiter
            if waiter is None:
                waiter = self.receive_waiter = self.loop.create_future()
            await waiter

    async def send(self, message: Message) -> None:
        msg_type = message.get("type") if isinstance(message, dict) else None
        state = self.response_state
        if self.disconnected:
            raise ClientDisconnected("the client disconnected")
        if state == _START:
            if self.start_message is None:
                if msg_type != "http.response.start":
                    raise ASGIProtocolError(f"expected 'http.response.start', got {msg_type!r}")
                status = message.get("status")
                if type(status) is not int:
                    raise ASGIProtocolError(f"http.response.start status must be int: {status!r}")
                if message.get("trailers"):
                    raise ASGIProtocolError("response trailers are not supported")
                self.start_message = message
                return
            if msg_type != "http.response.body":
                raise ASGIProtocolError(f"expected 'http.response.body', got {msg_type!r}")
            body = message.get("body", b"")
            more = message.get("more_body", False)
            if type(body) is not bytes:
                if not isinstance(body, bytes | bytearray | memoryview):
                    raise ASGIProtocolError("http.response.body body must be bytes")
                body = bytes(body)
            start = self.start_message
            headers = start.get("headers", ())
            try:
                self.channel.start_response(start["status"], headers, body, bool(more))
            except InvalidResponse as exc:
                self.response_state = _COMPLETE
                logger.error("invalid response from ASGI app: %s", exc)
                self.channel.send_error(500, "Internal Server Error")
                self.reported = ASGIProtocolError(str(exc))
                raise self.reported from None
            except TypeError as exc:
                self.response_state = _COMPLETE
                logger.error("invalid response headers from ASGI app: %s", exc)
                self.channel.send_error(500, "Internal Server Error")
                self.reported = ASGIProtocolError(f"invalid headers: {exc}")
                raise self.reported from None
            if more:
                self.response_state = _STREAMING
                waiter = self.channel.drain()
                if waiter is not None:
                    await waiter
                    if self.disconnected:
                        raise ClientDisconnected("the client disconnected")
            return
        if state == _STREAMING:
            if msg_type != "http.response.body":
                raise ASGIProtocolError(f"expected 'http.response.body', got {msg_type!r}")
            body = message.get("body", b"")
            more = message.get("more_body", False)
            if type(body) is not bytes:
                if not isinstance(body, bytes | bytearray | memoryview):
                    raise ASGIProtocolError("http.response.body body must be bytes")
                body = bytes(body)
            if not more:
                self.response_state = _COMPLETE
            self.channel.write_body(body, bool(more))
            if more:
                waiter = self.channel.drain()
                if waiter is not None:
                    await waiter
                    if self.disconnected:
                        raise ClientDisconnected("the client disconnected")
            return
        raise ASGIProtocolError(f"{msg_type!r} sent after the response was complete")


def asgi_cycle_factory(
    app: ASGIApp,
    state: dict[str, Any] | None,
    buffer_limit: int,
    loop: asyncio.AbstractEventLoop,
) -> Callable[[RequestHead, HTTPChannel], ASGIHTTPCycle]:
    """The connection's hook for creating one ``ASGIHTTPCycle`` per request."""

    def factory(head: RequestHead, channel: HTTPChannel) -> ASGIHTTPCycle:
        return ASGIHTTPCycle(app, head, channel, state, buffer_limit, loop)

    return factory
