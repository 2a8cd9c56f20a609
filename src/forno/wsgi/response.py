"""``start_response`` and the checks that turn a WSGI status and headers into HTTP bytes (pure).

PEP 3333 rules enforced here: ``start_response`` stores the status and headers without sending
them; calling it again needs ``exc_info`` and, once the head has been sent, re-raises that
exception. Nothing the app gave is sent before ``encode_head`` accepted it: a status line
``"NNN reason"``, native-string headers that encode to latin-1, no CR, LF, NUL or other
controls, and no hop-by-hop header (``Connection``, ``Transfer-Encoding``, ...), which are the
server's business. Any failure raises ``InvalidResponse``.
"""

from __future__ import annotations

from collections.abc import Callable

from forno.http.response import HOP_BY_HOP, InvalidResponse, checked_header
from forno.typing import ExcInfo, Headers

WriteCallable = Callable[[bytes], None]


def parse_status(status: object) -> int:
    """The code of a WSGI status string such as ``"404 Not Found"``."""
    if type(status) is not str:
        raise InvalidResponse(f"status must be a str, not {type(status).__name__}")
    code = status[:3]
    if len(code) != 3 or not code.isdigit() or not code.isascii():
        raise InvalidResponse(f"invalid status line {status!r}")
    if len(status) > 3 and status[3] != " ":
        raise InvalidResponse(f"invalid status line {status!r}")
    if not status.isprintable():
        raise InvalidResponse(f"control characters in status line {status!r}")
    return int(code)


def encode_headers(headers: object) -> Headers:
    """WSGI response headers as checked latin-1 bytes pairs."""
    if type(headers) is not list:
        raise InvalidResponse(f"headers must be a list, not {type(headers).__name__}")
    encoded: Headers = []
    for item in headers:
        if type(item) is not tuple or len(item) != 2:
            raise InvalidResponse(f"each header must be a (name, value) tuple: {item!r}")
        name, value = item
        if type(name) is not str or type(value) is not str:
            raise InvalidResponse(f"header name and value must be str: {item!r}")
        try:
            raw_name = name.encode("latin-1")
            raw_value = value.encode("latin-1")
        except UnicodeEncodeError:
            raise InvalidResponse(f"header is not latin-1: {item!r}") from None
        line = checked_header(raw_name, raw_value)
        if line[: len(raw_name)] in HOP_BY_HOP:
            raise InvalidResponse(f"hop-by-hop header {name!r} is not allowed from a WSGI app")
        encoded.append((raw_name, raw_value))
    return encoded


def has_header(headers: Headers, lower_name: bytes) -> bool:
    return any(name.lower() == lower_name for name, _ in headers)


class ResponseStart:
    """The app's ``start_response`` callable for one request (used from the app's thread)."""

    __slots__ = ("head_sent", "headers", "status", "write")

    def __init__(self, write: WriteCallable) -> None:
        self.write = write
        self.status: object = None
        self.headers: object = None
        self.head_sent = False

    def __call__(
        self, status: str, headers: list[tuple[str, str]], exc_info: ExcInfo | None = None
    ) -> WriteCallable:
        if exc_info is not None:
            try:
                if self.head_sent:
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None  # no reference cycle through the traceback
        elif self.status is not None:
            raise RuntimeError("start_response called a second time without exc_info")
        self.status = status
        self.headers = headers
        return self.write

    @property
    def called(self) -> bool:
        return self.status is not None

    def encode(self) -> tuple[int, Headers]:
        """Check and encode the stored status and headers (raise ``InvalidResponse``)."""
        if self.status is None:
            raise InvalidResponse("the app did not call start_response")
        return parse_status(self.status), encode_headers(self.headers)
