"""Raw-socket HTTP/1.1 exchanges for tests, with h11 as the strict reference parser."""

from __future__ import annotations

import socket
from dataclasses import dataclass, field

import h11

TIMEOUT = 10.0


@dataclass
class RawResponse:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes = b""
    http_version: bytes = b"1.1"

    def header(self, name: bytes) -> bytes | None:
        for key, value in self.headers:
            if key == name.lower():
                return value
        return None

    def header_all(self, name: bytes) -> list[bytes]:
        return [value for key, value in self.headers if key == name.lower()]


@dataclass
class RawResult:
    responses: list[RawResponse] = field(default_factory=list)
    informational: list[int] = field(default_factory=list)
    closed: bool = False


def connect(port: int, host: str = "127.0.0.1", timeout: float = TIMEOUT) -> socket.socket:
    sock = socket.create_connection((host, port), timeout=timeout)
    sock.settimeout(timeout)
    return sock


def send_until_refused(sock: socket.socket, data: bytes, times: int) -> None:
    """Send ``data`` up to ``times`` times, stopping quietly once the server refuses more."""
    try:
        for _ in range(times):
            sock.sendall(data)
    except (BrokenPipeError, ConnectionResetError):
        pass


def read_responses(
    sock: socket.socket,
    count: int,
    *,
    head_methods: tuple[bool, ...] = (),
    wait_close: bool = False,
) -> RawResult:
    """Read ``count`` responses (and, with ``wait_close``, wait for EOF); bounded by the timeout."""
    result = RawResult()
    conn = h11.Connection(h11.CLIENT)
    index = 0
    current: RawResponse | None = None
    while index < count:
        # h11 only parses responses to requests it has seen; tell it about a request each time.
        if conn.our_state is h11.IDLE:
            method = b"HEAD" if index < len(head_methods) and head_methods[index] else b"GET"
            conn.send(h11.Request(method=method, target="/", headers=[("Host", "x")]))
            conn.send(h11.EndOfMessage())
        event = conn.next_event()
        if event is h11.NEED_DATA:
            try:
                data = sock.recv(65536)
            except (ConnectionResetError, TimeoutError):
                data = b""
            if not data:
                result.closed = True
                conn.receive_data(b"")
                try:
                    event = conn.next_event()
                except h11.RemoteProtocolError:
                    break
                if event is h11.NEED_DATA or isinstance(event, h11.ConnectionClosed):
                    break
            else:
                conn.receive_data(data)
                continue
        if isinstance(event, h11.InformationalResponse):
            result.informational.append(event.status_code)
        elif isinstance(event, h11.Response):
            current = RawResponse(event.status_code, list(event.headers), b"", event.http_version)
        elif isinstance(event, h11.Data) and current is not None:
            current.body += bytes(event.data)
        elif isinstance(event, h11.EndOfMessage) and current is not None:
            result.responses.append(current)
            current = None
            index += 1
            if conn.our_state is h11.MUST_CLOSE or conn.their_state is h11.MUST_CLOSE:
                break
            conn.start_next_cycle()
        elif isinstance(event, h11.ConnectionClosed):
            result.closed = True
            break
    if wait_close and not result.closed:
        result.closed = wait_for_close(sock)
    return result


def wait_for_close(sock: socket.socket) -> bool:
    """True when the server closes the connection (EOF or reset) within the timeout."""
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                return True
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def exchange(
    port: int,
    data: bytes,
    count: int = 1,
    *,
    head_methods: tuple[bool, ...] = (),
    wait_close: bool = False,
) -> RawResult:
    with connect(port) as sock:
        sock.sendall(data)
        return read_responses(sock, count, head_methods=head_methods, wait_close=wait_close)
