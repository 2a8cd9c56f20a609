"""The two interfaces between a connection (server layer) and an interface adapter (asgi, wsgi).

A connection parses requests and owns the socket; for each request it creates a ``RequestCycle``
through the adapter and feeds it the body. The cycle runs the app and answers through the
connection's ``HTTPChannel``. Neither side knows the other's class, so HTTP/1.1 and (later) HTTP/2
connections serve ASGI and WSGI apps through the same two small interfaces.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from forno.typing import Headers


@dataclass(slots=True)
class RequestHead:
    """A parsed, validated request head."""

    method: str
    http_version: str
    raw_path: bytes
    query: bytes
    headers: Headers
    scheme: str
    client: tuple[str, int] | None
    server: tuple[str, int | None] | None
    root_path: str
    keep_alive: bool = True
    expect_continue: bool = False
    has_body: bool = False
    upgrade: bytes | None = None


class HTTPChannel(Protocol):
    """What a request cycle may ask of the connection it belongs to."""

    def start_response(
        self,
        status: int,
        headers: Headers,
        body: bytes,
        more: bool,
        *,
        strict_hop_by_hop: bool = False,
    ) -> None:
        """Send the head and the first body bytes (raise ``InvalidResponse`` if invalid).

        ``strict_hop_by_hop`` refuses hop-by-hop headers instead of dropping them (WSGI)."""

    def write_body(self, data: bytes, more: bool) -> None:
        """Send more of the body; ``more=False`` completes the response."""

    def drain(self) -> Awaitable[None] | None:
        """An awaitable while the client's buffer is full, else None."""

    def send_file(self, file: Any, offset: int, count: int) -> Awaitable[int] | None:
        """Send ``count`` body bytes of ``file`` from ``offset`` without copying them through
        Python (``os.sendfile``), after ``start_response(..., more=True)``. None where that is not
        possible (TLS, chunked framing): the caller sends the bytes itself. The awaitable gives
        the bytes sent (fewer if the file is shorter); ``more`` stays true, so the caller ends
        the body with ``write_body(b"", False)``."""

    def send_error(self, status: int, message: str) -> None:
        """Answer with a plain error response and close (only before the head was sent)."""

    def abort(self) -> None:
        """Close the connection at once (a response that cannot be completed)."""

    def want_body(self) -> None:
        """The app asked for the body: send ``100 Continue`` if the client expects it."""

    def pause_reading(self) -> None:
        """The cycle's body buffer is full."""

    def resume_reading(self) -> None:
        """The cycle's body buffer has room again."""

    def cycle_done(self, cycle: RequestCycle) -> None:
        """The app has returned; the cycle holds nothing any more."""

    @property
    def response_started(self) -> bool: ...

    @property
    def response_complete(self) -> bool: ...


class RequestCycle(Protocol):
    """One request as the connection drives it."""

    def run(self) -> None:
        """Start the app for this request (called when it is this request's turn)."""

    def on_body(self, data: bytes) -> None:
        """Body bytes arrived."""

    def on_body_end(self) -> None:
        """The whole body has arrived."""

    def on_response_complete(self) -> None:
        """The last response byte was handed to the transport."""

    def on_eof(self) -> None:
        """The client half-closed: it sends nothing more but may still read the answer."""

    def on_disconnect(self) -> None:
        """The client has gone away (or the request broke off): nothing more can be sent."""

    def cancel(self) -> None:
        """Stop the app (graceful shutdown timed out)."""


CycleFactory = Callable[[RequestHead, HTTPChannel], RequestCycle]
