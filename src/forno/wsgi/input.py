"""``wsgi.input``: the request body, fed by the event loop and read by the app's thread.

The loop calls ``feed``/``end``/``abort``; the app's thread calls ``read``, ``readline``,
``readlines`` or iterates. Between them sits one bounded buffer: ``feed`` reports when it holds
more than ``limit`` bytes (the loop then stops reading the socket) and, once the app has drained
it to half of that, the stream calls ``on_drained`` (the loop resumes reading). The first time
the app has to wait for bytes that have not arrived, ``on_wait`` is called once (the loop answers
``Expect: 100-continue``). Both callbacks are called from the app's thread, outside the lock; the
owner makes them hop to the loop.

``read(n)`` blocks until ``n`` bytes or the end of the body, like a file. If the client goes away
before the body is complete, reads return what was already received and then raise
``ClientDisconnected`` (an ``OSError``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

from forno.errors import ClientDisconnected

_EMPTY = b""


class InputStream:
    __slots__ = (
        "_asked",
        "_broken",
        "_buffer",
        "_cond",
        "_ended",
        "_limit",
        "_on_drained",
        "_on_wait",
        "_paused",
    )

    def __init__(
        self,
        limit: int,
        *,
        complete: bool,
        on_wait: Callable[[], None],
        on_drained: Callable[[], None],
    ) -> None:
        self._limit = limit
        self._buffer = bytearray()
        self._cond = threading.Condition(threading.Lock())
        self._ended = complete
        self._broken = False
        self._paused = False
        self._asked = False
        self._on_wait = on_wait
        self._on_drained = on_drained

    # ---- the loop's side ----------------------------------------------------------------------

    def feed(self, data: bytes) -> bool:
        """Add body bytes; True when the buffer just went over its limit (pause reading)."""
        with self._cond:
            if self._ended or self._broken:
                return False
            self._buffer += data
            self._cond.notify()
            if not self._paused and len(self._buffer) > self._limit:
                self._paused = True
                return True
            return False

    def end(self) -> None:
        """The whole body has arrived."""
        with self._cond:
            self._ended = True
            self._cond.notify()

    def abort(self) -> bool:
        """The body will never be read (the client went away, or the response is complete).

        True if reading was paused for this stream: the loop must resume it."""
        with self._cond:
            if not self._ended:
                self._broken = True
            self._cond.notify()
            paused, self._paused = self._paused, False
            return paused

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def complete(self) -> bool:
        return self._ended

    # ---- the app's side -----------------------------------------------------------------------

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            return self._take(-1, line=False)
        if size == 0:
            return _EMPTY
        return self._take(size, line=False)

    def readline(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            return self._take(-1, line=True)
        if size == 0:
            return _EMPTY
        return self._take(size, line=True)

    def readlines(self, hint: int | None = -1) -> list[bytes]:
        lines: list[bytes] = []
        total = 0
        while True:
            line = self._take(-1, line=True)
            if not line:
                return lines
            lines.append(line)
            total += len(line)
            if hint is not None and 0 < hint <= total:
                return lines

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        line = self._take(-1, line=True)
        if not line:
            raise StopIteration
        return line

    def _take(self, size: int, *, line: bool) -> bytes:
        """Up to ``size`` bytes (-1: no limit), ending after the first newline if ``line``."""
        buffer = self._buffer
        if self._ended and not line:
            # Fast path: the whole body is here, nobody else touches the buffer any more.
            with self._cond:
                if size < 0 or size >= len(buffer):
                    data = bytes(buffer)
                    buffer.clear()
                else:
                    data = bytes(buffer[:size])
                    del buffer[:size]
                resume = self._release_pause()
            if resume:
                self._on_drained()
            return data
        out = bytearray()
        with self._cond:
            while True:
                if buffer:
                    want = len(buffer) if size < 0 else min(size - len(out), len(buffer))
                    done = size >= 0 and len(out) + want >= size
                    if line:
                        newline = buffer.find(b"\n", 0, want)
                        if newline >= 0:
                            want = newline + 1
                            done = True
                    out += buffer[:want]
                    del buffer[:want]
                    if done:
                        break
                if self._ended:
                    break
                if self._broken:
                    if out:
                        break
                    raise ClientDisconnected("the client disconnected before sending the body")
                if self._paused:
                    # Everything buffered was taken: let the loop read again before waiting.
                    self._paused = False
                    self._cond.release()
                    try:
                        self._on_drained()
                    finally:
                        self._cond.acquire()
                    continue
                if not self._asked:
                    self._asked = True
                    self._cond.release()
                    try:
                        self._on_wait()
                    finally:
                        self._cond.acquire()
                    continue
                self._cond.wait()
            resume = self._release_pause()
        if resume:
            self._on_drained()
        return bytes(out)

    def _release_pause(self) -> bool:
        """With the lock held: True if the loop should read again (the buffer is half empty)."""
        if self._paused and len(self._buffer) <= self._limit // 2:
            self._paused = False
            return True
        return False
