"""Checks on a parsed request head that the parser (llhttp) leaves to the server.

llhttp already refuses bad line grammar, control bytes in fields, obs-fold, bare LF, whitespace
before the colon, invalid Content-Length values, duplicate Content-Length, Content-Length with
Transfer-Encoding, and chunked that is not final. What it accepts and RFC 9112 does not is handled
here: framing rules for HTTP/1.0, unknown transfer codings, Host rules, request-target forms and
protocol versions. Every rejection is a ``ProtocolError`` carrying the status to answer with.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

from forno.errors import ProtocolError
from forno.http.syntax import comma_tokens, is_token

# Header names whose values the server itself needs; everything else goes to the app untouched.
HOST = b"host"
CONTENT_LENGTH = b"content-length"
TRANSFER_ENCODING = b"transfer-encoding"
CONNECTION = b"connection"
EXPECT = b"expect"
UPGRADE = b"upgrade"
FRAMING_HEADERS = frozenset({HOST, CONTENT_LENGTH, TRANSFER_ENCODING, CONNECTION, EXPECT, UPGRADE})

SUPPORTED_VERSIONS = frozenset({"1.0", "1.1"})


class FramingHeaders:
    """The framing-relevant header values of one request, collected while parsing.

    Lists are created only for the fields a request actually carries: most carry just Host.
    """

    __slots__ = ("connection", "content_length", "expect", "hosts", "transfer_encoding", "upgrade")

    def __init__(self) -> None:
        self.hosts: list[bytes] = []
        self.transfer_encoding: list[bytes] | None = None
        self.connection: list[bytes] | None = None
        self.expect: list[bytes] | None = None
        self.upgrade: list[bytes] | None = None
        self.content_length: bytes | None = None

    def add(self, name: bytes, value: bytes) -> None:
        """Record a header whose lower-cased name is in FRAMING_HEADERS."""
        if name == HOST:
            self.hosts.append(value)
        elif name == CONTENT_LENGTH:
            self.content_length = value
        elif name == TRANSFER_ENCODING:
            self.transfer_encoding = (self.transfer_encoding or []) + comma_tokens(value)
        elif name == CONNECTION:
            self.connection = (self.connection or []) + comma_tokens(value)
        elif name == EXPECT:
            self.expect = [*(self.expect or []), value.strip(b" \t").lower()]
        else:
            self.upgrade = [*(self.upgrade or []), value]


@dataclass(slots=True, frozen=True)
class RequestFraming:
    """What the server concluded from a valid request head."""

    keep_alive: bool
    chunked: bool
    content_length: int | None
    expect_continue: bool
    upgrade: bytes | None


# The framing of a keep-alive HTTP/1.1 request with one valid Host and no body.
PLAIN_REQUEST = RequestFraming(True, False, None, False, None)


def check_framing(http_version: str, fields: FramingHeaders) -> RequestFraming:
    """Apply RFC 9112 §6 and RFC 9110 §7.2 to a head llhttp accepted."""
    hosts = fields.hosts
    if (
        http_version == "1.1"
        and len(hosts) == 1
        and fields.content_length is None
        and fields.transfer_encoding is None
        and fields.connection is None
        and fields.expect is None
        and fields.upgrade is None
        and is_valid_host(hosts[0])
    ):
        return PLAIN_REQUEST  # the common case, decided without allocating
    if http_version not in SUPPORTED_VERSIONS:
        raise ProtocolError(f"unsupported HTTP version {http_version}", 505)
    http11 = http_version == "1.1"
    if http11 and len(hosts) != 1:
        raise ProtocolError("HTTP/1.1 request needs exactly one Host header")
    if len(hosts) > 1:
        raise ProtocolError("more than one Host header")
    if hosts and not is_valid_host(hosts[0]):
        raise ProtocolError("invalid Host header")
    chunked = False
    codings = fields.transfer_encoding
    if codings is not None:
        if not http11:
            # RFC 9112 §6.1: Transfer-Encoding in HTTP/1.0 means the framing is faulty.
            raise ProtocolError("Transfer-Encoding in an HTTP/1.0 request")
        if not codings or (codings[-1] != b"chunked" and b"chunked" in codings):
            raise ProtocolError("chunked is not the final transfer coding")
        if any(coding != b"chunked" for coding in codings):
            raise ProtocolError("transfer coding not implemented", 501)
        if len(codings) > 1:
            raise ProtocolError("chunked applied more than once")
        chunked = True
    content_length = int(fields.content_length) if fields.content_length is not None else None
    connection = fields.connection or ()
    if http11:
        keep_alive = b"close" not in connection
    else:
        keep_alive = b"keep-alive" in connection and b"close" not in connection
    expect_continue = False
    if fields.expect is not None:
        if fields.expect != [b"100-continue"]:
            raise ProtocolError("unsupported expectation", 417)
        expect_continue = http11
    upgrade = None
    if fields.upgrade and b"upgrade" in connection:
        upgrade = fields.upgrade[0].strip(b" \t").lower()
    return RequestFraming(keep_alive, chunked, content_length, expect_continue, upgrade)


_HOST_CHARS = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:[]%"


def is_valid_host(value: bytes) -> bool:
    """uri-host [":" port]; empty is allowed (RFC 9112 §3.2). A character-level check."""
    return not value.translate(None, _HOST_CHARS)


@dataclass(slots=True, frozen=True)
class Target:
    raw_path: bytes
    query: bytes
    authority: bytes | None = None


def split_target(method: bytes, target: bytes) -> Target:
    """Split a request-target (RFC 9112 §3.2) into raw path and query."""
    if target[:1] == b"/":
        if b"#" in target:
            raise ProtocolError("fragment in request-target")
        path, _, query = target.partition(b"?")
        return Target(path, query)
    if target == b"*":
        if method != b"OPTIONS":
            raise ProtocolError("asterisk-form is only allowed with OPTIONS")
        return Target(b"*", b"")
    if method == b"CONNECT":
        raise ProtocolError("CONNECT is not supported: forno is not a proxy")
    lowered = target[:8].lower()
    if lowered.startswith((b"http://", b"https://")):
        if b"#" in target:
            raise ProtocolError("fragment in request-target")
        rest = target.split(b"://", 1)[1]
        slash = rest.find(b"/")
        query_mark = rest.find(b"?")
        cut = min(i for i in (slash, query_mark, len(rest)) if i >= 0)
        authority, remainder = rest[:cut], rest[cut:]
        if not authority or b"@" in authority or not is_valid_host(authority):
            raise ProtocolError("invalid authority in absolute-form target")
        path, _, query = remainder.partition(b"?")
        return Target(path or b"/", query, authority)
    raise ProtocolError("invalid request-target")


def decode_path(raw_path: bytes) -> str:
    """ASGI ``path``: percent-decoded, then UTF-8 decoded (invalid sequences replaced)."""
    if b"%" not in raw_path:
        try:
            return raw_path.decode("ascii")
        except UnicodeDecodeError:
            return raw_path.decode("utf-8", "replace")
    return unquote_to_bytes(raw_path).decode("utf-8", "replace")


def decode_path_latin1(raw_path: bytes) -> str:
    """WSGI ``PATH_INFO``: percent-decoded bytes carried as a latin-1 str (PEP 3333)."""
    if b"%" not in raw_path:
        return raw_path.decode("latin-1")
    return unquote_to_bytes(raw_path).decode("latin-1")


def is_method_token(method: bytes) -> bool:
    return is_token(method)
