"""The lab's page: the ASGI app that ``forno`` serves when no app is given.

``GET /`` is the page and ``GET /lab.js`` its script (plain JavaScript, no build step, no CDN).
``GET /api/lanes`` lists the lanes; ``GET /api/run?users=&delay=&threads=&workers=&lanes=``
runs them and streams the run as it happens, one JSON event per line (``session.run_lab``'s
events, then ``{"type": "done", "results": [...]}``). One run at a time: a second gets 409.
The lane servers stop at lifespan shutdown, so Ctrl-C on ``forno`` leaves none behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from importlib.resources import files
from typing import Any
from urllib.parse import parse_qs

from forno.lab.lanes import BY_ID, LANES, LaneError, LaneServers, Params
from forno.lab.session import BadRun, check, run_lab
from forno.typing import Receive, Scope, Send

STATIC = files("forno.lab") / "static"
PAGES = {
    "/": ("index.html", b"text/html; charset=utf-8"),
    "/lab.js": ("lab.js", b"text/javascript"),
}


class Lab:
    def __init__(self) -> None:
        self.servers: LaneServers | None = None
        self.running = asyncio.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.lifespan(receive, send)
        elif scope["type"] == "http":
            await self.http(scope, send)

    async def lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.servers is not None:
                    await asyncio.to_thread(self.servers.stop)
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def http(self, scope: Scope, send: Send) -> None:
        path = scope["path"]
        if scope["method"] not in ("GET", "HEAD"):
            await respond(send, 405, {"error": "only GET"})
        elif path in PAGES:
            name, content_type = PAGES[path]
            body = (STATIC / name).read_bytes()
            await start(send, 200, content_type)
            await send({"type": "http.response.body", "body": body})
        elif path == "/api/lanes":
            lanes = [
                {"id": lane.id, "title": lane.title, "explain": lane.explain} for lane in LANES
            ]
            await respond(send, 200, {"lanes": lanes})
        elif path == "/api/run":
            await self.run(scope, send)
        elif path in ("/blocking", "/nonblocking"):
            await legacy(path, send)
        else:
            await respond(send, 404, {"error": "not found", "path": path})

    async def run(self, scope: Scope, send: Send) -> None:
        try:
            lanes, params = parse_run(scope["query_string"].decode("latin-1"))
            check(params.users, params.delay, params.threads, params.workers, lanes)
        except BadRun as exc:
            await respond(send, 400, {"error": str(exc)})
            return
        if self.running.locked():
            await respond(send, 409, {"error": "a run is in progress; wait for it to finish"})
            return
        async with self.running:
            if self.servers is None:
                self.servers = LaneServers()
            await start(send, 200, b"application/x-ndjson")

            gone = False

            async def emit(event: dict[str, Any]) -> None:
                # A page closed mid-run: the run still finishes (it is bounded) and the lanes
                # stay consistent for the next one; there is just nobody to tell.
                nonlocal gone
                if gone:
                    return
                line = json.dumps(event).encode() + b"\n"
                try:
                    await send({"type": "http.response.body", "body": line, "more_body": True})
                except OSError:
                    gone = True

            try:
                results = await run_lab(self.servers, lanes, params, emit)
            except (LaneError, BadRun) as exc:
                await emit({"type": "error", "error": str(exc)})
            else:
                await emit({"type": "done", "results": [r.as_dict() for r in results]})
            if not gone:
                with contextlib.suppress(OSError):
                    await send({"type": "http.response.body", "body": b""})


def parse_run(query: str) -> tuple[list[str], Params]:
    values = {key: items[0] for key, items in parse_qs(query).items()}
    try:
        users = int(values.get("users", "3"))
        delay = float(values.get("delay", "1"))
        threads = int(values.get("threads") or users)
        workers = int(values.get("workers") or users)
    except ValueError as exc:
        raise BadRun(f"not a number: {exc}") from None
    lanes = [lane for lane in values.get("lanes", ",".join(BY_ID)).split(",") if lane]
    return lanes, Params(users=users, delay=delay, threads=threads, workers=workers)


async def start(send: Send, status: int, content_type: bytes) -> None:
    headers = [(b"content-type", content_type), (b"cache-control", b"no-store")]
    await send({"type": "http.response.start", "status": status, "headers": headers})


async def respond(send: Send, status: int, payload: dict[str, Any]) -> None:
    await start(send, status, b"application/json")
    await send({"type": "http.response.body", "body": json.dumps(payload).encode()})


async def legacy(path: str, send: Send) -> None:
    """The first demo's two endpoints, kept: one second blocking the loop, or awaiting."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    if path == "/blocking":
        time.sleep(LEGACY_DELAY)  # noqa: ASYNC251  (blocking on purpose: that is the demo)
    else:
        await asyncio.sleep(LEGACY_DELAY)
    await respond(send, 200, {"handler": path[1:], "seconds": loop.time() - started})


LEGACY_DELAY = 1.0

app = Lab()
