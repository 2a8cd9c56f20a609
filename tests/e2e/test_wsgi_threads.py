"""The WSGI thread pool: bounded concurrency, slow clients hold no thread, graceful shutdown."""

from __future__ import annotations

import json
import signal
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.support.raw import connect
from tests.support.server import RunningServer, serve


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    with serve("wsgi_behaviour:app", "--threads", "4") as running:
        running.wait_ready()
        yield running


def test_four_threads_run_eight_sleeps_in_two_rounds(server: RunningServer) -> None:
    # Warm the pool up so thread start-up does not count.
    with ThreadPoolExecutor(4) as warm:
        list(warm.map(lambda _: httpx.get(server.url + "/sleep?ms=1", timeout=10), range(4)))
    barrier = threading.Barrier(8)

    def one(_: int) -> str:
        with httpx.Client(timeout=10) as client:
            client.get(server.url + "/fast")  # connect first, then start together
            barrier.wait(10)
            response = client.get(server.url + "/sleep?ms=200")
        assert response.status_code == 200
        return str(response.json()["thread"])

    started = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        threads = list(pool.map(one, range(8)))
    elapsed = time.monotonic() - started
    assert elapsed < 1.2, elapsed  # 8 x 200 ms serially would be 1.6 s
    assert elapsed >= 0.38, elapsed  # but only 4 at a time: two rounds
    assert len(set(threads)) == 4
    assert httpx.get(server.url + "/max-active", timeout=10).json() == {"max": 4}


def test_slow_uploads_do_not_starve_a_fast_request(server: RunningServer) -> None:
    sockets: list[socket.socket] = []
    try:
        for index in range(50):
            sock = connect(server.port)
            sock.sendall(
                b"POST /length HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\n"
                + b"t" * (index % 10 + 1)
            )
            sockets.append(sock)
        started = time.monotonic()
        response = httpx.get(server.url + "/fast", timeout=10)
        elapsed = time.monotonic() - started
        assert response.text == "fast"
        assert elapsed < 2.0, elapsed
        for index, sock in enumerate(sockets):
            sock.sendall(b"t" * (100 - (index % 10 + 1)))
        for sock in sockets:
            data = b""
            while b"}" not in data:
                chunk = sock.recv(4096)
                assert chunk, data
                data += chunk
            assert data.startswith(b"HTTP/1.1 200")
            assert json.loads(data.partition(b"\r\n\r\n")[2]) == {"length": 100}
    finally:
        for sock in sockets:
            sock.close()


def test_requests_beyond_the_pool_wait_their_turn(server: RunningServer) -> None:
    # 12 sleeps on 4 threads: none refused, none lost.
    with ThreadPoolExecutor(12) as pool:
        codes = list(
            pool.map(
                lambda _: httpx.get(server.url + "/sleep?ms=50", timeout=10).status_code,
                range(12),
            )
        )
    assert codes == [200] * 12


def test_graceful_shutdown_waits_for_a_running_request() -> None:
    with serve("wsgi_behaviour:app", "--graceful-timeout", "10") as running:
        running.wait_ready()
        results: list[httpx.Response] = []
        thread = threading.Thread(
            target=lambda: results.append(httpx.get(running.url + "/sleep?ms=800", timeout=10))
        )
        thread.start()
        running.wait_for_log("sleep started")
        running.signal(signal.SIGTERM)
        thread.join(10)
        assert running.process.wait(10) == 0
        assert results[0].status_code == 200
        assert "still busy" not in running.log()


def test_graceful_timeout_bounds_the_wait_for_a_stuck_app() -> None:
    with serve("wsgi_behaviour:app", "--graceful-timeout", "0.5") as running:
        running.wait_ready()
        with connect(running.port) as sock:
            sock.sendall(b"GET /sleep?ms=20000 HTTP/1.1\r\nHost: h\r\n\r\n")
            running.wait_for_log("sleep started")
            started = time.monotonic()
            running.signal(signal.SIGTERM)
            assert running.process.wait(10) == 0
            assert time.monotonic() - started < 5
        assert "graceful timeout" in running.log()
