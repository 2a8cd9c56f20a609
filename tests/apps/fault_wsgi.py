"""A plain WSGI app for tests/e2e/test_faults.py: resets, slow clients, app faults.

What happens out of the client's sight is printed as a ``fault: ...`` line (the server's output is
the test's log), tagged with the ``id`` query parameter. ``/fault/<kind>`` misbehaves in the way
``kind`` names and lets the error propagate.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from urllib.parse import parse_qs

StartResponse = Callable[..., Any]
TEXT = [("Content-Type", "text/plain")]
BLOCK = b"s" * 65536
_release = threading.Event()  # never set: /hang waits on it (bounded)


def report(text: str) -> None:
    print(f"fault: {text}", flush=True)


class Streamed:
    """``size`` bytes in blocks; reports its first piece and its ``close()``."""

    def __init__(self, tag: str, size: int) -> None:
        self.tag = tag
        self.size = size
        self.sent = 0

    def __iter__(self) -> Iterator[bytes]:
        while self.sent < self.size:
            piece = BLOCK[: min(len(BLOCK), self.size - self.sent)]
            self.sent += len(piece)
            yield piece
            if self.sent == len(piece):
                report(f"stream started {self.tag}")

    def close(self) -> None:
        report(f"stream closed {self.tag} after {self.sent}")


class CloseRaises:
    """An iterable whose ``close()`` raises."""

    def __init__(self, items: list[bytes]) -> None:
        self.items = items

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.items)

    def close(self) -> None:
        raise RuntimeError("fault close-raises")


def upload(environ: dict[str, Any], start_response: StartResponse, tag: str) -> list[bytes]:
    stream = environ["wsgi.input"]
    total = 0
    try:
        while data := stream.read(65536):
            total += len(data)
            if total == len(data):
                report(f"upload receiving {tag}")
    except OSError as exc:
        report(f"upload disconnected {tag} after {total}: {type(exc).__name__}")
        raise
    start_response("200 OK", TEXT)
    return [b"%d" % total]


def fault(kind: str, start_response: StartResponse) -> Iterable[bytes]:
    if kind == "iter-first-raises":
        start_response("200 OK", TEXT)

        def first() -> Iterator[bytes]:
            if kind:  # always: a generator that raises before its first item
                raise RuntimeError("fault iter-first-raises")
            yield b"never"  # pragma: no cover

        return first()
    if kind == "close-raises":
        start_response("200 OK", TEXT)
        return CloseRaises([b"a", b"b"])
    if kind == "close-raises-streaming":
        start_response("200 OK", TEXT)
        return CloseRaises([b"a" * 1000, b"b" * 1000, b"c"])
    if kind == "write-then-raise":
        write = start_response("200 OK", TEXT)
        write(b"written")
        raise RuntimeError("fault write-then-raise")
    if kind == "write-not-bytes":
        write = start_response("200 OK", TEXT)
        write(b"ok")
        write("text")
        return []
    if kind == "write-after-exc-info":
        start_response("200 OK", TEXT)
        try:
            raise ValueError("handled before the head")
        except ValueError:
            write = start_response("503 Service Unavailable", TEXT, sys.exc_info())
        write(b"recovered")
        return []
    if kind == "returns-none":
        start_response("200 OK", TEXT)
        return None  # type: ignore[return-value]
    if kind == "item-str":
        start_response("200 OK", TEXT)
        return iter(["text"])  # type: ignore[return-value]
    if kind == "start-twice":
        start_response("200 OK", TEXT)
        start_response("200 OK", TEXT)
        return [b"never"]
    if kind == "exc-info-reraise":
        start_response("200 OK", TEXT)

        def late() -> Iterator[bytes]:
            yield b"head is out"
            try:
                raise ValueError("fault exc-info-reraise")
            except ValueError:
                start_response("500 Internal Server Error", TEXT, sys.exc_info())
            yield b"never"

        return late()
    if kind == "status-int":
        start_response(200, TEXT)
        return [b"x"]
    if kind == "headers-tuple":
        start_response("200 OK", tuple(TEXT))
        return [b"x"]
    start_response("404 Not Found", TEXT)
    return [b"unknown fault"]


def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    path = environ["PATH_INFO"]
    query = {key: values[0] for key, values in parse_qs(environ["QUERY_STRING"]).items()}
    tag = query.get("id", "-")
    if path == "/fast":
        start_response("200 OK", [*TEXT, ("Content-Length", "4")])
        return [b"fast"]
    if path == "/mark":
        report(f"mark {tag}")
        start_response("200 OK", TEXT)
        return [b"mark"]
    if path == "/upload":
        return upload(environ, start_response, tag)
    if path == "/stream":
        start_response("200 OK", TEXT)
        return Streamed(tag, int(query.get("size", str(200 * 1024 * 1024))))
    if path == "/hang":
        report(f"hang started {tag}")
        _release.wait(30)
        start_response("200 OK", TEXT)
        return [b"late"]
    if path.startswith("/fault/"):
        return fault(path[len("/fault/") :], start_response)
    start_response("404 Not Found", TEXT)
    return [b"not found"]
