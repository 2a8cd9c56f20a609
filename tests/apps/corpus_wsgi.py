"""Plain WSGI app for the HTTP/1.1 request corpus and the fuzzer.

Answers every request with 200 and a JSON description of what reached the app, like
``corpus_asgi``. If reading the body fails (the client went away mid-body), it answers 400 the
way WSGI frameworks do for a disconnected client. ``CORPUS_SEEN_LOG`` and ``/slow`` work
as in ``corpus_asgi``.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

StartResponse = Callable[..., Any]

_SEEN_LOG = os.environ.get("CORPUS_SEEN_LOG")
_LOCK = threading.Lock()


def _record(entry: dict[str, Any]) -> None:
    if not _SEEN_LOG:
        return
    line = json.dumps(entry) + "\n"
    with _LOCK, open(_SEEN_LOG, "a", encoding="utf-8") as log:
        log.write(line)


def _read_body(environ: dict[str, Any]) -> bytes:
    stream = environ["wsgi.input"]
    length = environ.get("CONTENT_LENGTH") or ""
    chunks: list[bytes] = []
    if length.isdigit():
        remaining = int(length)
        while remaining > 0:
            chunk = stream.read(min(remaining, 65536))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
    else:
        while True:
            chunk = stream.read(65536)
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    path: str = environ.get("PATH_INFO", "")
    method: str = environ["REQUEST_METHOD"]
    _record({"interface": "wsgi", "method": method, "path": path})
    if path == "/slow":
        time.sleep(0.2)
    try:
        body = _read_body(environ)
    except Exception as exc:  # the client went away mid-body
        payload = json.dumps({"body_error": repr(exc)}).encode("ascii")
        start_response(
            "400 Bad Request",
            [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))],
        )
        return [payload]
    seen = {
        "interface": "wsgi",
        "method": method,
        "path": path,
        "query": environ.get("QUERY_STRING", ""),
        "http_version": environ.get("SERVER_PROTOCOL", "").removeprefix("HTTP/"),
        "host": environ.get("HTTP_HOST"),
        "content_length": environ.get("CONTENT_LENGTH") or None,
        "transfer_encoding": environ.get("HTTP_TRANSFER_ENCODING"),
        "body": body.decode("latin-1"),
    }
    payload = json.dumps(seen).encode("ascii")
    start_response(
        "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))]
    )
    return [payload]
