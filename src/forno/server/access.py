"""The access log line, with everything the client controls escaped."""

from __future__ import annotations

import logging

access_logger = logging.getLogger("forno.access")

# Control bytes (and DEL, and the C1 range) become \xNN so a request cannot forge log lines
# or send terminal escape sequences to whoever reads the log.
_ESCAPES = {i: f"\\x{i:02x}" for i in (*range(0x20), 0x7F, *range(0x80, 0xA0))}
_ESCAPES[ord("\\")] = "\\\\"
_ESCAPES[ord('"')] = '\\"'


def escape(value: str | bytes) -> str:
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    return value.translate(_ESCAPES)


def user_agent_of(headers: list[tuple[bytes, bytes]]) -> bytes:
    for name, value in headers:
        if name == b"user-agent":
            return value
    return b"-"


def log_access(
    client: tuple[str, int] | None,
    method: str,
    target: bytes | str,
    http_version: str,
    status: int,
    size: int,
    duration: float,
    user_agent: bytes = b"-",
) -> None:
    if not access_logger.isEnabledFor(logging.INFO):
        return
    address = f"{client[0]}:{client[1]}" if client else "-"
    access_logger.info(
        '%s "%s %s HTTP/%s" %d %d "%s" %.1fms',
        address,
        escape(method),
        escape(target),
        http_version,
        status,
        size,
        escape(user_agent),
        duration * 1000.0,
    )
