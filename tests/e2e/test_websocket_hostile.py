"""WebSocket clients that attack memory: they send and never read (issue 10).

Each test measures the server's resident memory (the server and its workers) with psutil while a
raw-socket client floods it, then checks a well-behaved client is still served.
"""

from __future__ import annotations

import socket
import struct

import psutil
from websockets.frames import Opcode
from websockets.sync.client import connect

from tests.e2e.ws_client import client_codec, close_code, frames_from_server, open_raw, read_all
from tests.support.server import RunningServer, serve

APP = "ws_echo:app"
MiB = 1024 * 1024


def server_rss(running: RunningServer) -> int:
    process = psutil.Process(running.process.pid)
    return sum(p.memory_info().rss for p in [process, *process.children(recursive=True)])


def masked_frame(opcode: int, payload: bytes, fin: bool = True) -> bytes:
    """A client frame built by hand; the all-zero mask key leaves the payload as it is."""
    assert len(payload) < 126
    return (
        struct.pack("!BB", (0x80 if fin else 0) | opcode, 0x80 | len(payload)) + bytes(4) + payload
    )


def assert_control_client_served(running: RunningServer) -> None:
    with connect(f"ws://127.0.0.1:{running.port}/echo", open_timeout=10) as ws:
        ws.send("still served")
        assert ws.recv(timeout=10) == "still served"


def read_pong(sock: socket.socket, payload: bytes) -> None:
    """Read frames until the pong for ``payload`` (everything sent before it was processed)."""
    codec = client_codec()
    while True:
        data = sock.recv(65536)
        assert data, "the server closed the connection"
        codec.receive_data(data)
        for frame in codec.events_received():
            if frame.opcode is Opcode.PONG and frame.data == payload:  # type: ignore[union-attr]
                return


def test_ping_flood_from_a_client_that_never_reads_is_bounded() -> None:
    with serve(APP, "--write-buffer-size", "65536") as running:
        running.wait_ready()
        sock = open_raw(running.port, "/echo", timeout=3)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        before = server_rss(running)
        batch = masked_frame(Opcode.PING.value, b"p" * 125) * 8000  # ~1 MiB of pings
        sent = 0
        blocked = False
        try:
            while sent < 48 * MiB:  # each ping makes a 127-byte pong nobody reads
                sock.sendall(batch)
                sent += len(batch)
        except TimeoutError:
            blocked = True  # the server stopped reading: our send blocks
        growth = server_rss(running) - before
        sock.close()
        assert blocked, f"the server read all {sent} bytes of pings from a client that never reads"
        assert growth < 16 * MiB, f"the server grew by {growth / MiB:.1f} MiB"
        assert_control_client_served(running)


def one_byte_frames(message: bytes) -> tuple[bytes, bytes]:
    """A binary message as one-byte frames: all but the last frame, and the last."""
    first = masked_frame(Opcode.BINARY.value, message[:1], fin=False)
    rest = b"".join(
        masked_frame(0, message[i : i + 1], fin=False) for i in range(1, len(message) - 1)
    )
    return first + rest, masked_frame(0, message[-1:])


def read_binary(sock: socket.socket) -> bytes:
    codec = client_codec()
    while True:
        data = sock.recv(MiB)
        assert data, "the server closed the connection"
        codec.receive_data(data)
        for frame in codec.events_received():
            if frame.opcode is Opcode.BINARY:  # type: ignore[union-attr]
                return frame.data  # type: ignore[union-attr,no-any-return]


def test_one_byte_fragments_cost_memory_proportional_to_the_message() -> None:
    with serve(APP, "--ws-max-size", str(2 * MiB)) as running:
        running.wait_ready()
        sock = open_raw(running.port, "/echo", timeout=10)
        # Warm up: what reading and parsing a burst of frames costs does not grow with messages.
        small = bytes(range(256)) * 2048  # 512 KiB
        head, last = one_byte_frames(small)
        sock.sendall(head + last)
        assert read_binary(sock) == small
        message = bytes(range(256)) * (MiB // 256)
        head, last = one_byte_frames(message)
        before = server_rss(running)
        sock.sendall(head + masked_frame(Opcode.PING.value, b"mark"))
        read_pong(sock, b"mark")  # all fragments but the last are held by the server now
        growth = server_rss(running) - before
        sock.sendall(last)
        echoed = read_binary(sock)
        sock.close()
        assert echoed == message
        assert growth < 6 * MiB, (
            f"a 1 MiB message in 1-byte frames grew the server {growth / MiB:.1f} MiB"
        )
        assert_control_client_served(running)


def test_one_byte_fragments_over_the_size_limit_close_1009() -> None:
    with serve(APP, "--ws-max-size", str(64 * 1024)) as running:
        running.wait_ready()
        sock = open_raw(running.port, "/echo", timeout=10)
        frames = [masked_frame(Opcode.TEXT.value, b"x", fin=False)]
        frames += [masked_frame(0, b"x", fin=False)] * (64 * 1024)
        try:
            sock.sendall(b"".join(frames))
        except OSError:
            pass  # the server may close before reading everything
        data = read_all(sock)
        sock.close()
        closes = [f for f in frames_from_server(data) if f.opcode is Opcode.CLOSE]  # type: ignore[attr-defined]
        assert closes
        assert close_code(closes[0].data) == 1009  # type: ignore[attr-defined]
        running.wait_for_log("ws-event: disconnect /echo 1009")
        assert_control_client_served(running)


def test_keepalive_still_drops_a_client_that_stopped_reading() -> None:
    # Reading pauses while the write buffer is full; that must not shield a dead client from the
    # keep-alive ping timeout (the app would wait in send() forever).
    args = ("--write-buffer-size", "65536", "--ws-ping-interval", "0.3", "--ws-ping-timeout", "0.5")
    with serve(APP, *args) as running:
        running.wait_ready()
        sock = open_raw(running.port, "/slow", timeout=10)
        try:
            running.wait_for_log("ws-event: sent 10")
            running.wait_for_log("ws-event: slow send raised after", timeout=10)
        finally:
            sock.close()
        assert "slow done" not in running.log()
        assert_control_client_served(running)
