"""The WebSocket opening handshake (RFC 6455 §4.2, RFC 7692 §5), sans-IO.

``parse_handshake`` validates a client's upgrade request strictly and returns what the server
needs to answer it; ``HandshakeError`` carries the status to answer when it is not valid (400, or
426 with ``Sec-WebSocket-Version: 13`` for another protocol version). ``accept_response`` builds
the ``101 Switching Protocols`` head, validating every header the app adds. permessage-deflate is
negotiated by the ``websockets`` library's extension factory, which honours the RFC 7692
parameters (``server/client_no_context_takeover``, ``server/client_max_window_bits``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from websockets.exceptions import InvalidHeaderFormat, NegotiationError
from websockets.extensions.base import Extension
from websockets.extensions.permessage_deflate import ServerPerMessageDeflateFactory
from websockets.headers import build_extension, parse_extension
from websockets.typing import ExtensionName, ExtensionParameter

from forno.http.response import CRLF, InvalidResponse, checked_header
from forno.http.syntax import comma_tokens, is_token

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
VERSION = b"13"

_SWITCHING = b"HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\n"
# Headers of the 101 response that only the server may set.
_RESERVED = frozenset(
    {
        b"connection",
        b"upgrade",
        b"sec-websocket-accept",
        b"sec-websocket-extensions",
        b"content-length",
        b"transfer-encoding",
    }
)


class HandshakeError(ValueError):
    """The upgrade request is not a valid WebSocket handshake: answer ``status`` and close."""

    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


@dataclass(slots=True)
class Handshake:
    """A valid opening handshake: what the answer depends on."""

    key: bytes
    subprotocols: list[str] = field(default_factory=list)
    extensions: list[bytes] = field(default_factory=list)


def wants_websocket(headers: Iterable[tuple[bytes, bytes]]) -> bool:
    """True if the ``Upgrade`` header asks for the websocket protocol."""
    return any(
        name == b"upgrade" and b"websocket" in comma_tokens(value) for name, value in headers
    )


def parse_handshake(
    method: str, http_version: str, headers: Iterable[tuple[bytes, bytes]]
) -> Handshake:
    """Validate an opening handshake (header names lower-case); raise ``HandshakeError``."""
    if method != "GET":
        raise HandshakeError("WebSocket handshake must use GET", 400)
    if http_version != "1.1":
        raise HandshakeError("WebSocket handshake requires HTTP/1.1", 400)
    connection: list[bytes] = []
    upgrade: list[bytes] = []
    keys: list[bytes] = []
    versions: list[bytes] = []
    handshake = Handshake(b"")
    for name, value in headers:
        if name == b"connection":
            connection += comma_tokens(value)
        elif name == b"upgrade":
            upgrade += comma_tokens(value)
        elif name == b"sec-websocket-key":
            keys.append(value.strip(b" \t"))
        elif name == b"sec-websocket-version":
            versions.append(value.strip(b" \t"))
        elif name == b"sec-websocket-protocol":
            handshake.subprotocols += parse_subprotocols(value)
        elif name == b"sec-websocket-extensions":
            handshake.extensions.append(value)
    if b"upgrade" not in connection:
        raise HandshakeError("Connection header must contain 'upgrade'")
    if b"websocket" not in upgrade:
        raise HandshakeError("Upgrade header must contain 'websocket'")
    if not versions:
        raise HandshakeError("Sec-WebSocket-Version header is missing")
    if versions != [VERSION]:
        raise HandshakeError("unsupported Sec-WebSocket-Version", 426)
    if len(keys) != 1:
        raise HandshakeError("exactly one Sec-WebSocket-Key header is required")
    try:
        nonce = base64.b64decode(keys[0], validate=True)
    except (binascii.Error, ValueError):
        nonce = b""
    if len(nonce) != 16:
        raise HandshakeError("Sec-WebSocket-Key must be a base64-encoded 16-byte nonce")
    handshake.key = keys[0]
    return handshake


def parse_subprotocols(value: bytes) -> list[str]:
    """The subprotocol tokens of one ``Sec-WebSocket-Protocol`` header, in order, case kept."""
    items = [item.strip(b" \t") for item in value.split(b",")]
    result = []
    for item in items:
        if not item:
            continue
        if not is_token(item):
            raise HandshakeError("invalid Sec-WebSocket-Protocol header")
        result.append(item.decode("ascii"))
    return result


def accept_key(key: bytes) -> bytes:
    """``Sec-WebSocket-Accept`` for a client's ``Sec-WebSocket-Key``."""
    return base64.b64encode(hashlib.sha1(key + GUID).digest())  # noqa: S324 (RFC 6455)


@dataclass(frozen=True, slots=True)
class DeflateSettings:
    """The server's permessage-deflate configuration (RFC 7692 §7.1)."""

    server_no_context_takeover: bool = False
    client_no_context_takeover: bool = False
    server_max_window_bits: int | None = 12
    client_max_window_bits: int | None = None
    mem_level: int = 5

    def factory(self) -> ServerPerMessageDeflateFactory:
        return ServerPerMessageDeflateFactory(
            server_no_context_takeover=self.server_no_context_takeover,
            client_no_context_takeover=self.client_no_context_takeover,
            server_max_window_bits=self.server_max_window_bits,
            client_max_window_bits=self.client_max_window_bits,
            compress_settings={"memLevel": self.mem_level},
        )


def negotiate_extensions(
    offers: Sequence[bytes], deflate: DeflateSettings | None
) -> tuple[bytes | None, list[Extension]]:
    """Accept the first permessage-deflate offer the server can honour.

    Returns the ``Sec-WebSocket-Extensions`` value to answer (None: no extension) and the
    extension objects the frame codec must use. Other extensions are ignored.
    """
    if deflate is None or not offers:
        return None, []
    factory = deflate.factory()
    for value in offers:
        try:
            parsed = parse_extension(value.decode("latin-1"))
        except InvalidHeaderFormat as exc:
            raise HandshakeError("invalid Sec-WebSocket-Extensions header") from exc
        for name, params in parsed:
            if name != factory.name:
                continue
            try:
                response_params, extension = factory.process_request_params(params, [])
            except NegotiationError:
                continue
            answer: list[tuple[ExtensionName, list[ExtensionParameter]]] = [
                (factory.name, response_params)
            ]
            return build_extension(answer).encode("ascii"), [extension]
    return None, []


def accept_response(
    handshake: Handshake,
    subprotocol: str | None,
    extensions_header: bytes | None,
    headers: Iterable[tuple[bytes, bytes]] = (),
    *,
    date_line: bytes | None = None,
    server_line: bytes | None = None,
) -> bytes:
    """The 101 response head; raise ``InvalidResponse`` for a bad subprotocol or header."""
    parts = [_SWITCHING, b"sec-websocket-accept: " + accept_key(handshake.key) + CRLF]
    if subprotocol is not None:
        if subprotocol not in handshake.subprotocols:
            raise InvalidResponse(f"subprotocol {subprotocol!r} was not offered by the client")
        parts.append(b"sec-websocket-protocol: " + subprotocol.encode("ascii") + CRLF)
    if extensions_header is not None:
        parts.append(b"sec-websocket-extensions: " + extensions_header + CRLF)
    has_date = has_server = False
    for name, value in headers:
        line = checked_header(name, value)
        lname = line[: len(name)]
        if lname in _RESERVED:
            raise InvalidResponse(f"header {name!r} is set by the server")
        if lname == b"sec-websocket-protocol":
            raise InvalidResponse("choose the subprotocol with the 'subprotocol' field")
        has_date = has_date or lname == b"date"
        has_server = has_server or lname == b"server"
        parts.append(line)
    if date_line is not None and not has_date:
        parts.append(date_line)
    if server_line is not None and not has_server:
        parts.append(server_line)
    parts.append(CRLF)
    return b"".join(parts)


def handshake_error_response(error: HandshakeError, *, date_line: bytes | None = None) -> bytes:
    """A complete response refusing the handshake; it closes the connection."""
    body = error.reason.encode("utf-8") + b"\n"
    reason = b"Upgrade Required" if error.status == 426 else b"Bad Request"
    parts = [
        b"HTTP/1.1 %d %s\r\n" % (error.status, reason),
        b"content-type: text/plain; charset=utf-8\r\n",
        b"content-length: %d\r\n" % len(body),
        b"connection: close\r\n",
    ]
    if error.status == 426:
        parts.append(b"sec-websocket-version: 13\r\n")
    if date_line is not None:
        parts.append(date_line)
    parts += [CRLF, body]
    return b"".join(parts)
