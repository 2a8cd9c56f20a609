"""A WSGI app wrapped in ``wsgiref.validate.validator``, for many request shapes.

Validator warnings are turned into errors in this process, so any complaint of the validator
becomes an exception inside the app: a 500 and a traceback in the server log, which the tests
check for.
"""

from __future__ import annotations

import atexit
import json
import os
import tempfile
import warnings
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from urllib.parse import parse_qs
from wsgiref.validate import validator

warnings.simplefilter("error")

StartResponse = Callable[..., Any]
BLOCK = 65536

_FILE_DATA = bytes(range(256)) * 1024  # 256 KiB
_fd, FILE_PATH = tempfile.mkstemp(prefix="forno-wsgi-validated-")
with os.fdopen(_fd, "wb") as _out:
    _out.write(_FILE_DATA)
atexit.register(os.unlink, FILE_PATH)


def read_body(environ: dict[str, Any], mode: str) -> bytes:
    stream = environ["wsgi.input"]
    if mode == "readline":
        parts = []
        while True:
            line = stream.readline()
            if not line:
                break
            parts.append(line)
        return b"".join(parts)
    if mode == "readline-limit":
        parts = []
        while True:
            line = stream.readline(7)
            if not line:
                break
            parts.append(line)
        return b"".join(parts)
    if mode == "readlines":
        return b"".join(stream.readlines())
    if mode == "iter":
        return b"".join(stream)
    parts = []
    while True:
        data = stream.read(BLOCK)
        if not data:
            break
        parts.append(data)
    return b"".join(parts)


def describe(environ: dict[str, Any], body: bytes) -> bytes:
    keys = {key: value for key, value in environ.items() if type(value) is str}
    keys["body_length"] = str(len(body))
    keys["body_sample"] = body[:64].decode("latin-1")
    keys["body_sum"] = str(sum(body) % 1000003)
    return json.dumps(keys).encode("ascii")


def generated(count: int, size: int) -> Iterator[bytes]:
    yield b""  # an empty first piece must not send the head early
    for index in range(count):
        yield bytes([65 + index % 26]) * size


def inner(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    path = environ["PATH_INFO"]
    query = parse_qs(environ["QUERY_STRING"])
    text = [("Content-Type", "text/plain")]
    if path == "/echo":
        body = read_body(environ, query.get("mode", ["read"])[0])
        payload = describe(environ, body)
        start_response(
            "200 OK",
            [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))],
        )
        return [payload]
    if path == "/write":
        write = start_response("200 OK", text)
        write(b"written ")
        write(b"then ")
        return [b"returned"]
    if path == "/generator":
        count = int(query.get("count", ["5"])[0])
        size = int(query.get("size", ["10"])[0])
        start_response("200 OK", text)
        return generated(count, size)
    if path == "/empty":
        start_response("204 No Content", [])
        return []
    if path == "/file":
        start_response(
            "200 OK",
            [
                ("Content-Type", "application/octet-stream"),
                ("Content-Length", str(len(_FILE_DATA))),
            ],
        )
        wrapper = environ["wsgi.file_wrapper"]
        return wrapper(open(FILE_PATH, "rb"), 8192)
    if path == "/errors":
        environ["wsgi.errors"].write("validated app says hello\n")
        environ["wsgi.errors"].flush()
        start_response("200 OK", text)
        return [b"logged"]
    start_response("404 Not Found", text)
    return [b"not found"]


app = validator(inner)
