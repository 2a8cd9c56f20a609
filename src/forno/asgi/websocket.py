"""ASGI WebSocket sessions: the scope and the message-order state machine, pure (no asyncio).

Rules enforced on what the app sends (``WebSocketMachine.app_message``):
- Before the handshake is answered (HANDSHAKE): ``websocket.accept`` opens the connection,
  ``websocket.close`` refuses it (the client gets 403), ``websocket.http.response.start``
  begins a denial response (the ``websocket.http.response`` extension). Anything else is an
  ``ASGIProtocolError``.
- RESPONSE: ``websocket.http.response.body`` until one has ``more_body`` false (-> DONE).
- OPEN: ``websocket.send`` (exactly one of ``bytes``/``text``) any number of times, then
  ``websocket.close`` (-> CLOSED).
- After the peer has gone, or once the app closed or answered (CLOSED, DONE), ``send`` raises
  ``ClientDisconnected`` (an ``OSError``), as the ASGI spec asks.

What the app receives (``pop``): ``websocket.connect`` first, then the queued messages, then one
``websocket.disconnect``; once that has been delivered, every later ``receive`` returns it again
instead of blocking forever. The disconnect is queued exactly once however the connection ends.
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from forno.asgi.scope import ASGI_VERSION, scope_paths
from forno.errors import ASGIProtocolError, ClientDisconnected
from forno.http.channel import RequestHead
from forno.typing import Headers, Message, Scope

HTTP_RESPONSE_EXTENSION = "websocket.http.response"


class Phase(enum.Enum):
    HANDSHAKE = "handshake"
    RESPONSE = "response"
    OPEN = "open"
    CLOSED = "closed"
    DONE = "done"


@dataclass(frozen=True, slots=True)
class Accept:
    subprotocol: str | None
    headers: Headers


@dataclass(frozen=True, slots=True)
class SendData:
    data: str | bytes


@dataclass(frozen=True, slots=True)
class Close:
    code: int
    reason: str


@dataclass(frozen=True, slots=True)
class Reject:
    """Refuse the handshake with a plain HTTP error (403: the app closed before accepting)."""

    status: int


@dataclass(frozen=True, slots=True)
class ResponseStart:
    status: int
    headers: Headers


@dataclass(frozen=True, slots=True)
class ResponseBody:
    body: bytes
    more: bool


Action = Accept | SendData | Close | Reject | ResponseStart | ResponseBody


def is_sendable_close_code(code: int) -> bool:
    """Close codes an endpoint may put in a close frame (RFC 6455 §7.4, IANA registry)."""
    return code in (1000, 1001, 1002, 1003) or 1007 <= code <= 1014 or 3000 <= code <= 4999


def _headers(value: Any) -> Headers:
    if value is None:
        return []
    try:
        pairs = [tuple(item) for item in value]
    except TypeError:
        raise ASGIProtocolError("headers must be an iterable of (name, value) pairs") from None
    headers: Headers = []
    for pair in pairs:
        if len(pair) != 2 or not all(isinstance(part, bytes) for part in pair):
            raise ASGIProtocolError(f"headers must be pairs of bytes, got {pair!r}")
        headers.append((pair[0], pair[1]))
    return headers


def _as_bytes(value: Any, what: str) -> bytes:
    if type(value) is bytes:
        return value
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    raise ASGIProtocolError(f"{what} must be bytes, got {type(value).__name__}")


def _disconnect(code: int, reason: str) -> Message:
    return {"type": "websocket.disconnect", "code": code, "reason": reason}


class WebSocketMachine:
    """One session's message order. The runner acts on what ``app_message`` returns."""

    __slots__ = ("connect_sent", "disconnect", "disconnect_sent", "incoming", "offered", "phase")

    def __init__(self, offered_subprotocols: Sequence[str] = ()) -> None:
        self.phase = Phase.HANDSHAKE
        self.offered = list(offered_subprotocols)
        self.incoming: deque[Message] = deque()
        self.connect_sent = False
        self.disconnect: Message | None = None
        self.disconnect_sent = False

    # ---- the peer's side ------------------------------------------------------------------------

    @property
    def peer_gone(self) -> bool:
        return self.disconnect is not None

    def push_message(self, data: str | bytes) -> None:
        if self.disconnect is not None:
            return
        if isinstance(data, str):
            self.incoming.append({"type": "websocket.receive", "text": data})
        else:
            self.incoming.append({"type": "websocket.receive", "bytes": data})

    def push_disconnect(self, code: int, reason: str = "") -> bool:
        """Record the end of the connection; False if it was already recorded."""
        if self.disconnect is not None:
            return False
        self.disconnect = _disconnect(code, reason)
        return True

    @property
    def queued(self) -> int:
        return len(self.incoming)

    def pop(self) -> Message | None:
        """The next message for the app's ``receive``, or None if it must wait."""
        if not self.connect_sent:
            self.connect_sent = True
            return {"type": "websocket.connect"}
        if self.incoming:
            return self.incoming.popleft()
        if self.disconnect is not None:
            self.disconnect_sent = True
            return self.disconnect
        return None

    # ---- the app's side -------------------------------------------------------------------------

    def app_message(self, message: Message) -> Action:
        """Check one message the app sent; return what to do, or raise."""
        if not isinstance(message, dict):
            raise ASGIProtocolError(f"ASGI messages must be dicts, got {type(message).__name__}")
        kind = message.get("type")
        phase = self.phase
        if phase is Phase.OPEN:
            if kind == "websocket.send":
                if self.disconnect is not None:
                    raise ClientDisconnected("the WebSocket connection is closed")
                return SendData(self._payload(message))
            if kind == "websocket.close":
                close = self._close(message)
                if self.disconnect is not None:
                    raise ClientDisconnected("the WebSocket connection is closed")
                self.phase = Phase.CLOSED
                return close
            raise ASGIProtocolError(f"{kind!r} is not allowed on an open WebSocket")
        if phase is Phase.HANDSHAKE:
            if kind == "websocket.accept":
                accept = self._accept(message)
                if self.disconnect is not None:
                    raise ClientDisconnected("the client went away before the handshake")
                self.phase = Phase.OPEN
                return accept
            if kind == "websocket.close":
                self._close(message)
                self.phase = Phase.DONE
                return Reject(403)
            if kind == "websocket.http.response.start":
                status = message.get("status")
                if type(status) is not int or not 100 <= status <= 999:
                    raise ASGIProtocolError(f"invalid response status {status!r}")
                headers = _headers(message.get("headers"))
                if self.disconnect is not None:
                    raise ClientDisconnected("the client went away before the handshake")
                self.phase = Phase.RESPONSE
                return ResponseStart(status, headers)
            raise ASGIProtocolError(f"{kind!r} is not allowed before the WebSocket is accepted")
        if phase is Phase.RESPONSE:
            if kind == "websocket.http.response.body":
                body = _as_bytes(message.get("body", b""), "websocket.http.response.body body")
                more = bool(message.get("more_body", False))
                if self.disconnect is not None:
                    raise ClientDisconnected("the client went away")
                if not more:
                    self.phase = Phase.DONE
                return ResponseBody(body, more)
            raise ASGIProtocolError(f"expected 'websocket.http.response.body', got {kind!r}")
        # CLOSED or DONE: the connection is over for the app.
        if kind in ("websocket.send", "websocket.close"):
            raise ClientDisconnected("the WebSocket connection is closed")
        raise ASGIProtocolError(f"{kind!r} sent after the WebSocket was closed")

    def app_returned(self, failed: bool) -> Action | None:
        """What the connection must still do when the app returns (or raises)."""
        phase = self.phase
        if phase is Phase.HANDSHAKE:
            self.phase = Phase.DONE
            return None if self.disconnect is not None else Reject(500 if failed else 403)
        if phase is Phase.RESPONSE:
            self.phase = Phase.DONE
            return ResponseBody(b"", False) if not failed else Reject(500)
        if phase is Phase.OPEN:
            self.phase = Phase.CLOSED
            return None if self.disconnect is not None else Close(1011 if failed else 1000, "")
        return None

    # ---- validation -----------------------------------------------------------------------------

    def _accept(self, message: Message) -> Accept:
        subprotocol = message.get("subprotocol")
        if subprotocol is not None:
            if not isinstance(subprotocol, str):
                raise ASGIProtocolError("websocket.accept subprotocol must be a str or None")
            if subprotocol not in self.offered:
                raise ASGIProtocolError(f"subprotocol {subprotocol!r} was not offered")
        return Accept(subprotocol, _headers(message.get("headers")))

    @staticmethod
    def _payload(message: Message) -> str | bytes:
        data = message.get("bytes")
        text = message.get("text")
        if (data is None) == (text is None):
            raise ASGIProtocolError("websocket.send needs exactly one of 'bytes' or 'text'")
        if text is not None:
            if not isinstance(text, str):
                raise ASGIProtocolError("websocket.send text must be a str")
            return text
        return _as_bytes(data, "websocket.send bytes")

    @staticmethod
    def _close(message: Message) -> Close:
        code = message.get("code", 1000)
        reason = message.get("reason") or ""
        if code is None:
            code = 1000
        if type(code) is not int or not is_sendable_close_code(code):
            raise ASGIProtocolError(f"invalid WebSocket close code {code!r}")
        if not isinstance(reason, str) or len(reason.encode("utf-8")) > 123:
            raise ASGIProtocolError("close reason must be a str of at most 123 UTF-8 bytes")
        return Close(code, reason)


def websocket_scope(
    head: RequestHead, subprotocols: Iterable[str], state: dict[str, Any] | None
) -> Scope:
    """The ASGI ``websocket`` scope for an upgrade request."""
    path, raw_path = scope_paths(head)
    scope: Scope = {
        "type": "websocket",
        "asgi": ASGI_VERSION,
        "http_version": head.http_version,
        "scheme": "wss" if head.scheme == "https" else "ws",
        "path": path,
        "raw_path": raw_path,
        "query_string": head.query,
        "root_path": head.root_path,
        "headers": head.headers,
        "client": head.client,
        "server": head.server,
        "subprotocols": list(subprotocols),
        "extensions": {HTTP_RESPONSE_EXTENSION: {}},
    }
    if state is not None:
        scope["state"] = state.copy()
    return scope
