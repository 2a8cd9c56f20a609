"""The ASGI HTTP response's message order, as a pure state machine (no asyncio, no I/O).

Rules enforced on what the app sends (``HTTPResponseMachine.app_message``), from the ASGI HTTP
spec:
- START: the first message must be ``http.response.start`` with an ``int`` status. It is held,
  not sent: the head goes out together with the first body chunk (-> HEAD_HELD), so a response
  whose whole body is one message is one write. ``trailers: true`` is refused (forno does not
  send response trailers over HTTP/1.1).
- HEAD_HELD: ``http.response.body`` (``body`` bytes-like, ``more_body`` optional) begins the
  response (action ``BeginResponse``) -> STREAMING if ``more_body`` is true, else COMPLETE.
- STREAMING: ``http.response.body`` any number of times (action ``SendBody``); the one with
  ``more_body`` false -> COMPLETE.
- COMPLETE: any further message is an ``ASGIProtocolError``.
- Once the client is gone (``client_gone``), every message raises ``ClientDisconnected`` (an
  ``OSError``), as the spec asks, whatever the phase: the app can stop producing.
- Any other type, or a field of the wrong type, raises ``ASGIProtocolError``; the phase does
  not change, so the runner decides what the failed app gets (a 500, or a closed connection).

The runner (``asgi/http.py``) performs the actions and waits for the transport to drain.
"""

from __future__ import annotations

import enum
from typing import Any, NamedTuple

from forno.errors import ASGIProtocolError, ClientDisconnected
from forno.typing import Message


class ResponsePhase(enum.Enum):
    START = "start"
    HEAD_HELD = "head held"
    STREAMING = "streaming"
    COMPLETE = "complete"


# NamedTuples, not dataclasses: two of these are built per request on the hot path.
class BeginResponse(NamedTuple):
    """Send the response head with the first chunk of its body."""

    status: int
    headers: Any
    body: bytes
    more: bool


class SendBody(NamedTuple):
    """Send one more chunk of the body; ``more`` false ends the response."""

    body: bytes
    more: bool


def _body_of(message: Message) -> tuple[bytes, bool]:
    body = message.get("body", b"")
    if type(body) is not bytes:
        if not isinstance(body, bytes | bytearray | memoryview):
            raise ASGIProtocolError(
                f"http.response.body body must be bytes, got {type(body).__name__}"
            )
        body = bytes(body)
    return body, bool(message.get("more_body", False))


class HTTPResponseMachine:
    """One request's response message order. The runner acts on what ``app_message`` returns."""

    __slots__ = ("gone", "phase", "start")

    def __init__(self) -> None:
        self.phase = ResponsePhase.START
        self.start: Message | None = None
        self.gone = False

    def client_gone(self) -> None:
        self.gone = True

    def complete(self) -> None:
        """The response is over for a reason of the runner's (sent in full, or failed)."""
        self.phase = ResponsePhase.COMPLETE

    def app_message(self, message: Message) -> BeginResponse | SendBody | None:
        if self.gone:
            raise ClientDisconnected("the client disconnected")
        msg_type = message.get("type") if isinstance(message, dict) else None
        phase = self.phase
        if phase is ResponsePhase.STREAMING:
            if msg_type != "http.response.body":
                raise ASGIProtocolError(f"expected 'http.response.body', got {msg_type!r}")
            body, more = _body_of(message)
            if not more:
                self.phase = ResponsePhase.COMPLETE
            return SendBody(body, more)
        if phase is ResponsePhase.HEAD_HELD:
            if msg_type != "http.response.body":
                raise ASGIProtocolError(f"expected 'http.response.body', got {msg_type!r}")
            body, more = _body_of(message)
            start = self.start
            assert start is not None
            self.start = None
            self.phase = ResponsePhase.STREAMING if more else ResponsePhase.COMPLETE
            return BeginResponse(start["status"], start.get("headers", ()), body, more)
        if phase is ResponsePhase.START:
            if msg_type != "http.response.start":
                raise ASGIProtocolError(f"expected 'http.response.start', got {msg_type!r}")
            status = message.get("status")
            if type(status) is not int:
                raise ASGIProtocolError(f"http.response.start status must be int: {status!r}")
            if message.get("trailers"):
                raise ASGIProtocolError("response trailers are not supported")
            self.start = message
            self.phase = ResponsePhase.HEAD_HELD
            return None
        raise ASGIProtocolError(f"{msg_type!r} sent after the response was complete")
