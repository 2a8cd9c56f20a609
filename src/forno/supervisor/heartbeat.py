"""Liveness: a worker's event loop stamps a shared-memory clock; the supervisor reads its age.

Each worker gets one anonymous shared mapping, created by the supervisor before ``fork``. The
worker writes ``time.monotonic()`` into it from a timer on its event loop, so a loop blocked by
the app stops the clock, which is what the supervisor wants to detect. No file, no syscall per
beat, nothing for the supervisor to read from a pipe. ``CLOCK_MONOTONIC`` is system-wide on
Linux and macOS, so the two processes compare the same clock.
"""

from __future__ import annotations

import mmap
import struct
import time

_FORMAT = "d"
_SIZE = struct.calcsize(_FORMAT)


def beat_interval(worker_timeout: float) -> float:
    """How often a worker stamps: often enough that one late beat is not a timeout."""
    return max(0.05, min(1.0, worker_timeout / 4))


class Heartbeat:
    def __init__(self) -> None:
        self._map = mmap.mmap(-1, _SIZE)
        self.beat()

    def beat(self) -> None:
        struct.pack_into(_FORMAT, self._map, 0, time.monotonic())

    def last(self) -> float:
        value: float = struct.unpack_from(_FORMAT, self._map, 0)[0]
        return value

    def age(self) -> float:
        return time.monotonic() - self.last()

    def close(self) -> None:
        self._map.close()
