"""Status lines, pre-encoded once."""

from __future__ import annotations

from http import HTTPStatus

_PHRASES = {s.value: s.phrase for s in HTTPStatus}


def reason_phrase(status: int) -> str:
    return _PHRASES.get(status, "")


def _line(version: bytes, status: int) -> bytes:
    return b"%s %d %s\r\n" % (version, status, reason_phrase(status).encode("ascii"))


STATUS_LINES_11: dict[int, bytes] = {code: _line(b"HTTP/1.1", code) for code in range(100, 600)}
STATUS_LINES_10: dict[int, bytes] = {code: _line(b"HTTP/1.0", code) for code in range(100, 600)}


def status_line(status: int, http11: bool = True) -> bytes:
    """The status line for a status between 100 and 599 (the caller validates the range)."""
    return (STATUS_LINES_11 if http11 else STATUS_LINES_10)[status]


def is_valid_status(status: object) -> bool:
    return type(status) is int and 100 <= status <= 599
