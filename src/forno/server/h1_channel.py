"""The response side of an HTTP/1.1 connection: the ``HTTPChannel`` request cycles write to.

``H1Channel`` is a base class of ``H1Connection`` (server/h1.py), split out so that each file
holds one half of the state machine: h1.py reads and parses requests, this file runs them in
order and frames their responses (Content-Length or chunked, HEAD and bodiless statuses,
length checks, write backpressure, keep-alive after the last byte).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from forno.errors import ProtocolError
from forno.http.channel import RequestCycle, RequestHead
from forno.http.request import FramingHeaders
from forno.http.response import CHUNKED_END, build_head, error_response
from forno.server.access import log_access, user_agent_of
from forno.server.sendfile import start_sendfile
from forno.typing import Headers

if TYPE_CHECKING:
    import httptools

    from forno.server.state import Limits, ServerState

logger = logging.getLogger("forno.error")

CONTINUE_100 = b"HTTP/1.1 100 Continue\r\n\r\n"

_IDLE, _HEAD, _BODY = 0, 1, 2
_NO_HEADERS: Headers = []  # never appended to: on_message_begin gives each request a new list

# Bodies up to this size are joined to the head (one small copy, one write); larger ones go out
# with writelines so the body is never copied.
_COPY_LIMIT = 16384


class PendingRequest:
    """A request parsed (or being parsed) whose cycle has not finished yet."""

    __slots__ = ("body_done", "cycle", "head", "start_time", "started")

    def __init__(self, head: RequestHead, cycle: RequestCycle, start_time: float) -> None:
        self.head = head
        self.cycle = cycle
        self.started = False
        self.start_time = start_time
        self.body_done = False


class H1Channel:
    """Runs queued requests in order and writes their responses (see the module docstring)."""

    __slots__ = (
        "client",
        "closed",
        "continue_sent",
        "deadline",
        "drain_waiter",
        "eof",
        "framing",
        "headers",
        "in_feed",
        "limits",
        "parse_state",
        "parser",
        "queue",
        "reading_paused",
        "reject_after_queue",
        "response_body_allowed",
        "response_bytes",
        "response_chunked",
        "response_complete_flag",
        "response_keep_alive",
        "response_remaining",
        "response_started_flag",
        "response_status",
        "state",
        "stop_reading_input",
        "transport",
        "url",
        "write_paused",
    )

    # State shared with the reading side.
    state: ServerState
    limits: Limits
    transport: asyncio.Transport | None
    client: tuple[str, int] | None
    closed: bool
    queue: list[PendingRequest]
    reject_after_queue: ProtocolError | None
    stop_reading_input: bool
    eof: bool
    in_feed: bool
    deadline: float
    parse_state: int
    parser: httptools.HttpRequestParser | None
    headers: Headers
    url: bytes
    framing: FramingHeaders | None
    response_started_flag: bool
    response_complete_flag: bool
    response_chunked: bool
    response_body_allowed: bool
    response_remaining: int | None
    response_keep_alive: bool
    response_status: int
    response_bytes: int
    continue_sent: bool
    reading_paused: bool
    write_paused: bool
    drain_waiter: asyncio.Future[None] | None

    def close(self) -> None:
        raise NotImplementedError

    def send_final_error(self, error: ProtocolError) -> None:
        raise NotImplementedError

    def start_next(self) -> None:
        """Run the oldest queued request's app, if it has not started yet."""
        while self.queue:
            pending = self.queue[0]
            if pending.started:
                return
            self.response_started_flag = False
            self.response_complete_flag = False
            self.response_bytes = 0
            self.continue_sent = False
            state = self.state
            if state.in_flight >= self.limits.max_in_flight:
                logger.warning(
                    "in-flight limit reached (%d): answering 503", self.limits.max_in_flight
                )
                pending.started = True
                pending.head.keep_alive = False
                self.send_error(503, "Service Unavailable: server busy")
                return
            pending.started = True
            state.in_flight += 1
            state.active_cycles.add(pending.cycle)
            pending.cycle.run()
            return
        if self.reject_after_queue is not None:
            error, self.reject_after_queue = self.reject_after_queue, None
            self.send_final_error(error)

    @property
    def response_started(self) -> bool:
        return self.response_started_flag

    @property
    def response_complete(self) -> bool:
        return self.response_complete_flag

    def start_response(
        self,
        status: int,
        headers: Headers,
        body: bytes,
        more: bool,
        *,
        strict_hop_by_hop: bool = False,
    ) -> None:
        pending = self.queue[0]
        head = pending.head
        state = self.state
        response = build_head(
            status,
            headers,
            http11=head.http_version == "1.1",
            keep_alive=head.keep_alive and not state.shutting_down,
            head_request=head.method == "HEAD",
            known_length=None if more else len(body),
            date_line=state.date_line,
            server_line=state.server_line,
            strict_hop_by_hop=strict_hop_by_hop,
        )
        self.response_started_flag = True
        self.response_status = status
        self.response_chunked = response.chunked
        self.response_body_allowed = response.body_allowed
        self.response_remaining = response.content_length if response.body_allowed else None
        self.response_keep_alive = response.keep_alive
        transport = self.transport
        if transport is None:
            return
        if not response.body_allowed:
            transport.write(response.data)
            if not more:
                self.finish_response()
            return
        if body or not more:
            self.write_body_to(transport, response.data, body, more)
        else:
            transport.write(response.data)

    def write_body(self, data: bytes, more: bool) -> None:
        transport = self.transport
        if transport is None or self.response_complete_flag:
            return
        if transport.is_closing():
            # A failed transport drops writes and only schedules connection_lost: tell the app
            # now, or a sender that never has to wait would spin without ever yielding.
            if self.queue:
                self.queue[0].cycle.on_disconnect()
            return
        if not self.response_body_allowed:
            if not more:
                self.finish_response()
            return
        self.write_body_to(transport, b"", data, more)

    def write_body_to(
        self, transport: asyncio.Transport, prefix: bytes, data: bytes, more: bool
    ) -> None:
        """Write ``prefix`` (a head, or nothing) and a body piece in one call, framed."""
        remaining = self.response_remaining
        size = len(data)
        if remaining is not None:
            if size > remaining:
                logger.error(
                    "app sent more body than its content-length (%d bytes over); closing",
                    size - remaining,
                )
                data = data[:remaining]
                size = remaining
                more = False
                self.response_keep_alive = False
            self.response_remaining = remaining = remaining - size
            if size <= _COPY_LIMIT:
                transport.write(prefix + data if prefix else data)
            else:
                transport.writelines((prefix, data))
            self.response_bytes += size
            if not more:
                if remaining:
                    logger.error(
                        "app ended the body %d bytes short of its content-length; closing",
                        remaining,
                    )
                    self.abort()
                    return
                self.finish_response()
            return
        if self.response_chunked:
            if size <= _COPY_LIMIT:
                framed = b"%x\r\n%s\r\n" % (size, data) if size else b""
                if not more:
                    framed += CHUNKED_END
                if prefix or framed:
                    transport.write(prefix + framed)
            else:
                tail = b"\r\n" + CHUNKED_END if not more else b"\r\n"
                transport.writelines((prefix, b"%x\r\n" % size, data, tail))
        elif size <= _COPY_LIMIT:
            if prefix or data:
                transport.write(prefix + data)
        else:
            transport.writelines((prefix, data))
        self.response_bytes += size
        if not more:
            self.finish_response()

    def finish_response(self) -> None:
        self.response_complete_flag = True
        pending = self.queue.pop(0)
        state = self.state
        if state.access_log:
            head = pending.head
            log_access(
                self.client,
                head.method,
                head.raw_path + (b"?" + head.query if head.query else b""),
                head.http_version,
                self.response_status,
                self.response_bytes,
                state.loop.time() - pending.start_time,
                user_agent_of(head.headers),
            )
        pending.cycle.on_response_complete()
        if state.on_request_done is not None:
            state.on_request_done()
        if not self.response_keep_alive or not pending.head.keep_alive or not pending.body_done:
            # (A body still arriving for an answered request is not worth reading: close.)
            self.close()
            return
        if self.queue:
            self.start_next()
        else:
            if self.reject_after_queue is not None:
                self.start_next()
                return
            if self.eof:
                self.close()
                return
            self.deadline = state.now + self.limits.keep_alive_timeout
            if self.parse_state == _IDLE and not self.in_feed:
                # Idle until the next request: hold nothing the next one cannot rebuild. The
                # parser (about 1 KiB) is recreated by the next byte, for about 0.2 µs.
                self.headers = _NO_HEADERS
                self.url = b""
                self.parser = None
                self.framing = None

    def drain(self) -> asyncio.Future[None] | None:
        if not self.write_paused or self.transport is None:
            return None
        waiter = self.drain_waiter
        if waiter is None:
            waiter = self.drain_waiter = self.state.loop.create_future()
        return waiter

    def send_file(self, file: Any, offset: int, count: int) -> asyncio.Task[int] | None:
        """``os.sendfile`` body bytes straight to the socket (not under TLS, not chunked)."""
        if (
            not self.response_started_flag
            or self.response_complete_flag
            or self.response_chunked
            or not self.response_body_allowed
        ):
            return None
        return start_sendfile(self, file, offset, count)

    def send_error(self, status: int, message: str) -> None:
        pending = self.queue[0] if self.queue else None
        if self.response_started_flag or pending is None:
            self.abort()
            return
        self.response_started_flag = True
        self.response_status = status
        self.response_keep_alive = False
        if self.transport is not None:
            self.transport.write(error_response(status, message, date_line=self.state.date_line))
        self.finish_response()

    def abort(self) -> None:
        if self.queue and not self.response_complete_flag:
            self.response_complete_flag = True
            pending = self.queue.pop(0)
            pending.cycle.on_disconnect()
        self.response_keep_alive = False
        if self.transport is not None:
            self.transport.abort()

    def want_body(self) -> None:
        pending = self.queue[0] if self.queue else None
        if (
            pending is not None
            and pending.head.expect_continue
            and not self.continue_sent
            and not self.response_started_flag
            and self.transport is not None
        ):
            self.continue_sent = True
            self.transport.write(CONTINUE_100)

    def pause_reading(self) -> None:
        if not self.reading_paused and self.transport is not None:
            self.transport.pause_reading()
        self.reading_paused = True

    def resume_reading(self) -> None:
        if self.reading_paused:
            self.reading_paused = False
            if self.transport is not None and not self.stop_reading_input:
                self.transport.resume_reading()

    def cycle_done(self, cycle: RequestCycle) -> None:
        state = self.state
        state.in_flight -= 1
        state.active_cycles.discard(cycle)
        if state.shutting_down:
            state.check_drained()
