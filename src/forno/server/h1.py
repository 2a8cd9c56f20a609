"""The HTTP/1.1 connection: one asyncio Protocol per client, parsed by httptools (llhttp).

Rules this state machine enforces:
- Requests are answered strictly in order. A pipelined request's app starts only when the
  previous response is complete; its head and body are parsed and buffered meanwhile (bounded:
  reading pauses when the buffered body exceeds ``body_buffer_size``).
- A request the parser or ``forno.http.request`` refuses gets its error response after every
  earlier response, then the connection closes; nothing after it reaches an app.
- Each connection has one deadline at a time: the head must be complete within
  ``header_timeout`` of its first byte (or of the connection opening), an idle keep-alive
  connection lives ``keep_alive_timeout``. The server's ticker checks deadlines; nothing per
  request schedules a timer.
- While the client's buffer is over ``write_buffer_size`` the app's ``send`` waits (``drain``).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, cast

import httptools

from forno.errors import ProtocolError
from forno.http.channel import RequestHead
from forno.http.proxy import forwarded
from forno.http.request import (
    FRAMING_HEADERS,
    HOST,
    PLAIN_REQUEST,
    TRANSFER_ENCODING,
    FramingHeaders,
    check_framing,
    is_method_token,
    is_valid_host,
    split_target,
)
from forno.http.response import error_response
from forno.http.status import reason_phrase
from forno.server.access import log_access
from forno.server.h1_channel import (
    _BODY,
    _HEAD,
    _IDLE,
    H1Channel,
    PendingRequest,
)
from forno.typing import Headers

if TYPE_CHECKING:
    from forno.server.state import ServerState

logger = logging.getLogger("forno.error")

# Bytes kept from the start of each request, to classify a method the parser refused.
_METHOD_PEEK = 32

_METHOD_NAMES = {
    m.encode(): m
    for m in ("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT")
}
# Bytes a chunked body may spend on framing (chunk-size lines, extensions, trailers) beyond its
# payload: llhttp skips chunk extensions without reporting them, so without this bound a client
# could stream extensions forever and never advance the body (nor reach max_body_size).
MAX_FRAMING_OVERHEAD = 64 * 1024
_SHUTDOWN_IDLE_GRACE = 1.0  # seconds an idle connection stays open during shutdown


class H1Connection(H1Channel, asyncio.Protocol):
    # No per-instance dict: an idle keep-alive connection should cost as little memory as it can.
    __slots__ = (
        "body_bytes_fed",
        "body_size",
        "head_bytes_seen",
        "head_mid_read",
        "host",
        "host_count",
        "max_body_size",
        "max_header_count",
        "max_header_size",
        "max_requests_per_connection",
        "method_probe",
        "parsing",
        "peek",
        "requests_served",
        "root_path",
        "scheme",
        "server",
        "trailer_bytes",
        "trailer_count",
        "trust_forwarded",
    )

    def __init__(self, state: ServerState, scheme: str = "http") -> None:
        self.state = state
        limits = self.limits = state.limits
        # Limits read on every request, copied to plain attributes.
        self.max_header_size = limits.max_header_size
        self.max_header_count = limits.max_header_count
        self.max_body_size = limits.max_body_size
        self.max_requests_per_connection = limits.max_requests_per_connection
        self.root_path = state.config.app.root_path
        self.scheme = scheme
        self.transport: asyncio.Transport | None = None
        # Created at the first byte and dropped again when the connection idles (about 1 KiB).
        self.parser: httptools.HttpRequestParser | None = None
        self.client: tuple[str, int] | None = None
        self.server: tuple[str, int | None] | None = None
        self.closed = False
        self.trust_forwarded = False
        # The request being parsed.
        self.parse_state = _IDLE
        self.url = b""
        self.headers: Headers = []
        self.framing = None
        self.host = b""
        self.host_count = 0
        self.head_bytes_seen = 0
        self.head_mid_read = False
        self.body_size = 0
        self.body_bytes_fed = 0
        self.trailer_bytes = 0
        self.trailer_count = 0
        self.peek = b""
        self.parsing: PendingRequest | None = None
        # Requests waiting for or getting their response, oldest first.
        self.queue: list[PendingRequest] = []
        self.reject_after_queue: ProtocolError | None = None
        self.stop_reading_input = False
        self.requests_served = 0
        self.deadline = 0.0
        self.eof = False
        self.in_feed = False
        self.method_probe = False
        # Response state of the active (oldest) request.
        self.response_started_flag = False
        self.response_complete_flag = False
        self.response_chunked = False
        self.response_body_allowed = True
        self.response_remaining: int | None = None
        self.response_keep_alive = True
        self.response_status = 0
        self.response_bytes = 0
        self.continue_sent = False
        # Flow control.
        self.reading_paused = False
        self.write_paused = False
        self.drain_waiter: asyncio.Future[None] | None = None

    # ---- asyncio.Protocol -------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport = cast(asyncio.Transport, transport)  # uvloop's are not subclasses
        self.transport = transport
        state = self.state
        state.connections.add(self)
        peer = transport.get_extra_info("peername")
        sock = transport.get_extra_info("sockname")
        if isinstance(peer, tuple):
            self.client = (str(peer[0]), int(peer[1]))
        if isinstance(sock, tuple):
            local: tuple[str, int | None] = (str(sock[0]), int(sock[1]))
        else:
            local = (sock if isinstance(sock, str) else "", None)
        # One shared tuple per listening address rather than one per connection.
        self.server = state.server_addresses.setdefault(local, local)
        proxies = state.trusted_proxies
        self.trust_forwarded = proxies is not None and (
            (self.client[0] if self.client else None) in proxies
        )
        high = self.limits.write_buffer_size
        transport.set_write_buffer_limits(high=high, low=high // 4)
        self.deadline = state.now + self.limits.header_timeout
        if len(state.connections) > self.limits.max_connections or state.shutting_down:
            logger.warning(
                "connection limit reached (%d): refusing a connection", self.limits.max_connections
            )
            transport.write(
                error_response(
                    503, "Service Unavailable: too many connections", date_line=state.date_line
                )
            )
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        state = self.state
        state.connections.discard(self)
        if state.shutting_down:
            state.check_drained()
        for pending in self.queue:
            pending.cycle.on_disconnect()
        self.queue.clear()
        self.parsing = None
        waiter = self.drain_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        self.transport = None

    def eof_received(self) -> bool | None:
        # The client will send nothing more. It may still read: a half-closed client gets the
        # answers to the requests it completed; the app sees the end through ``receive``.
        self.eof = True
        self.stop_reading_input = True
        if not self.queue:
            return None  # idle: close now
        if self.parsing is not None:
            # A request cut short can never complete.
            self.reject(ProtocolError("request incomplete at end of input", 0))
            return True
        for pending in self.queue:
            pending.cycle.on_eof()
        return True

    def pause_writing(self) -> None:
        self.write_paused = True

    def resume_writing(self) -> None:
        self.write_paused = False
        waiter = self.drain_waiter
        if waiter is not None:
            self.drain_waiter = None
            if not waiter.done():
                waiter.set_result(None)

    def data_received(self, data: bytes) -> None:
        if self.stop_reading_input:
            if self.method_probe:
                self.probe_method(data)
            return
        parse_state = self.parse_state
        if parse_state == _IDLE:
            self.deadline = self.state.now + self.limits.header_timeout
            self.parse_state = _HEAD
            self.peek = data  # the request's first bytes, kept to classify a refused method
            self.head_bytes_seen = len(data)
        elif parse_state == _HEAD:
            if len(self.peek) < _METHOD_PEEK:
                self.peek += data[:_METHOD_PEEK]
            self.head_bytes_seen += len(data)
        else:  # _BODY
            self.body_bytes_fed += len(data)
        parser = self.parser
        if parser is None:
            parser = self.parser = httptools.HttpRequestParser(self)
        try:
            # in_feed: llhttp is inside this read, so the parser must not be dropped under it.
            self.in_feed = True
            try:
                parser.feed_data(data)
            finally:
                self.in_feed = False
        except httptools.HttpParserUpgrade as exc:
            self.on_upgrade(data, int(exc.args[0]))
        except httptools.HttpParserCallbackError as exc:
            cause = exc.__context__
            if isinstance(cause, ProtocolError):
                self.reject(cause)
            else:  # pragma: no cover - a bug in forno itself
                logger.exception("internal error while parsing a request", exc_info=cause)
                self.reject(ProtocolError("internal error", 500))
        except httptools.HttpParserError as exc:
            if self.input_stopped() and not self.method_probe:
                # Input after a request that ends the connection is ignored, not answered.
                return
            if isinstance(exc, httptools.HttpParserInvalidMethodError):
                self.on_invalid_method()
                return
            # A version llhttp does not know (HTTP/1.2, HTTP/3.0) is well-formed but unsupported.
            status = 505 if str(exc) == "Invalid HTTP version" else 400
            self.reject(ProtocolError(f"malformed request: {exc}", status))
        else:
            # httptools holds a header value until it is complete: a head that is still
            # incomplete after more bytes than the limit allows is refused here, so the held
            # bytes stay bounded by one read.
            after = self.parse_state
            if after == _HEAD:
                if self.head_bytes_seen == 0:
                    self.count_head_begun_mid_read()
                if self.head_bytes_seen > self.limits.max_header_size:
                    self.reject(ProtocolError("request head too large", 431))
            elif after == _BODY:
                self.check_framing_overhead()

    def count_head_begun_mid_read(self) -> None:
        """A pipelined head began inside this read and is still incomplete.

        Its share of the read is not known (httptools gives no offsets): what it delivered so
        far counts now (what httptools still holds is at most the rest of this read), later
        reads add to it, and the complete head is measured exactly in ``check_head_size``.
        """
        self.head_mid_read = True
        self.head_bytes_seen = 1 + self.measure_head()

    def measure_head(self) -> int:
        return len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers)

    def check_framing_overhead(self) -> None:
        """Refuse a body whose reads carry far more framing than payload.

        Counted from the first read that starts inside the body (the read holding the head
        counts as pure payload, so the slack is one read): the bytes fed minus the payload
        delivered may exceed the payload by at most ``MAX_FRAMING_OVERHEAD``.
        """
        fed = self.body_bytes_fed
        if fed < 0:  # the head completed during this read
            self.body_bytes_fed = self.body_size
        elif fed - self.body_size > MAX_FRAMING_OVERHEAD + self.body_size:
            self.reject(ProtocolError("chunked body framing too large", 400))

    def input_stopped(self) -> bool:
        """Whether reading was stopped (callbacks may have changed it during a feed)."""
        return self.stop_reading_input

    # ---- parser callbacks -------------------------------------------------------------------

    def on_message_begin(self) -> None:
        self.parse_state = _HEAD
        self.url = b""
        self.headers = []
        self.framing = None
        self.host_count = 0
        self.body_size = 0

    def on_url(self, url: bytes) -> None:
        url = self.url = self.url + url
        if len(url) > self.max_header_size:
            raise ProtocolError("request target too long", 414)

    def on_header(self, name: bytes, value: bytes) -> None:
        # Size and count are checked once the head is complete (and after every read while it
        # is not), which keeps this per-field callback to the work that must be done per field.
        if self.parse_state == _BODY:
            # llhttp reports a chunked body's trailer fields through this callback too.
            self.on_trailer(name, value)
            return
        name = name.lower()
        stripped = value.strip(b" \t")
        self.headers.append((name, stripped))
        if name in FRAMING_HEADERS:
            if name == HOST:
                self.host_count += 1
                self.host = stripped
                return
            if name == TRANSFER_ENCODING and b"\t" in value:
                # llhttp does not take "chunked<TAB>" as chunked; were forno to read it as
                # chunked the two would disagree on the framing, so it is refused outright.
                raise ProtocolError("tab in Transfer-Encoding")
            framing = self.framing
            if framing is None:
                framing = self.framing = FramingHeaders()
            framing.add(name, stripped)

    def on_trailer(self, name: bytes, value: bytes) -> None:
        """Count a trailer field against the head limits and drop it.

        Trailers arrive after every check on the head ran, so they never become request
        headers (a trailing Host or Content-Length must not rewrite the request); they are
        bounded by ``max_header_size`` and ``max_header_count`` like a head.
        """
        self.trailer_count += 1
        self.trailer_bytes += len(name) + len(value) + 4
        if self.trailer_count > self.max_header_count:
            raise ProtocolError("too many trailer fields", 431)
        if self.trailer_bytes > self.max_header_size:
            raise ProtocolError("trailer section too large", 431)

    def check_head_size(self) -> None:
        if len(self.headers) > self.max_header_count:
            raise ProtocolError("too many request headers", 431)
        seen = self.head_bytes_seen
        # Bytes read for this head bound its size from above; only when they do not rule out
        # an oversized head (or the head began inside a read, behind a pipelined request, so
        # its bytes there were not counted) is it measured.
        if seen == 0 or seen > self.max_header_size or self.head_mid_read:
            self.head_mid_read = False
            if self.measure_head() > self.max_header_size:
                raise ProtocolError("request headers too large", 431)

    def on_headers_complete(self) -> None:
        if self.closed:
            return  # an app answered eagerly and closed the connection during this feed
        parser = self.parser
        assert parser is not None
        self.check_head_size()
        method_bytes = parser.get_method()
        http_version = parser.get_http_version()
        fields = self.framing
        if (
            fields is None
            and self.host_count == 1
            and http_version == "1.1"
            and is_valid_host(self.host)
        ):
            framing = PLAIN_REQUEST
        else:
            if fields is None:
                fields = FramingHeaders()
            fields.hosts = [self.host] * self.host_count
            framing = check_framing(http_version, fields)
        url = self.url
        if url[:1] == b"/" and b"#" not in url:
            raw_path, _, query = url.partition(b"?")
        else:
            target = split_target(method_bytes, url)
            raw_path, query = target.raw_path, target.query
            if target.authority is not None:
                # RFC 9112 §3.2.2: with an absolute-form target, its authority is the host.
                self.headers = [
                    (name, target.authority if name == b"host" else value)
                    for name, value in self.headers
                ]
        content_length = framing.content_length
        if (
            content_length is not None
            and self.max_body_size
            and content_length > self.max_body_size
        ):
            raise ProtocolError("request body too large", 413)
        state = self.state
        keep_alive = framing.keep_alive and not state.shutting_down
        if self.max_requests_per_connection:
            self.requests_served += 1
            if self.requests_served >= self.max_requests_per_connection:
                keep_alive = False
        has_body = framing.chunked or bool(content_length)
        method = _METHOD_NAMES.get(method_bytes) or method_bytes.decode("ascii")
        client, scheme = self.client, self.scheme
        if self.trust_forwarded:
            assert state.trusted_proxies is not None
            client, scheme = forwarded(self.headers, client, scheme, state.trusted_proxies)
        head = RequestHead(
            method,
            http_version,
            raw_path,
            query,
            self.headers,
            scheme,
            client,
            self.server,
            self.root_path,
            keep_alive,
            framing.expect_continue and has_body,
            has_body,
            framing.upgrade,
        )
        pending = PendingRequest(
            head, state.cycle_factory(head, self), state.loop.time() if state.access_log else 0.0
        )
        pending.body_done = not has_body
        if has_body:
            self.body_bytes_fed = -1  # check_framing_overhead starts counting after this read
        self.parsing = pending
        self.parse_state = _BODY
        self.head_bytes_seen = 0
        self.peek = b""
        queue = self.queue
        queue.append(pending)
        if len(queue) == 1 and framing.upgrade is None:
            self.start_next()

    def on_body(self, body: bytes) -> None:
        self.body_size += len(body)
        max_body = self.max_body_size
        if max_body and self.body_size > max_body:
            raise ProtocolError("request body too large", 413)
        if self.parsing is not None:
            self.parsing.cycle.on_body(body)

    def on_message_complete(self) -> None:
        pending = self.parsing
        self.parsing = None
        self.parse_state = _IDLE
        self.peek = b""
        self.head_bytes_seen = 0
        if self.trailer_count:
            self.trailer_count = self.trailer_bytes = 0
        if pending is not None:
            pending.body_done = True
            pending.cycle.on_body_end()
            if not pending.head.keep_alive:
                # Nothing after a request that ends the connection is read (RFC 9112 §9.6).
                self.stop_reading_input = True

    # ---- errors and upgrades ------------------------------------------------------------------

    def on_invalid_method(self) -> None:
        """llhttp refused the method: 501 for an unknown token (RFC 9110 §9.1), else 400."""
        if not self.peek:
            # A pipelined request that began mid-read: its first bytes were not kept.
            self.reject(ProtocolError("invalid method", 400))
            return
        self.stop_reading_input = True
        if self.transport is not None:
            self.transport.pause_reading()
        self.method_probe = True
        self.probe_method(b"")

    def probe_method(self, data: bytes) -> None:
        # The verdict must not depend on how the bytes were split, so wait for the whole
        # method (up to a delimiter or _METHOD_PEEK bytes) before answering.
        if data:
            self.peek += data[:_METHOD_PEEK]
        peek = self.peek
        end = len(peek)
        for delimiter in (b" ", b"\r", b"\n", b"\t"):
            found = peek.find(delimiter)
            if 0 <= found < end:
                end = found
        if end == len(peek) and len(peek) < _METHOD_PEEK:
            if self.transport is not None:
                self.transport.resume_reading()
            return
        self.method_probe = False
        method = peek[:end]
        if method and end < len(peek) and peek[end : end + 1] == b" " and is_method_token(method):
            self.reject(ProtocolError(f"method not implemented: {method!r}", 501))
        else:
            self.reject(ProtocolError("invalid method", 400))

    def on_upgrade(self, data: bytes, offset: int) -> None:
        """llhttp stopped at an Upgrade (or CONNECT) request; ``data[offset:]`` follows it."""
        pending = self.queue[-1] if self.queue else None
        if pending is None or pending.head.method == "CONNECT":
            self.reject(ProtocolError("CONNECT is not supported", 400))
            return
        handler = self.state.upgrade_handler
        if handler is not None and len(self.queue) == 1 and not pending.started:
            self.queue.pop(0)
            if handler(self, pending.head, data[offset:]):
                self.stop_reading_input = True
                self.parsing = None
                return
            self.queue.insert(0, pending)
        # Not upgraded: answer it as a plain request, then close: llhttp read no body for it.
        pending.head.keep_alive = False
        self.stop_reading_input = True
        self.parse_state = _IDLE
        self.parsing = None
        pending.body_done = True
        pending.cycle.on_body_end()
        if len(self.queue) == 1:
            self.start_next()

    def reject(self, error: ProtocolError) -> None:
        """Answer ``error`` after every earlier response, then close; read nothing more."""
        logger.debug("bad request from %s: %s", self.client, error)
        self.stop_reading_input = True
        self.method_probe = False
        if self.transport is not None:
            self.transport.pause_reading()
        broken = self.parsing
        self.parsing = None
        self.parse_state = _IDLE
        if broken is not None and broken in self.queue:
            # Its body broke off: the request can never complete.
            if broken.started:
                broken.cycle.on_disconnect()
                if error.status and not self.response_started_flag:
                    self.send_error(error.status, reason_phrase(error.status))
                else:
                    self.abort()
                return
            self.queue.remove(broken)
            broken.cycle.on_disconnect()
        if self.queue:
            self.reject_after_queue = error
            return
        self.send_final_error(error)

    def send_final_error(self, error: ProtocolError) -> None:
        if self.transport is None:
            return
        if error.status:
            self.transport.write(
                error_response(
                    error.status,
                    reason_phrase(error.status),
                    date_line=self.state.date_line,
                )
            )
            if self.state.access_log:
                log_access(self.client, "-", "-", "-", error.status, 0, 0.0)
        self.close()

    # ---- server-side lifecycle ----------------------------------------------------------------

    @property
    def busy(self) -> bool:
        return bool(self.queue) or self.parse_state in (_HEAD, _BODY)

    def check_deadline(self, now: float) -> None:
        if self.closed:
            return
        if now < self.deadline:
            return
        if self.queue:
            return  # an app is working on a request: not an idle connection
        if self.parse_state == _HEAD:
            logger.debug("header timeout for %s", self.client)
            self.reject(ProtocolError("request head not received in time", 408))
        else:
            self.close()

    def shutdown(self) -> None:
        """Graceful shutdown: close when idle (after a short grace), else after the response."""
        if not self.queue and self.parse_state == _IDLE:
            # Closing an idle keep-alive connection at once races with a request the client may
            # already have sent: it would see the connection drop without an answer. A request
            # arriving within the grace is answered with Connection: close (the server is
            # shutting down); otherwise check_deadline closes the connection.
            self.deadline = min(self.deadline, self.state.now + _SHUTDOWN_IDLE_GRACE)
            return
        for pending in self.queue:
            pending.head.keep_alive = False
        self.stop_reading_input = True

    def force_close(self) -> None:
        self.close()

    def close(self) -> None:
        if self.transport is not None and not self.closed:
            self.closed = True
            self.transport.close()
