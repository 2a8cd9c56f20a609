"""The blocking detector: say so when something stops the event loop from turning.

A blocking call inside ``async def`` (``time.sleep``, a synchronous database driver, a CPU-bound
loop) silently serialises every request of the worker. The loop refreshes a heartbeat with a
repeating timer; a daemon thread checks it and, when the loop has not turned for longer than
``blocking_threshold``, reads the loop thread's stack with ``sys._current_frames()`` and logs
where the app is stuck. One incident logs one line when it is seen (repeated every
``REPEAT_SECONDS`` while it lasts) and one when the loop turns again; incidents that start less
than ``REPORT_INTERVAL`` after the previous report are counted, not logged, so an app that blocks
on every request cannot flood the log.

WSGI apps run on their own threads, not the loop, and never trip the loop detector. With
``wsgi_slow_request_threshold`` set, the same thread also reads the WSGI pool's ``busy_since``
map and logs the stack of a pool thread whose current request has run longer, once per request.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import sysconfig
import threading
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

logger = logging.getLogger("forno.error")

# At most one new incident report per this many seconds; the rest are counted.
REPORT_INTERVAL = 10.0
# While one incident lasts, say it is still going on this often.
REPEAT_SECONDS = 10.0
# The watchdog never polls faster than this, whatever the threshold.
MIN_POLL = 0.01

_FORNO_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Directories whose frames count as the app's own even inside forno or the standard library:
# forno's concurrency lab (forno/lab) serves apps that live in forno's package and registers
# its directory here with ``register_app_code``. Empty otherwise, so nothing changes for apps.
_app_code: list[str] = []


def register_app_code(directory: str) -> None:
    """Count frames under ``directory`` as app code when picking the line to report."""
    prefix = _dir_prefix(directory)
    if prefix not in _app_code:
        _app_code.append(prefix)


def _dir_prefix(path: str) -> str:
    return os.path.join(os.path.normcase(os.path.abspath(path)), "")


def default_excluded() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(Never the app's code, third-party code): directory prefixes for ``pick_app_frame``."""
    paths = sysconfig.get_paths()
    third_party = tuple({_dir_prefix(paths[key]) for key in ("purelib", "platlib")})
    return (_dir_prefix(_FORNO_DIR), _dir_prefix(paths["stdlib"])), third_party


def _under(filename: str, prefixes: Sequence[str]) -> bool:
    name = os.path.normcase(os.path.abspath(filename))
    return any(name.startswith(prefix) for prefix in prefixes)


def pick_app_frame(
    stack: Sequence[traceback.FrameSummary],
    never_app: Sequence[str],
    third_party: Sequence[str],
    app_code: Sequence[str] = (),
) -> traceback.FrameSummary | None:
    """The innermost frame of ``stack`` (outermost first) that is most likely the app's own.

    First choice: under ``app_code`` (``register_app_code``), or outside forno, the standard
    library and site-packages (the app's code). Then
    outside forno and the standard library (a library the app called). Frozen modules and
    ``<string>`` code count as not the app's. A site-packages directory inside the stdlib one
    (``/usr/lib/python3.12/site-packages``) is third-party, not stdlib.
    """

    def is_source(frame: traceback.FrameSummary) -> bool:
        return not frame.filename.startswith("<")

    def not_ours(frame: traceback.FrameSummary) -> bool:
        return is_source(frame) and (
            _under(frame.filename, third_party) or not _under(frame.filename, never_app)
        )

    for frame in reversed(stack):
        if is_source(frame) and app_code and _under(frame.filename, app_code):
            return frame
        if not_ours(frame) and not _under(frame.filename, third_party):
            return frame
    for frame in reversed(stack):
        if not_ours(frame):
            return frame
    return stack[-1] if stack else None


def describe_frame(frame: traceback.FrameSummary | None) -> str:
    if frame is None:
        return "an unknown place"
    where = f"{frame.filename}:{frame.lineno} in {frame.name}"
    return f"{where}: {frame.line}" if frame.line else where


@dataclass(slots=True)
class _Incident:
    beat: float  # the heartbeat value the loop left behind when it stopped turning
    reported: bool
    last_log: float


class LoopWatchdog:
    """Watches one event loop from a daemon thread; ``start``/``stop`` run on the loop thread.

    ``threshold`` 0 leaves the loop unwatched (only the slow threads, if any, are).
    ``slow_threads`` maps a thread ident to the ``time.monotonic()`` its current request began.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        threshold: float,
        in_flight: Callable[[], int] | None = None,
        *,
        slow_threads: Mapping[int, float] | None = None,
        slow_threshold: float = 0.0,
    ) -> None:
        self.loop = loop
        self.threshold = threshold
        # The beat runs twice per threshold: ~20 timer callbacks a second at the default 0.1 s,
        # each a clock read and a store (a few microseconds in all, per second).
        self.period = threshold / 2
        watched = [t for t in (threshold, slow_threshold if slow_threads is not None else 0) if t]
        self.poll = max(MIN_POLL, min(watched, default=1.0) / 2)
        self.in_flight = in_flight
        self.slow_threads = slow_threads if slow_threshold > 0 else None
        self.slow_threshold = slow_threshold
        self._slow_reported: set[tuple[int, float]] = set()
        self.never_app, self.third_party = default_excluded()
        self._last = time.monotonic()
        self._handle: asyncio.TimerHandle | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop_thread_id = 0
        self._incident: _Incident | None = None
        self._last_report = -REPORT_INTERVAL
        self._suppressed = 0

    def start(self) -> None:
        """Start beating and watching (call on the loop's thread)."""
        self._loop_thread_id = threading.get_ident()
        if self.threshold > 0:
            self._beat()
        self._thread = threading.Thread(target=self._watch, name="forno-loop-watchdog", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _beat(self) -> None:
        self._last = time.monotonic()
        self._handle = self.loop.call_later(self.period, self._beat)

    # ---- the watchdog thread ------------------------------------------------------------------

    def _watch(self) -> None:
        while not self._stop.wait(self.poll):
            if self.loop.is_closed():
                return  # a server whose shutdown never ran: nothing left to watch
            now = time.monotonic()
            if self.threshold > 0:
                self.check(now)
            if self.slow_threads is not None:
                self.check_threads(now)

    def check_threads(self, now: float) -> None:
        """Report each request that has run longer than ``slow_threshold``, once."""
        assert self.slow_threads is not None
        running = set(dict(self.slow_threads).items())  # one atomic copy under the GIL
        self._slow_reported &= running
        for ident, since in running - self._slow_reported:
            if now - since <= self.slow_threshold:
                continue
            self._slow_reported.add((ident, since))
            frame = sys._current_frames().get(ident)
            if frame is None:  # the request ended since the copy above
                continue
            stack = traceback.extract_stack(frame)
            del frame
            names = {thread.ident: thread.name for thread in threading.enumerate()}
            place = describe_frame(pick_app_frame(stack, self.never_app, self.third_party))
            logger.warning(
                "WSGI request running for %.2f s on thread %s; it is at %s",
                now - since,
                names.get(ident, ident),
                place,
            )
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug("WSGI thread stack:\n%s", "".join(stack.format()))

    def check(self, now: float) -> None:
        """One look at the heartbeat (public for tests: it needs no thread)."""
        last = self._last
        incident = self._incident
        if incident is not None:
            if last != incident.beat:
                self._incident = None
                if incident.reported:
                    logger.warning(
                        "event loop unblocked: it did not turn for %.2f s", last - incident.beat
                    )
            elif incident.reported and now - incident.last_log >= REPEAT_SECONDS:
                incident.last_log = now
                self._report(now - last, "still blocked")
            return
        # The loop may have stopped just after a beat, a period before the next one was due:
        # only a silence longer than threshold + period proves a block longer than threshold.
        if now - last - self.period <= self.threshold:
            return
        reported = now - self._last_report >= REPORT_INTERVAL
        self._incident = _Incident(beat=last, reported=reported, last_log=now)
        if not reported:
            self._suppressed += 1
            return
        self._last_report = now
        self._report(now - last, "blocked")

    def _report(self, stalled: float, what: str) -> None:
        frame = sys._current_frames().get(self._loop_thread_id)
        stack = traceback.extract_stack(frame) if frame is not None else traceback.StackSummary()
        del frame
        place = describe_frame(
            pick_app_frame(stack, self.never_app, self.third_party, tuple(_app_code))
        )
        extras = []
        if self.in_flight is not None:
            extras.append(f"{self.in_flight()} request(s) in flight")
        if self._suppressed:
            extras.append(f"{self._suppressed} earlier incident(s) not reported")
            self._suppressed = 0
        note = f" ({', '.join(extras)})" if extras else ""
        logger.warning(
            "event loop %s for %.2f s%s; the loop thread is at %s", what, stalled, note, place
        )
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("event loop thread stack:\n%s", "".join(stack.format()))
