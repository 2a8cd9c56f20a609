"""``wsgi.errors``: a file-like object whose writes go to the ``forno.error`` logger."""

from __future__ import annotations

import logging
from collections.abc import Iterable

error_logger = logging.getLogger("forno.error")


class ErrorStream:
    """``wsgi.errors``: every write becomes a record on the ``forno.error`` logger.

    Stateless, so one instance serves every thread: a write is logged as it comes, without its
    trailing newline; writes of only whitespace are dropped.
    """

    __slots__ = ()

    def write(self, text: str) -> int:
        message = text.rstrip("\r\n")
        if message.strip():
            error_logger.error("%s", message)
        return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        return None


ERROR_STREAM = ErrorStream()
