"""The lanes' apps: one slow endpoint, ``GET /work?delay=SECONDS``, written six ways.

Every app answers JSON with the serving process and thread and the server-side start and end
(``time.monotonic()``, which on one machine is comparable across processes), and ``GET /ping``
for the lab's readiness check. The pitfall app also answers ``GET /detector``: the last report
of forno's blocking detector in this process, caught by a logging handler on ``forno.error``
(the detector itself is unchanged; see ``DetectorCatcher``).

Blocking calls carry a ``# BLOCKS`` marker: the tests find the line the detector must name.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import signal
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qs

from forno.server.blocking import register_app_code
from forno.typing import Receive, Scope, Send

# These apps live inside forno's package, whose frames the blocking detector skips as forno's
# own; the pitfall lane exists to show the detector naming the app's line, so count them in.
register_app_code(os.path.dirname(os.path.abspath(__file__)))

# The slowest endpoint the lab serves: a typo in a URL must not hold a thread for an hour.
MAX_DELAY = 30.0
# FastAPI/Starlette run `def` endpoints on anyio's thread limiter, 40 threads by default.
SYNC_ENDPOINT_THREADS = 40

JSONDict = dict[str, Any]
StartResponse = Callable[..., Any]


class BadRequest(ValueError):
    pass


def parse_delay(query: str) -> float:
    """The ``delay`` query parameter, in seconds (0 < delay <= MAX_DELAY)."""
    values = parse_qs(query).get("delay")
    if not values:
        raise BadRequest("missing ?delay=SECONDS")
    try:
        delay = float(values[0])
    except ValueError:
        raise BadRequest(f"delay {values[0]!r} is not a number") from None
    if not 0 < delay <= MAX_DELAY:
        raise BadRequest(f"delay must be more than 0 and at most {MAX_DELAY:g} seconds")
    return delay


def work_report(started: float) -> JSONDict:
    return {
        "pid": os.getpid(),
        "thread": threading.current_thread().name,
        "server_start": started,
        "server_end": time.monotonic(),
    }


def _headers(content_type: bytes) -> list[tuple[bytes, bytes]]:
    return [(b"content-type", content_type), (b"cache-control", b"no-store")]


# ---- WSGI: lanes 1 (one thread), 2 (N threads) and 3 (N worker processes) ---------------------


def wsgi_sleep(environ: JSONDict, start_response: StartResponse) -> Iterable[bytes]:
    """A Flask-style synchronous handler: ``time.sleep`` holds its thread, nothing else."""
    path = environ.get("PATH_INFO", "")
    if path == "/ping":
        start_response("200 OK", [("content-type", "application/json")])
        return [json.dumps({"pid": os.getpid()}).encode()]
    if path != "/work":
        start_response("404 Not Found", [("content-type", "text/plain")])
        return [b"not found"]
    try:
        delay = parse_delay(environ.get("QUERY_STRING", ""))
    except BadRequest as exc:
        start_response("400 Bad Request", [("content-type", "text/plain")])
        return [str(exc).encode()]
    started = time.monotonic()
    time.sleep(delay)  # BLOCKS wsgi
    body = json.dumps(work_report(started)).encode()
    start_response("200 OK", [("content-type", "application/json"), ("cache-control", "no-store")])
    return [body]


# ---- ASGI ------------------------------------------------------------------------------------


async def _send(send: Send, status: int, body: bytes, content_type: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": _headers(content_type)})
    await send({"type": "http.response.body", "body": body})


async def _json(send: Send, payload: JSONDict, status: int = 200) -> None:
    await _send(send, status, json.dumps(payload).encode(), b"application/json")


async def _lifespan(receive: Receive, send: Send, startup: Callable[[], None] | None) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            if startup is not None:
                startup()
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _route(scope: Scope, send: Send) -> float | None:
    """Answer everything but a valid ``/work``; return the delay of a valid one."""
    path = scope["path"]
    if path == "/ping":
        await _json(send, {"pid": os.getpid()})
        return None
    if path != "/work":
        await _json(send, {"error": "not found", "path": path}, 404)
        return None
    try:
        return parse_delay(scope["query_string"].decode("latin-1"))
    except BadRequest as exc:
        await _json(send, {"error": str(exc)}, 400)
        return None


async def asgi_await(scope: Scope, receive: Receive, send: Send) -> None:
    """``async def`` that awaits: the loop serves everyone else while this one waits."""
    if scope["type"] == "lifespan":
        await _lifespan(receive, send, None)
        return
    if scope["type"] != "http":
        return
    delay = await _route(scope, send)
    if delay is None:
        return
    started = time.monotonic()
    await asyncio.sleep(delay)
    await _json(send, work_report(started))


class DetectorCatcher(logging.Handler):
    """Keeps the last blocking-detector report of this process, as data for the lab.

    The detector logs ``... the loop thread is at FILE:LINE in FUNCTION: CODE`` on forno.error
    (server/blocking.py, docs/observability.md); this handler keeps the latest such message so
    the lab can show it under the pitfall lane without reading the server's stderr.
    """

    PLACE = re.compile(
        r"the loop thread is at (?P<file>.+?):(?P<line>\d+) in (?P<function>[^\s:]+)"
    )

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self._lock_last = threading.Lock()
        self._last: JSONDict | None = None
        self.reports = 0

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        match = self.PLACE.search(message)
        if match is None:
            return
        report = {
            "message": message,
            "file": match["file"],
            "line": int(match["line"]),
            "function": match["function"],
        }
        with self._lock_last:
            self._last = report
            self.reports += 1

    def last(self) -> JSONDict | None:
        with self._lock_last:
            return None if self._last is None else {**self._last, "reports": self.reports}


detector = DetectorCatcher()


def _catch_detector() -> None:
    # At lifespan startup, after forno configured logging, so a dictConfig cannot drop it.
    logger = logging.getLogger("forno.error")
    if detector not in logger.handlers:
        logger.addHandler(detector)


async def pitfall(scope: Scope, receive: Receive, send: Send) -> None:
    """``async def`` that calls ``time.sleep``: the loop, and every user of this worker, waits."""
    if scope["type"] == "lifespan":
        await _lifespan(receive, send, _catch_detector)
        return
    if scope["type"] != "http":
        return
    if scope["path"] == "/detector":
        await _json(send, {"report": detector.last()})
        return
    delay = await _route(scope, send)
    if delay is None:
        return
    started = time.monotonic()
    time.sleep(delay)  # BLOCKS pitfall  # noqa: ASYNC251  (blocking on purpose: the pitfall)
    await _json(send, work_report(started))


_sync_pool = ThreadPoolExecutor(SYNC_ENDPOINT_THREADS, thread_name_prefix="lab-sync-endpoint")


def _sync_endpoint(delay: float) -> JSONDict:
    """A plain ``def`` endpoint, as FastAPI runs one: on a thread, off the loop."""
    started = time.monotonic()
    time.sleep(delay)  # BLOCKS threadpool
    return work_report(started)


async def asgi_threadpool(scope: Scope, receive: Receive, send: Send) -> None:
    """ASGI running a sync ``def`` handler on a thread pool (FastAPI's ``def`` endpoints)."""
    if scope["type"] == "lifespan":
        await _lifespan(receive, send, None)
        return
    if scope["type"] != "http":
        return
    delay = await _route(scope, send)
    if delay is None:
        return
    report = await asyncio.get_running_loop().run_in_executor(_sync_pool, _sync_endpoint, delay)
    await _json(send, report)


# ---- no orphans ------------------------------------------------------------------------------

# The lab names its own PID here when it starts a lane server (lanes.py).
PARENT_ENV = "FORNOLAB_PARENT"  # not FORNO_*: those are settings, and unknown ones are errors
PARENT_POLL = 0.5


def _watch_parent(parent: int) -> None:
    """End this lane's whole process group once the lab that started it is gone.

    The lab stops its lanes itself on every orderly exit; this covers the lab being killed
    (SIGKILL, a crash), which runs no cleanup of its own.
    """
    while True:
        time.sleep(PARENT_POLL)
        try:
            os.kill(parent, 0)
        except ProcessLookupError:
            os.killpg(os.getpgrp(), signal.SIGTERM)
            return
        except PermissionError:
            continue  # alive, just not ours to signal


def _start_parent_watch() -> None:
    value = os.environ.get(PARENT_ENV, "")
    if value.isdigit():
        threading.Thread(
            target=_watch_parent, args=(int(value),), name="lab-parent-watch", daemon=True
        ).start()


_start_parent_watch()
