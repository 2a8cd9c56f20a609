"""One WebSocket connection: owns the transport after the upgrade, frames through ``websockets``.

Rules:
- Frames are parsed and serialised by the ``websockets`` sans-IO ``Protocol`` (permessage-deflate
  included); this class assembles fragmented messages, validates UTF-8 of text messages as
  fragments arrive (1007, fail fast) and hands whole messages to the ASGI session.
- Bytes that arrive before the app accepts are buffered (reading pauses past 64 KiB).
- The server's ticker drives keep-alive pings (``ws_ping_interval``/``ws_ping_timeout``: a peer
  that does not answer in time gets close 1011 and is dropped; the app sees 1006) and bounds
  each closing handshake by the ping timeout.
- The connection stays registered in ``state.connections`` until both the socket is closed and
  the app has returned, so graceful shutdown waits for (and finally cancels) the app.
"""

from __future__ import annotations

import asyncio
import codecs
import logging
import os
from typing import TYPE_CHECKING, cast

from websockets.extensions.base import Extension
from websockets.frames import Frame, Opcode
from websockets.protocol import OPEN, Protocol, Side

from forno.asgi.websocket import websocket_scope
from forno.asgi.websocket_session import WebSocketSession
from forno.errors import ClientDisconnected
from forno.http.channel import RequestHead
from forno.http.response import build_head, chunk, error_response
from forno.http.websocket import Handshake, accept_response
from forno.server.access import log_access
from forno.typing import ASGIApp, Headers

if TYPE_CHECKING:
    from forno.server.state import ServerState

logger = logging.getLogger("forno.error")
# The frame codec's own chatter (it logs every closed connection at INFO) stays out of the log.
codec_logger = logging.getLogger("forno.websocket.codec")
codec_logger.setLevel(logging.WARNING)

PENDING_LIMIT = 65536
SHUTDOWN_CODE = 1012  # Service Restart: the client may reconnect (to this or another worker)
_REASONS = {400: "Bad Request", 403: "Forbidden", 500: "Internal Server Error"}


class _Codec(Protocol):
    def recv_frame(self, frame: Frame) -> None:
        # RFC 6455 §5.4: control frames may be injected between the fragments of a message; a
        # close frame there ends the connection normally (the unfinished message is dropped).
        if frame.opcode is Opcode.CLOSE:
            self.current_size = None
        super().recv_frame(frame)


class WebSocketOptions:
    __slots__ = ("close_timeout", "max_queue", "max_size", "ping_interval", "ping_timeout")

    def __init__(
        self, max_size: int, max_queue: int, ping_interval: float, ping_timeout: float
    ) -> None:
        self.max_size = max_size
        self.max_queue = max_queue
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self.close_timeout = ping_timeout if ping_timeout > 0 else 10.0


class WebSocketConnection(asyncio.Protocol):
    def __init__(
        self,
        state: ServerState,
        options: WebSocketOptions,
        head: RequestHead,
        handshake: Handshake,
        extensions: tuple[bytes | None, list[Extension]],
        app: ASGIApp,
        lifespan_state: dict[str, object] | None,
    ) -> None:
        self.state = state
        self.options = options
        self.head = head
        self.handshake = handshake
        self.extensions_header, self.extensions = extensions
        self.transport: asyncio.Transport | None = None
        self.codec: _Codec | None = None
        self.pending = bytearray()
        scope = websocket_scope(head, handshake.subprotocols, lifespan_state)
        self.session = WebSocketSession(app, scope, self, options.max_queue)
        self.app_done = False
        self.abnormal = False
        self.shutdown_requested = False
        self.paused_by: set[str] = set()
        self.write_paused = False
        self.drain_waiter: asyncio.Future[None] | None = None
        self.response: tuple[int, Headers] | None = None
        self.response_chunked = False
        self.response_sent = False
        # Fragmented message being received: its payload so far, in one buffer (a list of parts
        # would cost an object per fragment, ~50 bytes for each one-byte frame), and for text the
        # UTF-8 validator (None for binary).
        self.fragments: bytearray | None = None
        self.decoder: codecs.IncrementalDecoder | None = None
        # Keep-alive and closing deadlines (0: none).
        self.next_ping = 0.0
        self.ping_payload: bytes | None = None
        self.ping_deadline = 0.0
        self.close_deadline = 0.0

    # ---- taking over from the HTTP/1.1 connection -----------------------------------------------

    def take_over(self, previous: object, transport: asyncio.Transport, rest: bytes) -> None:
        state = self.state
        state.connections.discard(previous)  # type: ignore[arg-type,unused-ignore]
        state.connections.add(self)
        self.transport = transport
        transport.set_protocol(self)
        self.pending += rest
        state.in_flight += 1
        self.session.run()

    # ---- asyncio.Protocol -----------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        codec = self.codec
        if codec is None:
            self.pending += data
            if len(self.pending) > PENDING_LIMIT:
                self.pause_for("handshake")
            return
        codec.receive_data(data)
        self.process()

    def eof_received(self) -> bool | None:
        codec = self.codec
        if codec is not None:
            codec.receive_eof()
            self.process()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self.end_session()
        waiter = self.drain_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        self.drain_waiter = None
        if self.app_done:
            self.unregister()

    def pause_writing(self) -> None:
        self.write_paused = True
        # Reading stops too: what the client sends can make us write (automatic pongs, the app's
        # replies), and a client that never reads would grow our write buffer without bound.
        self.pause_for("write")

    def resume_writing(self) -> None:
        self.write_paused = False
        self.resume_for("write")
        waiter = self.drain_waiter
        if waiter is not None:
            self.drain_waiter = None
            if not waiter.done():
                waiter.set_result(None)

    # ---- frames in ------------------------------------------------------------------------------

    def process(self) -> None:
        codec = cast(_Codec, self.codec)
        for event in codec.events_received():
            frame = cast(Frame, event)
            opcode = frame.opcode
            if opcode is Opcode.TEXT or opcode is Opcode.BINARY or opcode is Opcode.CONT:
                if not self.on_data_frame(frame):
                    break
            elif opcode is Opcode.PONG and frame.data == self.ping_payload:
                self.ping_payload = None
                self.next_ping = self.state.now + self.options.ping_interval
        self.flush()
        if codec.close_rcvd is not None or codec.parser_exc is not None:
            self.end_session()

    def on_data_frame(self, frame: Frame) -> bool:
        """Assemble messages; False if the connection failed (invalid UTF-8)."""
        data = frame.data
        opcode = frame.opcode
        try:
            if opcode is Opcode.CONT:
                fragments = self.fragments
                if fragments is None:
                    return True  # (the codec refuses a continuation without a message)
                decoder = self.decoder
                if decoder is not None:
                    decoder.decode(data, final=frame.fin)  # fail fast: 1007 at the bad fragment
                fragments += data
                if frame.fin:
                    self.fragments = None
                    if decoder is not None:
                        self.decoder = None
                        self.session.on_message(fragments.decode("utf-8"))
                    else:
                        self.session.on_message(bytes(fragments))
            elif frame.fin:
                if type(data) is not bytes:
                    data = bytes(data)
                self.session.on_message(data.decode("utf-8") if opcode is Opcode.TEXT else data)
            else:
                self.fragments = bytearray(data)
                if opcode is Opcode.TEXT:
                    self.decoder = codecs.getincrementaldecoder("utf-8")()
                    self.decoder.decode(data)
                else:
                    self.decoder = None
        except UnicodeDecodeError as exc:
            codec = cast(_Codec, self.codec)
            codec.fail(1007, f"invalid UTF-8 at position {exc.start}")
            return False
        return True

    # ---- bytes out ------------------------------------------------------------------------------

    def flush(self) -> None:
        codec = self.codec
        transport = self.transport
        if codec is None:
            return
        for data in codec.data_to_send():
            if transport is None:
                continue
            if data:
                transport.write(data)
            else:
                # The server ends the TCP connection once the closing handshake is over.
                transport.close()
                self.close_deadline = self.state.now + self.options.close_timeout

    def end_session(self) -> None:
        """Tell the app the connection is over (at most once: the machine ignores repeats)."""
        codec = self.codec
        code, reason = 1006, ""
        if codec is not None and not self.abnormal:
            sent, received = codec.close_sent, codec.close_rcvd
            if codec.parser_exc is not None and sent is not None:
                code, reason = sent.code, sent.reason
            elif received is not None:
                code, reason = received.code, received.reason
            elif sent is not None and self.transport is not None:
                return  # our close frame awaits the client's answer
        self.session.on_disconnect(code, reason)

    # ---- WebSocketChannel -----------------------------------------------------------------------

    def accept(self, subprotocol: str | None, headers: Headers) -> None:
        state = self.state
        response = accept_response(
            self.handshake,
            subprotocol,
            self.extensions_header,
            headers,
            date_line=state.date_line,
            server_line=state.server_line,
        )
        max_size = self.options.max_size or None
        codec = self.codec = _Codec(Side.SERVER, state=OPEN, max_size=max_size, logger=codec_logger)
        codec.extensions = self.extensions
        self.next_ping = state.now + self.options.ping_interval
        transport = self.transport
        if transport is None:
            return
        transport.write(response)
        self.log_handshake(101)
        if self.pending:
            data = bytes(self.pending)
            self.pending.clear()
            codec.receive_data(data)
            self.process()
        self.resume_for("handshake")
        if self.shutdown_requested:
            self.close(SHUTDOWN_CODE, "server shutting down")

    def send_message(self, data: str | bytes) -> None:
        codec = self.codec
        transport = self.transport
        if codec is None or codec.state is not OPEN or transport is None:
            raise ClientDisconnected("the WebSocket connection is closing")
        if transport.is_closing():
            # The transport failed (peer reset) and drops what it is given; connection_lost is
            # only scheduled, and an app that never has to wait would never let it run.
            self.abnormal = True
            self.session.on_disconnect(1006, "")
            raise ClientDisconnected("the WebSocket connection is closed")
        if isinstance(data, str):
            codec.send_text(data.encode("utf-8"))
        else:
            codec.send_binary(data)
        self.flush()

    def close(self, code: int, reason: str) -> None:
        codec = self.codec
        if codec is None or codec.state is not OPEN:
            return
        codec.send_close(code, reason)
        self.flush()
        self.close_deadline = self.state.now + self.options.close_timeout
        # The client's answer must be read even if the app has stopped reading (bounded by the
        # closing deadline).
        self.resume_for("queue")

    def reject(self, status: int) -> None:
        transport = self.transport
        if transport is None or self.codec is not None:
            return
        if self.response_sent:
            transport.abort()  # a denial response broke off: the client must not trust it
        else:
            message = _REASONS.get(status, "Error")
            transport.write(error_response(status, message, date_line=self.state.date_line))
            self.log_handshake(status)
            self.close_transport()

    def respond(self, status: int, headers: Headers) -> None:
        self.response = (status, headers)

    def respond_body(self, body: bytes, more: bool) -> None:
        transport = self.transport
        if self.response is not None:
            status, headers = self.response
            self.response = None  # (an invalid head is answered 500 by ``reject``)
            head = build_head(
                status,
                headers,
                http11=True,
                keep_alive=False,
                head_request=False,
                known_length=None if more else len(body),
                date_line=self.state.date_line,
                server_line=self.state.server_line,
            )
            self.response_chunked = head.chunked
            self.response_sent = True
            self.log_handshake(status)
            if transport is not None:
                transport.write(head.data)
        if transport is None:
            return
        if self.response_chunked:
            framed = chunk(body) if body else b""
            transport.write(framed + (b"0\r\n\r\n" if not more else b""))
        elif body:
            transport.write(body)
        if not more:
            self.close_transport()

    def drain(self) -> asyncio.Future[None] | None:
        if not self.write_paused or self.transport is None:
            return None
        waiter = self.drain_waiter
        if waiter is None:
            waiter = self.drain_waiter = self.state.loop.create_future()
        return waiter

    def pause_reading(self) -> None:
        self.pause_for("queue")

    def resume_reading(self) -> None:
        self.resume_for("queue")

    def session_done(self) -> None:
        self.app_done = True
        state = self.state
        state.in_flight -= 1
        if self.transport is None:
            self.unregister()
        elif state.shutting_down:
            state.check_drained()

    def log_handshake(self, status: int) -> None:
        if self.state.access_log:
            head = self.head
            target = head.raw_path + (b"?" + head.query if head.query else b"")
            log_access(head.client, head.method, target, head.http_version, status, 0, 0.0)

    # ---- flow control and lifecycle -------------------------------------------------------------

    def pause_for(self, reason: str) -> None:
        if not self.paused_by and self.transport is not None:
            self.transport.pause_reading()
        self.paused_by.add(reason)

    def resume_for(self, reason: str) -> None:
        if reason in self.paused_by:
            self.paused_by.discard(reason)
            if not self.paused_by and self.transport is not None:
                self.transport.resume_reading()

    def close_transport(self) -> None:
        if self.transport is not None:
            self.transport.close()
            self.close_deadline = self.state.now + self.options.close_timeout

    def unregister(self) -> None:
        state = self.state
        if self in state.connections:
            state.connections.discard(self)
            state.check_drained()

    @property
    def busy(self) -> bool:
        return True

    def check_deadline(self, now: float) -> None:
        transport = self.transport
        if transport is None:
            return
        if self.close_deadline and now >= self.close_deadline:
            transport.abort()
            return
        codec = self.codec
        options = self.options
        if codec is None or codec.state is not OPEN or options.ping_interval <= 0:
            return
        # While the app is not reading, the pong could not be read: keep-alive waits for the app.
        # A pause for the write buffer alone does not count: it ends when the client reads, and a
        # client that stops reading must still be dropped by the ping timeout.
        paused_by = self.paused_by
        waiting_for_app = bool(paused_by) and (len(paused_by) > 1 or "write" not in paused_by)
        if self.ping_payload is not None:
            if waiting_for_app:
                self.ping_deadline = now + options.ping_timeout
            elif options.ping_timeout > 0 and now >= self.ping_deadline:
                logger.debug("WebSocket keep-alive ping timeout for %s", self.head.client)
                self.abnormal = True
                codec.fail(1011, "keepalive ping timeout")
                self.flush()
                self.end_session()
        elif now >= self.next_ping and not waiting_for_app:
            self.ping_payload = os.urandom(4)
            self.ping_deadline = now + options.ping_timeout
            codec.send_ping(self.ping_payload)
            self.flush()

    def shutdown(self) -> None:
        codec = self.codec
        if codec is None:
            self.shutdown_requested = True
        else:
            self.close(SHUTDOWN_CODE, "server shutting down")

    def force_close(self) -> None:
        if self.transport is not None:
            self.abnormal = True
            self.transport.abort()
        self.session.cancel()
