"""``wsgi.file_wrapper``: a file as a response iterable, sent zero-copy when the server can.

Iterating a ``FileWrapper`` reads ``block_size`` bytes at a time (the fallback, e.g. under TLS);
``close()`` closes the file. When the app returns a ``FileWrapper`` around a regular file, the
runner asks ``sendfile_range`` which bytes to hand to the connection's ``send_file``
(``os.sendfile``: the bytes go from the page cache to the socket without entering Python).
"""

from __future__ import annotations

import os
import stat
from typing import Any

_DEFAULT_BLOCK = 64 * 1024


class FileWrapper:
    __slots__ = ("block_size", "filelike")

    def __init__(self, filelike: Any, block_size: int = _DEFAULT_BLOCK) -> None:
        self.filelike = filelike
        self.block_size = block_size if block_size > 0 else _DEFAULT_BLOCK

    def __iter__(self) -> FileWrapper:
        return self

    def __next__(self) -> bytes:
        data = self.filelike.read(self.block_size)
        if data:
            return data  # type: ignore[no-any-return]
        raise StopIteration

    def close(self) -> None:
        close = getattr(self.filelike, "close", None)
        if close is not None:
            close()


def sendfile_range(wrapper: FileWrapper, content_length: int | None) -> tuple[int, int] | None:
    """``(offset, count)`` to send from the wrapped file with ``os.sendfile``, or None.

    Only a regular file with a real descriptor qualifies; the range starts at the file's
    current position and ends at its end, or after ``content_length`` bytes if the app gave one.
    """
    filelike = wrapper.filelike
    if not hasattr(os, "sendfile"):
        return None
    try:
        fd = filelike.fileno()
        info = os.fstat(fd)
        offset = filelike.tell()
    except (AttributeError, OSError, ValueError):
        return None
    if type(fd) is not int or type(offset) is not int or not stat.S_ISREG(info.st_mode):
        return None
    count = max(0, info.st_size - offset)
    if content_length is not None:
        count = min(count, content_length)
    return offset, count
