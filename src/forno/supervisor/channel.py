"""Worker -> supervisor notices over one pipe: "ready", "recycle me".

Every worker inherits the write end. A notice is one short line (``R 1234\n``); writes of at
most ``PIPE_BUF`` bytes to a pipe are atomic, so notices from several workers never interleave.
The read end is in the supervisor's ``select`` set, so a notice wakes the main loop at once.
"""

from __future__ import annotations

import contextlib
import enum
import os


class Notice(enum.Enum):
    READY = "R"
    RECYCLE = "M"


class NoticeChannel:
    def __init__(self) -> None:
        # Both ends non-blocking: a worker never blocks its event loop on a full pipe (the
        # notice is dropped instead; the supervisor would be badly stuck anyway).
        self.read_fd, self.write_fd = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)
        self._pending = b""

    # ---- worker side ----------------------------------------------------------------------

    def send(self, notice: Notice) -> None:
        with contextlib.suppress(OSError):  # the supervisor is gone: nobody to tell
            os.write(self.write_fd, f"{notice.value} {os.getpid()}\n".encode())

    def close_read_end(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.read_fd)

    # ---- supervisor side ------------------------------------------------------------------

    def receive(self) -> list[tuple[Notice, int]]:
        """Every complete notice waiting in the pipe."""
        data = self._pending
        with contextlib.suppress(BlockingIOError):
            while chunk := os.read(self.read_fd, 65536):
                data += chunk
        lines = data.split(b"\n")
        self._pending = lines.pop()
        notices: list[tuple[Notice, int]] = []
        for line in lines:
            kind, _, pid = line.decode("ascii", "replace").partition(" ")
            with contextlib.suppress(ValueError):
                notices.append((Notice(kind), int(pid)))
        return notices

    def close(self) -> None:
        for fd in (self.read_fd, self.write_fd):
            with contextlib.suppress(OSError):
                os.close(fd)
