"""WebSockets end to end: a real forno server and the ``websockets`` client (or raw sockets)."""

from __future__ import annotations

import signal
import socket
from collections.abc import Iterator

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.frames import CloseCode, Opcode
from websockets.sync.client import connect

from tests.e2e.ws_client import (
    client_codec,
    close_code,
    frames_from_server,
    handshake_request,
    open_raw,
    read_all,
    read_head,
)
from tests.support.server import RunningServer, serve

APP = "ws_echo:app"


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    with serve(APP, "--ws-max-size", "1048576") as running:
        running.wait_ready()
        yield running


def url(server: RunningServer, path: str = "/echo") -> str:
    return f"ws://127.0.0.1:{server.port}{path}"


def test_echo_text_binary_large_and_fragmented(server: RunningServer) -> None:
    with connect(url(server), max_size=None, open_timeout=10) as ws:
        ws.send("héllo")
        assert ws.recv(timeout=10) == "héllo"
        ws.send(b"\x00\xff")
        assert ws.recv(timeout=10) == b"\x00\xff"
        ws.send("")
        assert ws.recv(timeout=10) == ""
        big = bytes(range(256)) * 4000  # ~1 MB, under --ws-max-size
        ws.send(big)
        assert ws.recv(timeout=10) == big
        ws.send(["frag", "mented ", "tëxt"])
        assert ws.recv(timeout=10) == "fragmented tëxt"
        ws.send([b"a", b"b", b"c"])
        assert ws.recv(timeout=10) == b"abc"


def test_subprotocol_headers_and_scope(server: RunningServer) -> None:
    with connect(url(server), subprotocols=["chat", "v2"], open_timeout=10) as ws:  # type: ignore[list-item]
        assert ws.subprotocol == "chat"
    with connect(url(server, "/scope?x=1"), open_timeout=10) as ws:
        assert ws.response is not None
        assert ws.response.headers["x-forno-test"] == "1"
        info = ws.recv(timeout=10)
    assert "'type': 'websocket'" in str(info)
    assert "'scheme': 'ws'" in str(info)
    assert "'query_string': 'x=1'" in str(info)
    assert "'extensions': ['websocket.http.response']" in str(info)
    assert "'state': {'greeting': 'hello'}" in str(info)


def test_compression_negotiated_by_default(server: RunningServer) -> None:
    with connect(url(server), open_timeout=10) as ws:
        assert ws.response is not None
        assert "permessage-deflate" in ws.response.headers.get("sec-websocket-extensions", "")
        ws.send("z" * 100000)
        assert ws.recv(timeout=10) == "z" * 100000
    with connect(url(server), compression=None, open_timeout=10) as ws:
        assert ws.response is not None
        assert "sec-websocket-extensions" not in ws.response.headers


def test_compression_off() -> None:
    with (
        serve(APP, "--no-ws-per-message-deflate") as running,
        connect(url(running), open_timeout=10) as ws,
    ):
        assert ws.response is not None
        assert "sec-websocket-extensions" not in ws.response.headers
        ws.send("plain")
        assert ws.recv(timeout=10) == "plain"


def test_denial_response(server: RunningServer) -> None:
    with pytest.raises(InvalidStatus) as info:
        connect(url(server, "/deny"), open_timeout=10)
    response = info.value.response
    assert response.status_code == 401
    assert response.headers["x-denied"] == "yes"
    assert response.body == b"go away"


@pytest.mark.parametrize(
    ("path", "status"), [("/refuse", 403), ("/crash", 500), ("/deny-invalid", 500)]
)
def test_refused_before_accept(server: RunningServer, path: str, status: int) -> None:
    with pytest.raises(InvalidStatus) as info:
        connect(url(server, path), open_timeout=10)
    assert info.value.response.status_code == status
    if path == "/deny-invalid":
        server.wait_for_log("ws-event: deny-invalid raised ASGIProtocolError")


@pytest.mark.parametrize(
    ("extra", "status"),
    [
        (b"Sec-WebSocket-Version: 8\r\n", None),  # a second version header: 426 below
        (b"", 101),
    ],
)
def test_raw_handshake_status(server: RunningServer, extra: bytes, status: int | None) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(handshake_request("/echo", extra))
        head = read_head(sock)
    if status is None:
        assert head.startswith(b"HTTP/1.1 426 "), head
        assert b"sec-websocket-version: 13" in head.lower()
    else:
        assert head.startswith(b"HTTP/1.1 101 "), head


def test_invalid_key_is_400(server: RunningServer) -> None:
    request = (
        b"GET /echo HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
        b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: c2hvcnQ=\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(request)
        data = read_all(sock)
    assert data.startswith(b"HTTP/1.1 400 "), data


def test_other_upgrade_is_plain_http(server: RunningServer) -> None:
    request = b"GET /x HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n"
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(request)
        data = read_all(sock)
    assert data.startswith(b"HTTP/1.1 200 "), data
    assert data.endswith(b"plain http")


def test_client_close_code_and_reason_reach_the_app(server: RunningServer) -> None:
    with connect(url(server, "/client-close"), open_timeout=10) as ws:
        ws.close(4001, "bye now")
    server.wait_for_log("ws-event: disconnect /client-close 4001 'bye now'")


def test_server_close_code_and_reason_reach_the_client(server: RunningServer) -> None:
    with connect(url(server, "/server-close"), open_timeout=10) as ws:
        ws.send("close:4002:done here")
        with pytest.raises(ConnectionClosed) as info:
            ws.recv(timeout=10)
    assert info.value.rcvd is not None
    assert info.value.rcvd.code == 4002
    assert info.value.rcvd.reason == "done here"
    server.wait_for_log("ws-event: disconnect /server-close 4002 'done here'")


def test_tcp_drop_reaches_the_app(server: RunningServer) -> None:
    sock = open_raw(server.port, "/dropped")
    sock.close()
    server.wait_for_log("ws-event: disconnect /dropped 1006 ''")


def test_max_size_closes_1009(server: RunningServer) -> None:
    for compression in ("deflate", None):
        with connect(url(server), compression=compression, open_timeout=10, max_size=None) as ws:
            ws.send("q" * (1048576 + 1))  # compresses to almost nothing: checked decompressed
            with pytest.raises(ConnectionClosed) as info:
                ws.recv(timeout=10)
        assert info.value.rcvd is not None
        assert info.value.rcvd.code == CloseCode.MESSAGE_TOO_BIG


def test_send_after_close_raises_in_the_app(server: RunningServer) -> None:
    with connect(url(server, "/send-after-close"), open_timeout=10) as ws:
        ws.close()
    server.wait_for_log("ws-event: after-close got websocket.disconnect")
    server.wait_for_log("ws-event: send raised ClientDisconnected")
    server.wait_for_log("ws-event: receive again websocket.disconnect")
    # The worker is unharmed.
    with connect(url(server), open_timeout=10) as ws:
        ws.send("still here")
        assert ws.recv(timeout=10) == "still here"


def test_ping_timeout_drops_a_silent_peer() -> None:
    with serve(APP, "--ws-ping-interval", "0.3", "--ws-ping-timeout", "0.5") as running:
        running.wait_ready()
        sock = open_raw(running.port, "/silent")
        try:
            # The peer never answers the ping: the app is told, and the socket is closed.
            running.wait_for_log("ws-event: disconnect /silent 1006 ''")
            data = read_all(sock)
        finally:
            sock.close()
        opcodes = [frame.opcode for frame in frames_from_server(data)]  # type: ignore[attr-defined]
        assert Opcode.PING in opcodes
        # A live client that answers pings stays connected across several intervals.
        with connect(url(running), open_timeout=10) as ws:
            for _ in range(3):
                ws.send("ping me")
                assert ws.recv(timeout=10) == "ping me"
                ws.ping().wait(10)


def test_reading_pauses_when_the_app_does_not_read() -> None:
    with serve(APP, "--ws-max-queue", "4", "--graceful-timeout", "2") as running:
        running.wait_ready()
        sock = open_raw(running.port, "/ignore", timeout=3)
        running.wait_for_log("ws-event: not reading")
        codec = client_codec()
        payload = b"m" * 65536
        sent = 0
        blocked = False
        try:
            while sent < 2000:  # 128 MiB: far more than socket buffers hold
                codec.send_binary(payload)
                for data in codec.data_to_send():
                    sock.sendall(data)
                sent += 1
        except TimeoutError:
            blocked = True  # the server stopped reading: our send blocks
        finally:
            sock.close()
        assert blocked, f"the server read all {sent} messages the app never asked for"


def test_slow_client_blocks_the_apps_send() -> None:
    with serve(APP, "--write-buffer-size", "65536") as running:
        running.wait_ready()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        sock.settimeout(10)
        sock.connect(("127.0.0.1", running.port))
        sock.sendall(handshake_request("/slow"))
        assert read_head(sock).startswith(b"HTTP/1.1 101 ")
        running.wait_for_log("ws-event: sent 10")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        sock.close()  # reset: the blocked send fails instead of completing 2000 messages
        log = running.wait_for_log("ws-event: slow send raised after")
        assert "slow done" not in log


def test_graceful_shutdown_closes_with_1012() -> None:
    with serve(APP, "--graceful-timeout", "5") as running:
        running.wait_ready()
        with connect(url(running, "/shutdown"), open_timeout=10) as ws:
            ws.send("before")
            assert ws.recv(timeout=10) == "before"
            running.signal(signal.SIGTERM)
            with pytest.raises(ConnectionClosed) as info:
                ws.recv(timeout=10)
        assert info.value.rcvd is not None
        assert info.value.rcvd.code == CloseCode.SERVICE_RESTART
        assert running.process.wait(10) == 0
        assert "ws-event: disconnect /shutdown 1012" in running.log()


def test_protocol_error_closes_1002_and_reaches_the_app_once(server: RunningServer) -> None:
    sock = open_raw(server.port, "/protocol-error")
    try:
        sock.sendall(b"\x81\x02hi")  # an unmasked client frame: a protocol error
        frames = frames_from_server(read_all(sock))
    finally:
        sock.close()
    closes = [frame for frame in frames if frame.opcode is Opcode.CLOSE]  # type: ignore[attr-defined]
    assert len(closes) == 1
    assert close_code(closes[0].data) == CloseCode.PROTOCOL_ERROR  # type: ignore[attr-defined]
    log = server.wait_for_log("ws-event: disconnect /protocol-error 1002")
    assert log.count("disconnect /protocol-error") == 1


def test_ws_off_answers_upgrades_as_http() -> None:
    with (
        serve(APP, "--no-ws") as running,
        socket.create_connection(("127.0.0.1", running.port), timeout=10) as sock,
    ):
        sock.sendall(handshake_request("/echo"))
        data = read_all(sock)
    assert data.startswith(b"HTTP/1.1 200 "), data
    assert data.endswith(b"plain http")
