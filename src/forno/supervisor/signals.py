"""Signals for the supervisor: handlers only enqueue; the main loop dispatches.

A handler runs between two bytecodes of whatever the main loop was doing, so it must not touch
the supervisor's state. It appends the signal number to a queue, and ``signal.set_wakeup_fd``
writes a byte to a pipe so that the loop's ``select`` wakes up at once.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections import deque
from collections.abc import Iterator
from types import FrameType

# The signals the supervisor acts on.
HANDLED = (
    signal.SIGTERM,
    signal.SIGINT,
    signal.SIGHUP,
    signal.SIGTTIN,
    signal.SIGTTOU,
    signal.SIGCHLD,
)


class SignalQueue:
    """Queued signal numbers plus the read end of the wakeup pipe for ``select``."""

    def __init__(self) -> None:
        self.queue: deque[int] = deque()
        self.read_fd, self.write_fd = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._previous_wakeup_fd = -1

    def _handler(self, signum: int, frame: FrameType | None) -> None:
        self.queue.append(signum)

    def install(self) -> None:
        self._previous_wakeup_fd = signal.set_wakeup_fd(self.write_fd, warn_on_full_buffer=False)
        for signum in HANDLED:
            signal.signal(signum, self._handler)

    def uninstall(self) -> None:
        for signum in HANDLED:
            signal.signal(signum, signal.SIG_DFL)
        signal.set_wakeup_fd(self._previous_wakeup_fd)

    def pop_all(self) -> list[int]:
        """The signals received since the last call, in order; empties the wakeup pipe."""
        with contextlib.suppress(BlockingIOError):
            while os.read(self.read_fd, 4096):
                pass
        signals: list[int] = []
        while self.queue:
            signals.append(self.queue.popleft())
        return signals

    def close(self) -> None:
        for fd in (self.read_fd, self.write_fd):
            with contextlib.suppress(OSError):
                os.close(fd)


@contextlib.contextmanager
def signals_blocked() -> Iterator[None]:
    """Block the handled signals around ``fork``: the child resets its handlers first."""
    old = signal.pthread_sigmask(signal.SIG_BLOCK, HANDLED)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def reset_in_child(queue: SignalQueue) -> None:
    """Right after ``fork``, in the child: forget the supervisor's handlers and pipe.

    Workers ignore SIGINT (a Ctrl-C reaches the whole process group; the supervisor owns it and
    passes it on as SIGTERM), SIGHUP and SIGTTIN/SIGTTOU (the supervisor's business); SIGTERM
    keeps its default until the worker's event loop installs its graceful handler.
    """
    signal.set_wakeup_fd(-1)
    for signum in HANDLED:
        signal.signal(signum, signal.SIG_DFL)
    for signum in (signal.SIGINT, signal.SIGHUP, signal.SIGTTIN, signal.SIGTTOU):
        signal.signal(signum, signal.SIG_IGN)
    queue.queue.clear()
    queue.close()
