"""A plain WSGI app for forno's behaviour tests: errors, bad headers, framing, files, threads.

Things that happen out of sight of the client (an iterable closed, an exception seen by the app)
are put on a named queue; ``GET /record?key=K`` waits (bounded) for the next item and returns it.
"""

from __future__ import annotations

import json
import os
import queue
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from urllib.parse import parse_qs

StartResponse = Callable[..., Any]
TEXT = [("Content-Type", "text/plain")]

_records: dict[str, queue.Queue[Any]] = {}
_records_lock = threading.Lock()
_active = 0
_max_active = 0
_active_lock = threading.Lock()


def record_queue(key: str) -> queue.Queue[Any]:
    with _records_lock:
        return _records.setdefault(key, queue.Queue())


def record(key: str, value: Any) -> None:
    record_queue(key).put(value)


def json_response(start_response: StartResponse, data: Any) -> list[bytes]:
    payload = json.dumps(data).encode()
    start_response(
        "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))]
    )
    return [payload]


class Tracked:
    """An iterable that records when it is closed, and how many pieces were taken."""

    def __init__(self, key: str, pieces: Iterator[bytes]) -> None:
        self.key = key
        self.pieces = pieces
        self.taken = 0

    def __iter__(self) -> Iterator[bytes]:
        for piece in self.pieces:
            self.taken += 1
            yield piece

    def close(self) -> None:
        record(self.key, {"closed": True, "taken": self.taken})


def endless(size: int) -> Iterator[bytes]:
    block = b"x" * size
    while True:
        yield block


def make_file(size: int) -> str:
    fd, path = tempfile.mkstemp(prefix="forno-wsgi-behaviour-")
    with os.fdopen(fd, "wb") as out:
        out.write(bytes(range(256)) * (size // 256) + b"z" * (size % 256))
    return path


class FileProbe:
    """Wraps a real file; records its closing (the wrapper must close it)."""

    def __init__(self, path: str) -> None:
        self.file = open(path, "rb")  # noqa: SIM115
        self.path = path
        self.reads = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.file, name)

    def read(self, size: int = -1) -> bytes:
        self.reads += 1
        return self.file.read(size)

    def close(self) -> None:
        self.file.close()
        os.unlink(self.path)
        record("file", {"closed": True, "reads": self.reads})


def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    global _active, _max_active
    path = environ["PATH_INFO"]
    query = {key: values[0] for key, values in parse_qs(environ["QUERY_STRING"]).items()}
    if path == "/environ":
        return json_response(start_response, {k: v for k, v in environ.items() if type(v) is str})
    if path == "/record":
        try:
            item = record_queue(query["key"]).get(timeout=float(query.get("timeout", "10")))
        except queue.Empty:
            item = None
        return json_response(start_response, item)
    if path == "/fast":
        start_response("200 OK", [*TEXT, ("Content-Length", "4")])
        return [b"fast"]
    if path == "/sleep":
        with _active_lock:
            _active += 1
            _max_active = max(_max_active, _active)
        try:
            environ["wsgi.errors"].write("sleep started\n")
            time.sleep(float(query.get("ms", "200")) / 1000)
        finally:
            with _active_lock:
                _active -= 1
        return json_response(start_response, {"thread": threading.current_thread().name})
    if path == "/max-active":
        return json_response(start_response, {"max": _max_active})
    if path == "/length":
        stream = environ["wsgi.input"]
        total = 0
        try:
            while data := stream.read(65536):
                total += len(data)
        except OSError as exc:
            record("read-error", type(exc).__name__)
            raise
        return json_response(start_response, {"length": total})
    if path == "/raise-before":
        raise RuntimeError("boom before start_response")
    if path == "/raise-after-start":
        start_response("200 OK", TEXT)
        raise RuntimeError("boom after start_response")
    if path == "/raise-while-streaming":
        start_response("200 OK", TEXT)

        def failing() -> Iterator[bytes]:
            yield b"partial"
            raise RuntimeError("boom while streaming")

        return Tracked("raise-while-streaming", failing())
    if path == "/exc-info":
        start_response("200 OK", TEXT)
        try:
            raise ValueError("handled")
        except ValueError:
            start_response("503 Service Unavailable", TEXT, sys.exc_info())
        return [b"recovered"]
    if path == "/exc-info-late":
        start_response("200 OK", TEXT)

        def late() -> Iterator[bytes]:
            yield b"head is out"
            try:
                raise ValueError("too late")
            except ValueError:
                start_response("500 Internal Server Error", TEXT, sys.exc_info())
            yield b"never"

        return late()
    if path == "/no-start-response":
        return [b"body"]
    if path == "/bad":
        kind = query["kind"]
        status, headers = "200 OK", list(TEXT)
        if kind == "crlf":
            headers.append(("X-Evil", "a\r\nSet-Cookie: injected=1"))
        elif kind == "nul":
            headers.append(("X-Evil", "a\x00b"))
        elif kind == "latin":
            headers.append(("X-Snowman", "☃"))
        elif kind == "connection":
            headers.append(("Connection", "close"))
        elif kind == "transfer-encoding":
            headers.append(("Transfer-Encoding", "chunked"))
        elif kind == "status":
            status = "OK 200"
        elif kind == "bytes":
            headers.append((b"X-Bytes", b"v"))  # type: ignore[arg-type]
        start_response(status, headers)
        if query.get("stream"):
            return iter([b"a", b"b"])
        return [b"should not be sent"]
    if path == "/cl-short":
        start_response("200 OK", [*TEXT, ("Content-Length", "10")])
        return iter([b"12345"])
    if path == "/cl-long":
        start_response("200 OK", [*TEXT, ("Content-Length", "5")])
        return Tracked("cl-long", iter([b"12345", b"67890", b"more"]))
    if path == "/sendfile":
        size = int(query.get("size", "1000000"))
        headers = list(TEXT)
        if query.get("length"):
            headers.append(("Content-Length", query["length"]))
        start_response("200 OK", headers)
        probe = FileProbe(make_file(size))
        if query.get("offset"):
            probe.file.seek(int(query["offset"]))
        return environ["wsgi.file_wrapper"](probe.file if query.get("plain") else probe)
    if path == "/endless":
        start_response("200 OK", TEXT)
        return Tracked("endless", endless(int(query.get("size", "65536"))))
    if path == "/write-endless":
        write = start_response("200 OK", TEXT)
        block = b"w" * 65536
        try:
            while True:
                write(block)
        except OSError as exc:
            record("write-endless", type(exc).__name__)
            raise
    start_response("404 Not Found", TEXT)
    return [b"not found"]
