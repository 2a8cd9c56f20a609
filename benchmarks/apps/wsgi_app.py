"""The fixed WSGI benchmark app, served unchanged by every WSGI server.

GET  /        13-byte ``Hello, world!`` (text/plain)
GET  /json    ``{"message":"Hello, world!"}``, serialised per request
POST /echo    the request body, echoed back
GET  /stream  1 MiB from a generator of 64 KiB chunks (no Content-Length)
GET  /slow    ``Hello, world!`` after ``time.sleep(0.1)``
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

StartResponse = Callable[..., Any]

HELLO = b"Hello, world!"
CHUNK = b"x" * (64 * 1024)
CHUNKS = 16  # 16 x 64 KiB = 1 MiB
SLOW_SECONDS = 0.1

TEXT_HEADERS = [("Content-Type", "text/plain"), ("Content-Length", "13")]


def _stream() -> Iterator[bytes]:
    for _ in range(CHUNKS):
        yield CHUNK


def _read_body(environ: dict[str, Any]) -> bytes:
    stream = environ["wsgi.input"]
    length = environ.get("CONTENT_LENGTH") or ""
    if length.isdigit():
        return bytes(stream.read(int(length)))
    # No length (chunked request): read to the end.
    parts: list[bytes] = []
    while True:
        part = stream.read(65536)
        if not part:
            return b"".join(parts)
        parts.append(part)


def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    path = environ.get("PATH_INFO", "")
    method = environ.get("REQUEST_METHOD", "")
    if path == "/" and method == "GET":
        start_response("200 OK", TEXT_HEADERS)
        return [HELLO]
    if path == "/json" and method == "GET":
        body = json.dumps({"message": "Hello, world!"}, separators=(",", ":")).encode()
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        start_response("200 OK", headers)
        return [body]
    if path == "/echo" and method == "POST":
        body = _read_body(environ)
        headers = [
            ("Content-Type", "application/octet-stream"),
            ("Content-Length", str(len(body))),
        ]
        start_response("200 OK", headers)
        return [body]
    if path == "/stream" and method == "GET":
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return _stream()
    if path == "/slow" and method == "GET":
        time.sleep(SLOW_SECONDS)
        start_response("200 OK", TEXT_HEADERS)
        return [HELLO]
    start_response("404 Not Found", [("Content-Type", "text/plain")])
    return [b"Not Found"]
