"""Turn an app's status and headers into an HTTP/1.x response head and a body framing.

The server adds what only it can know (Date, Server, Content-Length or chunked, Connection)
and refuses headers that would corrupt the byte stream (CR, LF, NUL and other controls, names
that are not tokens). Nothing an app sends is written before it has been checked.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from forno.http.status import is_valid_status, status_line
from forno.http.syntax import comma_tokens, is_field_value, is_token

CRLF = b"\r\n"
CHUNKED_END = b"0\r\n\r\n"
_TE_CHUNKED = b"transfer-encoding: chunked\r\n"
_CONN_CLOSE = b"connection: close\r\n"
_CONN_KEEP_ALIVE = b"connection: keep-alive\r\n"

# Hop-by-hop fields an application must not set (RFC 9110 §7.6.1, PEP 3333).
HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    }
)


class InvalidResponse(ValueError):
    """The app produced a status or header that cannot be sent."""


@dataclass(slots=True)
class ResponseHead:
    """A serialised head and how the body that follows must be framed."""

    data: bytes
    status: int
    chunked: bool
    content_length: int | None
    body_allowed: bool
    keep_alive: bool


# What a validated header line is to the framing code; anything else is passed through.
_PLAIN, _LENGTH, _HOP, _CONNECTION, _DATE, _SERVER = 0, 1, 2, 3, 4, 5
_KINDS = {
    b"content-length": _LENGTH,
    b"connection": _CONNECTION,
    b"date": _DATE,
    b"server": _SERVER,
}

# Validated (name, value) pairs: apps send the same few headers over and over, so a bounded
# memo keeps validation off the hot path without weakening it.
_checked: dict[tuple[bytes, bytes], tuple[bytes, int]] = {}
_CHECKED_MAX = 4096


def check_header(name: bytes, value: bytes) -> tuple[bytes, int]:
    """The header line ``name: value\r\n`` (name lower-cased) and its kind; raise if invalid."""
    key = (name, value)
    found = _checked.get(key)
    if found is not None:
        return found
    if type(name) is not bytes or type(value) is not bytes:
        raise InvalidResponse(f"header name and value must be bytes: {name!r}: {value!r}")
    if not is_token(name):
        raise InvalidResponse(f"invalid header name {name!r}")
    if not is_field_value(value):
        raise InvalidResponse(f"invalid characters in the value of header {name!r}")
    lname = name.lower()
    kind = _KINDS.get(lname, _HOP if lname in HOP_BY_HOP else _PLAIN)
    found = (lname + b": " + value.strip(b" \t") + CRLF, kind)
    if len(value) <= 256:
        if len(_checked) >= _CHECKED_MAX:
            _checked.clear()  # varying values (lengths, cookies) must not pin stale entries
        _checked[key] = found
    return found


def checked_header(name: bytes, value: bytes) -> bytes:
    """The header line ``name: value\r\n`` with the name lower-cased; raise if invalid."""
    return check_header(name, value)[0]


def build_head(
    status: int,
    headers: Iterable[tuple[bytes, bytes]],
    *,
    http11: bool,
    keep_alive: bool,
    head_request: bool,
    known_length: int | None,
    date_line: bytes | None,
    server_line: bytes | None,
    strict_hop_by_hop: bool = False,
) -> ResponseHead:
    """Serialise a response head.

    ``known_length`` is the body length when the whole body is already known (so a
    Content-Length can be added); ``strict_hop_by_hop`` refuses hop-by-hop headers (WSGI) instead
    of honouring ``connection: close`` and dropping the rest (ASGI).
    """
    if type(status) is not int or not 200 <= status <= 599:
        if not is_valid_status(status):
            raise InvalidResponse(f"invalid status {status!r}")
        raise InvalidResponse(f"status {status} is not a final response")
    parts = [status_line(status, http11)]
    content_length: int | None = None
    for name, value in headers:
        line, kind = _checked.get((name, value)) or check_header(name, value)
        if kind == _PLAIN:
            parts.append(line)
        elif kind == _LENGTH:
            if content_length is not None or not value.strip().isdigit():
                raise InvalidResponse(f"invalid or repeated content-length {value!r}")
            content_length = int(value)
        elif kind == _DATE:
            date_line = None
            parts.append(line)
        elif kind == _SERVER:
            server_line = None
            parts.append(line)
        else:
            if strict_hop_by_hop:
                raise InvalidResponse(f"hop-by-hop header {name!r} is not allowed from the app")
            if kind == _CONNECTION and b"close" in comma_tokens(value):
                keep_alive = False
    if date_line is not None:
        parts.append(date_line)
    if server_line is not None:
        parts.append(server_line)

    body_allowed = not head_request and status != 204 and status != 304  # noqa: PLR1714
    chunked = False
    if status == 204:
        content_length = None
    elif content_length is not None:
        parts.append(b"content-length: %d\r\n" % content_length)
    elif known_length is not None and body_allowed:
        content_length = known_length
        parts.append(b"content-length: %d\r\n" % known_length)
    elif status == 304 or head_request:
        pass
    elif http11:
        chunked = True
        parts.append(_TE_CHUNKED)
    else:
        keep_alive = False  # HTTP/1.0 without a length: the close delimits the body.
    if not keep_alive:
        parts.append(_CONN_CLOSE)
    elif not http11:
        parts.append(_CONN_KEEP_ALIVE)
    parts.append(CRLF)
    return ResponseHead(b"".join(parts), status, chunked, content_length, body_allowed, keep_alive)


def chunk(data: bytes) -> bytes:
    """One chunk of a chunked body (``data`` must not be empty)."""
    return b"%x\r\n%s\r\n" % (len(data), data)


def error_response(status: int, message: str, *, date_line: bytes | None) -> bytes:
    """A complete plain-text response that closes the connection, for errors forno answers."""
    body = message.encode("utf-8", "replace") + b"\n"
    parts = [
        status_line(status),
        b"content-type: text/plain; charset=utf-8\r\n",
        b"content-length: %d\r\n" % len(body),
        _CONN_CLOSE,
    ]
    if date_line is not None:
        parts.append(date_line)
    parts.append(CRLF)
    parts.append(body)
    return b"".join(parts)
