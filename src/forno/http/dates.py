"""The HTTP Date header (IMF-fixdate, RFC 9110 §5.6.7)."""

from __future__ import annotations

from email.utils import formatdate


def date_header_line(timestamp: float) -> bytes:
    """``date: <IMF-fixdate>\\r\\n`` for a Unix time."""
    return b"date: " + formatdate(timestamp, usegmt=True).encode("ascii") + b"\r\n"
