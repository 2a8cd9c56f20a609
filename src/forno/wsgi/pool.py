"""A fixed-size pool of threads that run WSGI requests.

At most ``size`` threads ever exist; they start on demand and live until ``shutdown``. Jobs
beyond the busy threads wait in a FIFO queue, which the server's in-flight limit bounds. The
threads are daemons: an app stuck past the graceful timeout cannot keep the process alive.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from queue import SimpleQueue

logger = logging.getLogger("forno.error")

Job = Callable[[], None]


class ThreadPool:
    def __init__(self, size: int, name: str = "forno-wsgi", *, track_busy: bool = False) -> None:
        if size < 1:
            raise ValueError("a thread pool needs at least one thread")
        self.size = size
        self.name = name
        self._jobs: SimpleQueue[Job | None] = SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._idle = 0
        self._closed = False
        # With ``track_busy``: thread ident -> time.monotonic() its current job started, read
        # (never written) by the server's watchdog thread to report requests that run too long.
        # None otherwise, so a pool nobody watches pays no clock read or dict update per job.
        self.busy_since: dict[int, float] | None = {} if track_busy else None

    @property
    def threads(self) -> int:
        return len(self._threads)

    def submit(self, job: Job) -> None:
        if self._closed:
            raise RuntimeError("the thread pool is shut down")
        self._jobs.put(job)
        with self._lock:
            if self._idle > 0:
                self._idle -= 1  # that thread is taken by this job
                return
            if len(self._threads) >= self.size:
                return
            thread = threading.Thread(
                target=self._work, name=f"{self.name}-{len(self._threads)}", daemon=True
            )
            self._threads.append(thread)
        thread.start()

    def _work(self) -> None:
        jobs = self._jobs
        busy = self.busy_since
        ident = threading.get_ident()
        while True:
            job = jobs.get()
            if job is None:
                return
            if busy is not None:
                busy[ident] = time.monotonic()
            try:
                job()
            except BaseException:  # pragma: no cover - jobs handle their own errors
                logger.exception("internal error in a WSGI thread")
            if busy is not None:
                del busy[ident]
            with self._lock:
                self._idle += 1

    def shutdown(self, timeout: float) -> bool:
        """Let queued jobs finish, stop every thread; False if some were still busy at timeout."""
        self._closed = True
        with self._lock:
            threads = list(self._threads)
        for _ in threads:
            self._jobs.put(None)
        deadline = time.monotonic() + max(0.0, timeout)
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return not any(thread.is_alive() for thread in threads)
