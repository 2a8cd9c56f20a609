"""Every limit and timeout holds, with a small setting so the tests stay quick."""

from __future__ import annotations

import json
import socket
import time

import httpx

from tests.support.raw import (
    connect,
    exchange,
    read_responses,
    send_until_refused,
    wait_for_close,
)
from tests.support.server import serve


def test_header_size_limit_431() -> None:
    with serve("basic_asgi:app", "--max-header-size", "2048") as server:
        ok = exchange(
            server.port, b"GET /fast HTTP/1.1\r\nHost: x\r\nX-A: " + b"a" * 1000 + b"\r\n\r\n"
        )
        assert ok.responses[0].status == 200
        big = exchange(
            server.port,
            b"GET /fast HTTP/1.1\r\nHost: x\r\nX-A: " + b"a" * 4000 + b"\r\n\r\n",
            wait_close=True,
        )
        assert big.responses[0].status == 431
        assert big.closed
        long_line = exchange(server.port, b"GET /" + b"a" * 4000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        assert long_line.responses[0].status == 414


def test_endless_header_is_cut_off_without_buffering_it() -> None:
    with (
        serve("basic_asgi:app", "--max-header-size", "1024") as server,
        connect(server.port) as sock,
    ):
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Endless: ")
        send_until_refused(sock, b"a" * 4096, 200)
        result = read_responses(sock, 1, wait_close=True)
        assert result.closed
        assert not result.responses or result.responses[0].status == 431


def test_header_count_limit_431() -> None:
    with serve("basic_asgi:app", "--max-header-count", "10") as server:
        headers = b"".join(b"X-%d: v\r\n" % i for i in range(20))
        result = exchange(server.port, b"GET /fast HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\n")
        assert result.responses[0].status == 431


def test_body_size_limit_413_for_length_and_chunked() -> None:
    with serve("basic_asgi:app", "--max-body-size", "1000") as server:
        declared = exchange(
            server.port,
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n",
            wait_close=True,
        )
        assert declared.responses[0].status == 413
        assert declared.closed
        chunked = b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        chunked += b"".join(b"100\r\n" + b"z" * 256 + b"\r\n" for _ in range(8)) + b"0\r\n\r\n"
        streamed = exchange(server.port, chunked, wait_close=True)
        assert streamed.responses[0].status == 413
        assert httpx.post(server.url + "/echo", content=b"q" * 999).content == b"q" * 999


def test_header_timeout_cuts_off_slow_sender() -> None:
    with serve("basic_asgi:app", "--header-timeout", "1") as server, connect(server.port) as sock:
        started = time.monotonic()
        request = b"GET /fast HTTP/1.1\r\nHost: x\r\n\r\n"
        cut_off = False
        for byte in request:
            try:
                sock.sendall(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                cut_off = True
                break
            # One byte a second: the slowloris pattern the timeout exists for.
            sock.settimeout(1.0)
            try:
                data = sock.recv(4096)
            except TimeoutError:
                continue
            assert data.startswith(b"HTTP/1.1 408 ")
            cut_off = True
            break
        elapsed = time.monotonic() - started
        assert cut_off
        assert elapsed < 5


def test_keep_alive_timeout_closes_idle_connection() -> None:
    with (
        serve("basic_asgi:app", "--keep-alive-timeout", "0.5") as server,
        connect(server.port) as sock,
    ):
        sock.sendall(b"GET /fast HTTP/1.1\r\nHost: x\r\n\r\n")
        assert read_responses(sock, 1).responses[0].body == b"fast"
        started = time.monotonic()
        assert wait_for_close(sock)
        assert time.monotonic() - started < 4


def test_max_requests_per_connection() -> None:
    with serve("basic_asgi:app", "--max-requests-per-connection", "2") as server:
        request = b"GET /fast HTTP/1.1\r\nHost: x\r\n\r\n"
        result = exchange(server.port, request * 3, 3, wait_close=True)
        assert len(result.responses) == 2
        assert result.responses[1].header(b"connection") == b"close"
        assert result.closed


def test_max_connections_answers_503() -> None:
    with serve("basic_asgi:app", "--max-connections", "2") as server:
        held = [connect(server.port) for _ in range(2)]
        try:
            for sock in held:
                sock.sendall(b"GET /fast HTTP/1.1\r\nHost: x\r\n\r\n")
                assert read_responses(sock, 1).responses[0].status == 200
            extra = exchange(server.port, b"GET /fast HTTP/1.1\r\nHost: x\r\n\r\n", wait_close=True)
            assert extra.responses[0].status == 503
        finally:
            for sock in held:
                sock.close()


def test_max_in_flight_answers_503_not_hang() -> None:
    with serve("basic_asgi:app", "--max-in-flight", "1") as server:
        slow = connect(server.port)
        try:
            slow.sendall(b"GET /wait-disconnect HTTP/1.1\r\nHost: x\r\n\r\n")
            # The first request occupies the only slot until its client goes away.
            deadline = time.monotonic() + 10
            status = 0
            while time.monotonic() < deadline:
                status = httpx.get(server.url + "/fast").status_code
                if status == 503:
                    break
            assert status == 503
        finally:
            slow.close()
        server.wait_for_log("long poll saw disconnect")
        assert httpx.get(server.url + "/fast").status_code == 200


def test_slow_body_reader_pauses_socket() -> None:
    # A client uploading faster than the app reads must not make the server buffer the whole
    # body: with a 64 KiB buffer and an app that does not read, a 64 MiB upload stalls once the
    # kernel buffers are full. Were the server reading everything, sendall would finish.
    with (
        serve("basic_asgi:app", "--body-buffer-size", "65536") as server,
        connect(server.port) as sock,
    ):
        sock.sendall(b"POST /slow?3 HTTP/1.1\r\nHost: x\r\nContent-Length: 67108864\r\n\r\n")
        sock.settimeout(1.5)
        block = b"u" * 65536
        sent = 0
        stalled = False
        try:
            while sent < 67108864:
                sock.sendall(block)
                sent += len(block)
        except TimeoutError:
            stalled = True
        assert stalled
        assert sent < 32 * 1024 * 1024
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        sock.close()


def test_header_limits_hold_for_pipelined_requests_in_one_read() -> None:
    with serve("basic_asgi:app", "--max-header-size", "2048", "--max-header-count", "10") as server:
        small = b"GET /fast HTTP/1.1\r\nHost: x\r\n\r\n"
        big = b"GET /fast HTTP/1.1\r\nHost: x\r\nX-A: " + b"a" * 3000 + b"\r\n\r\n"
        result = exchange(server.port, small + big, 2, wait_close=True)
        assert [r.status for r in result.responses] == [200, 431]
        many = b"GET /fast HTTP/1.1\r\nHost: x\r\n" + b"X-B: 1\r\n" * 12 + b"\r\n"
        result = exchange(server.port, small + many, 2, wait_close=True)
        assert [r.status for r in result.responses] == [200, 431]


def test_trailers_never_reach_the_wsgi_environ() -> None:
    with serve("wsgi_behaviour:app") as server:
        result = exchange(
            server.port,
            b"POST /environ HTTP/1.1\r\nHost: good\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"3\r\nabc\r\n0\r\nHost: evil\r\nX-Trailer: t\r\n\r\n",
        )
        environ = json.loads(result.responses[0].body)
        assert environ["HTTP_HOST"] == "good"
        assert environ["SERVER_NAME"] == "good"
        assert "HTTP_X_TRAILER" not in environ


def test_trailer_flood_431() -> None:
    with serve("basic_asgi:app", "--max-header-count", "10") as server:
        trailers = b"".join(b"X-%d: v\r\n" % i for i in range(50))
        result = exchange(
            server.port,
            b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"3\r\nabc\r\n0\r\n" + trailers + b"\r\n",
            wait_close=True,
        )
        assert result.closed
        assert not result.responses or result.responses[0].status == 431


def test_endless_chunk_extension_400() -> None:
    with serve("basic_asgi:app") as server, connect(server.port) as sock:
        sock.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3;e=")
        send_until_refused(sock, b"a" * 4096, 100)
        # A recv timeout also reads as "closed" here, so the server must close well before it.
        sock.settimeout(3.0)
        started = time.monotonic()
        result = read_responses(sock, 1, wait_close=True)
        assert result.closed
        assert time.monotonic() - started < 2.5
        assert not result.responses or result.responses[0].status == 400
