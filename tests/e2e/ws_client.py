"""Raw-socket WebSocket helpers for the e2e tests (frames built by ``websockets``' sans-IO codec)."""

from __future__ import annotations

import base64
import os
import socket

from websockets.frames import Close
from websockets.protocol import OPEN, Protocol, Side


def open_raw(
    port: int, path: str = "/", extra: bytes = b"", timeout: float = 10.0
) -> socket.socket:
    """Connect and complete a WebSocket handshake by hand; the 101 head is consumed."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sock.sendall(handshake_request(path, extra))
    head = read_head(sock)
    assert head.startswith(b"HTTP/1.1 101 "), head
    return sock


def handshake_request(path: str = "/", extra: bytes = b"") -> bytes:
    key = base64.b64encode(os.urandom(16))
    return (
        b"GET " + path.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\n"
        b"Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: "
        + key
        + b"\r\n"
        + extra
        + b"\r\n"
    )


def read_head(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        more = sock.recv(1)
        if not more:
            break
        data += more
    return data


def read_all(sock: socket.socket) -> bytes:
    """Everything until the server closes (bounded by the socket's timeout)."""
    chunks: list[bytes] = []
    while True:
        data = sock.recv(65536)
        if not data:
            return b"".join(chunks)
        chunks.append(data)


def client_codec() -> Protocol:
    return Protocol(Side.CLIENT, state=OPEN, max_size=None)


def frames_from_server(data: bytes) -> list[object]:
    codec = client_codec()
    codec.receive_data(data)
    return list(codec.events_received())


def close_code(frame_data: bytes) -> int:
    return Close.parse(frame_data).code
