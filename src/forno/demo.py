"""forno's built-in demo: what an event loop does with blocking and non-blocking handlers.

``/blocking`` calls ``time.sleep`` inside the event loop, so three simultaneous requests take
three times as long; ``/nonblocking`` awaits ``asyncio.sleep``, so three take as long as one.
The page fires three of each from the browser and shows the totals.
"""

from __future__ import annotations

import asyncio
import json
import time

from forno.typing import Receive, Scope, Send

DELAY_SECONDS = 1.0

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>forno demo</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem}
code{background:#f3f3f3;padding:0 .2em}button{font-size:1rem;margin-right:.5rem}
#out{margin-top:1rem;white-space:pre-line}</style></head><body>
<h1>forno is running</h1>
<p>This is forno's built-in demo app. To serve your own app, run
<code>forno module:app</code> (Flask, Django, FastAPI, Starlette, any WSGI or ASGI app).</p>
<p>An ASGI server runs many requests on one event loop. A handler that <em>blocks</em>
(<code>time.sleep(1)</code>) stops the loop for everyone; a handler that <em>awaits</em>
(<code>await asyncio.sleep(1)</code>) lets the others run. Send three of each at once:</p>
<button id="b" onclick="race('/blocking')">3 &times; /blocking</button>
<button id="n" onclick="race('/nonblocking')">3 &times; /nonblocking</button>
<div id="out"></div>
<script>
async function race(path) {
  const start = performance.now();
  await Promise.all([0, 1, 2].map(i => fetch(path + "?n=" + i + "&t=" + Date.now())));
  const total = ((performance.now() - start) / 1000).toFixed(2);
  document.getElementById("out").textContent +=
    "3 × " + path + " took " + total + " s in total\\n";
}
</script>
<p>Blocking: about 3 s (one after the other). Non-blocking: about 1 s (all at once).
WSGI apps run on forno's thread pool instead, so they may block without stalling the loop.</p>
</body></html>
"""


async def _send_json(send: Send, payload: dict[str, object], status: int = 200) -> None:
    body = json.dumps(payload).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"cache-control", b"no-store")],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    path = scope["path"]
    started = time.monotonic()
    if path == "/":
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/html; charset=utf-8")],
            }
        )
        await send({"type": "http.response.body", "body": PAGE.encode()})
    elif path == "/blocking":
        time.sleep(DELAY_SECONDS)  # noqa: ASYNC251  (blocking on purpose: that is the demo)
        await _send_json(send, {"handler": "blocking", "seconds": time.monotonic() - started})
    elif path == "/nonblocking":
        await asyncio.sleep(DELAY_SECONDS)
        await _send_json(send, {"handler": "nonblocking", "seconds": time.monotonic() - started})
    else:
        await _send_json(send, {"error": "not found", "path": path}, status=404)
