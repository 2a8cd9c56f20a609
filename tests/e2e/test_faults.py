"""Faults and slow clients against a real forno worker, for ASGI and WSGI apps alike.

Client resets at every stage, half-open and idle sockets, slowloris, slow readers, and apps that
fail at every point of their cycle or never answer. Each test checks that the worker keeps
serving, frees what the client held, and logs each app fault exactly once. Events the client
cannot see are printed by the apps (tests/apps/fault_asgi.py, fault_wsgi.py) as ``fault: ...``
lines, which the tests wait for.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import select
import signal
import socket
import struct
import subprocess
import time
from collections.abc import Iterator

import httpx
import psutil
import pytest

from tests.support.processes import wait_until
from tests.support.raw import connect, exchange, read_responses
from tests.support.server import RunningServer, serve

APPS = {"asgi": "fault_asgi:app", "wsgi": "fault_wsgi:app"}
LOG_LEVEL_LINE = re.compile(r"^\S+ \S+ \[\d+\] (?:ERROR|WARNING|CRITICAL) ", re.MULTILINE)
STREAM_END = {"asgi": "stream disconnected", "wsgi": "stream closed"}
MiB = 1024 * 1024


def start(interface: str) -> contextlib.AbstractContextManager[RunningServer]:
    return serve(APPS[interface], "--header-timeout", "2", "--threads", "4")


@pytest.fixture(scope="module")
def asgi_server() -> Iterator[RunningServer]:
    with start("asgi") as running:
        running.wait_ready()
        yield running


@pytest.fixture(scope="module")
def wsgi_server() -> Iterator[RunningServer]:
    with start("wsgi") as running:
        running.wait_ready()
        yield running


@pytest.fixture(params=sorted(APPS))
def server(request: pytest.FixtureRequest) -> RunningServer:
    running: RunningServer = request.getfixturevalue(f"{request.param}_server")
    return running


def kind_of(server: RunningServer) -> str:
    return "asgi" if APPS["asgi"] in server.process.args else "wsgi"  # type: ignore[operator]


def reset(sock: socket.socket) -> None:
    """Close with SO_LINGER 0: the kernel sends RST instead of FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def open_connections(server: RunningServer) -> int:
    """TCP connections the server process holds, besides its listening socket."""
    conns = psutil.Process(server.process.pid).net_connections(kind="tcp")
    return sum(1 for conn in conns if conn.status != psutil.CONN_LISTEN)


def wait_connections(server: RunningServer, count: int, timeout: float = 5.0) -> None:
    wait_until(lambda: open_connections(server) == count, timeout, f"{count} open connections")


def mark(server: RunningServer, token: str) -> None:
    """A request on a fresh connection whose log line orders everything logged before it."""
    assert httpx.get(f"{server.url}/mark", params={"id": token}, timeout=10).text == "mark"
    server.wait_for_log(f"fault: mark {token}")


def log_since(server: RunningServer, offset: int) -> str:
    return server.log()[offset:]


def assert_clean(server: RunningServer, offset: int, token: str) -> None:
    """The worker still answers, holds no connection, and logged nothing since ``offset``."""
    mark(server, token)
    wait_connections(server, 0)
    segment = log_since(server, offset)
    assert "Traceback" not in segment, segment
    assert not LOG_LEVEL_LINE.findall(segment), segment


# ---- client resets ---------------------------------------------------------------------------


def test_reset_in_the_middle_of_a_request_body(server: RunningServer) -> None:
    offset = len(server.log())
    sock = connect(server.port)
    try:
        sock.sendall(b"POST /upload?id=rb HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n")
        # More than the body buffer: the WSGI app is started before the body is complete.
        sock.sendall(b"u" * MiB)
        server.wait_for_log("fault: upload receiving rb")
    finally:
        reset(sock)
    server.wait_for_log("fault: upload disconnected rb")
    assert_clean(server, offset, "after-rb")


def test_reset_in_the_middle_of_a_streaming_response(server: RunningServer) -> None:
    offset = len(server.log())
    sock = connect(server.port)
    try:
        sock.sendall(b"GET /stream?id=rs HTTP/1.1\r\nHost: x\r\n\r\n")
        received = 0
        while received < MiB:
            data = sock.recv(65536)
            assert data
            received += len(data)
    finally:
        reset(sock)
    server.wait_for_log(f"fault: {STREAM_END[kind_of(server)]} rs")
    assert "fault: stream finished rs" not in server.log()
    assert_clean(server, offset, "after-rs")


@pytest.mark.parametrize("sent", [b"", b"GET /fast HTTP/1.1\r\nHo"])
def test_reset_right_after_connecting(server: RunningServer, sent: bytes) -> None:
    offset = len(server.log())
    for _ in range(50):
        sock = socket.create_connection((server.host, server.port), timeout=5)
        if sent:
            sock.sendall(sent)
        reset(sock)
    assert_clean(server, offset, f"after-instant-{len(sent)}")


def test_half_closed_client_gets_its_answer(server: RunningServer) -> None:
    with connect(server.port) as sock:
        sock.sendall(b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 300000\r\n\r\n")
        sock.sendall(b"h" * 300000)
        sock.shutdown(socket.SHUT_WR)
        result = read_responses(sock, 1, wait_close=True)
    assert [(r.status, r.body) for r in result.responses] == [(200, b"300000")]
    assert result.closed


# ---- idle and slow clients -------------------------------------------------------------------


def test_idle_connections_cost_no_cpu_and_are_closed_by_the_header_timeout() -> None:
    header_timeout = 3.0
    with serve(APPS["asgi"], "--header-timeout", str(header_timeout)) as server:
        server.wait_ready()
        process = psutil.Process(server.process.pid)
        assert httpx.get(server.url + "/fast", timeout=10).text == "fast"
        wait_connections(server, 0)
        socks: list[socket.socket] = []
        try:
            opened = time.monotonic()
            for _ in range(200):
                socks.append(socket.create_connection((server.host, server.port), timeout=5))
            wait_connections(server, 200)
            # The server spends (next to) nothing on 200 silent connections.
            before = process.cpu_times()
            window_start = time.monotonic()
            wait_until(lambda: time.monotonic() - window_start >= 1.0, 2, "the CPU window")
            after = process.cpu_times()
            used = (after.user + after.system) - (before.user + before.system)
            assert used < 0.1, f"{used:.3f}s of CPU in 1s for idle connections"
            # Each is closed, without an answer, once the header timeout has passed.
            pending = set(socks)
            deadline = opened + header_timeout + 3
            while pending and time.monotonic() < deadline:
                readable, _, _ = select.select(list(pending), [], [], 0.5)
                for sock in readable:
                    try:
                        data = sock.recv(4096)
                    except ConnectionResetError:
                        data = b""
                    assert data == b"", data
                    pending.discard(sock)
            assert not pending, f"{len(pending)} idle connections still open"
            assert time.monotonic() - opened >= header_timeout - 0.5
            wait_connections(server, 0)
            assert httpx.get(server.url + "/fast", timeout=10).text == "fast"
        finally:
            for sock in socks:
                sock.close()


async def _slowloris(port: int, count: int, seconds: float) -> tuple[list[float], list[float]]:
    """``count`` clients trickle a head one byte at a time while a normal client keeps asking.

    Returns how long each trickler lasted before the server cut it off, and the latency of each
    normal request (a failed one counts as infinite).
    """
    started = time.monotonic()
    cut_off: list[float] = []
    latencies: list[float] = []
    done = asyncio.Event()

    async def trickle() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        opened = time.monotonic()
        head = b"GET /fast HTTP/1.1\r\nHost: x\r\n" + b"X-Slow: " + b"s" * 1000
        try:
            for byte in head:
                writer.write(bytes([byte]))
                await writer.drain()
                with contextlib.suppress(TimeoutError):
                    data = await asyncio.wait_for(reader.read(4096), 0.2)
                    assert data == b"" or data.startswith(b"HTTP/1.1 408 "), data
                    break
                if time.monotonic() - started > seconds:
                    return
        except ConnectionError:
            pass
        finally:
            writer.transport.abort()
        cut_off.append(time.monotonic() - opened)
        if len(cut_off) == count:
            done.set()

    async def normal() -> None:
        while not done.is_set() and time.monotonic() - started < seconds:
            begin = time.monotonic()
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.write(b"GET /fast HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                response = await asyncio.wait_for(reader.read(), 5)
                writer.close()
                ok = response.startswith(b"HTTP/1.1 200 ") and response.endswith(b"fast")
            except (ConnectionError, TimeoutError):
                ok = False
            latencies.append(time.monotonic() - begin if ok else float("inf"))
            await asyncio.sleep(0.05)  # pacing, not synchronisation

    tricklers = [asyncio.create_task(trickle()) for _ in range(count)]
    await asyncio.gather(normal(), *tricklers)
    return cut_off, latencies


def test_slowloris_is_cut_off_while_others_are_served(server: RunningServer) -> None:
    offset = len(server.log())
    cut_off, latencies = asyncio.run(_slowloris(server.port, 150, 8.0))
    assert len(cut_off) == 150, "some trickling clients were never cut off"
    # --header-timeout 2, checked by a 0.25 s ticker.
    assert min(cut_off) >= 1.5
    assert max(cut_off) < 4.5
    assert len(latencies) >= 10
    assert max(latencies) < 1.0, latencies
    assert_clean(server, offset, "after-slowloris")


def rss(server: RunningServer) -> int:
    return int(psutil.Process(server.process.pid).memory_info().rss)


def test_slow_reader_keeps_memory_bounded(server: RunningServer) -> None:
    # Warm the streaming path up, so the baseline includes its code and buffers.
    with httpx.stream("GET", server.url + "/stream", params={"size": 4 * MiB}) as response:
        assert sum(len(piece) for piece in response.iter_bytes()) == 4 * MiB
    baseline = rss(server)
    sock = connect(server.port)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        sock.sendall(b"GET /stream?id=slow HTTP/1.1\r\nHost: x\r\n\r\n")  # 200 MiB, never read
        server.wait_for_log("fault: stream started slow")
        peak = baseline
        window_start = time.monotonic()
        while time.monotonic() - window_start < 1.5:
            peak = max(peak, rss(server))
            time.sleep(0.05)  # sampling RSS, not synchronisation
        assert peak - baseline < 20 * MiB, f"RSS grew {(peak - baseline) / MiB:.1f} MiB"
        assert "fault: stream finished slow" not in server.log()
        assert httpx.get(server.url + "/fast", timeout=5).text == "fast"
    finally:
        reset(sock)
    server.wait_for_log(f"fault: {STREAM_END[kind_of(server)]} slow")


# ---- app faults ------------------------------------------------------------------------------

# (interface, fault, expected): "500" a clean 500; "close" the connection closes without a
# complete response; "200+" the response is complete and the pipelined request is answered too.
FAULTS = [
    ("asgi", "between-start-and-body", "500"),
    ("asgi", "after-complete", "200+"),
    ("asgi", "status-str", "500"),
    ("asgi", "status-missing", "500"),
    ("asgi", "unknown-type", "500"),
    ("asgi", "not-a-dict", "500"),
    ("asgi", "body-before-start", "500"),
    ("asgi", "body-str", "500"),
    ("asgi", "headers-str", "500"),
    ("asgi", "headers-int", "500"),
    ("asgi", "stream-body-str", "close"),
    ("asgi", "stream-unknown-type", "close"),
    ("wsgi", "iter-first-raises", "500"),
    ("wsgi", "close-raises", "close"),
    ("wsgi", "write-then-raise", "close"),
    ("wsgi", "write-not-bytes", "close"),
    ("wsgi", "returns-none", "500"),
    ("wsgi", "item-str", "500"),
    ("wsgi", "start-twice", "500"),
    ("wsgi", "status-int", "500"),
    ("wsgi", "headers-tuple", "500"),
]


@pytest.mark.parametrize(("interface", "fault", "expected"), FAULTS)
def test_app_fault_is_answered_cleanly_and_logged_once(
    request: pytest.FixtureRequest, interface: str, fault: str, expected: str
) -> None:
    server: RunningServer = request.getfixturevalue(f"{interface}_server")
    offset = len(server.log())
    raw = f"GET /fault/{fault} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
    result = exchange(server.port, raw + b"GET /fast HTTP/1.1\r\nHost: x\r\n\r\n", 2)
    statuses = [r.status for r in result.responses]
    if expected == "500":
        assert statuses == [500]
        assert result.responses[0].header(b"connection") == b"close"
    elif expected == "close":
        assert statuses == []
        assert result.closed
    else:
        assert statuses == [200, 200]
        assert result.responses[1].body == b"fast"
    mark(server, f"after-{fault}")
    segment = log_since(server, offset)
    assert len(LOG_LEVEL_LINE.findall(segment)) == 1, segment
    assert segment.count("Traceback") <= 1, segment
    wait_connections(server, 0)


def test_asgi_exception_while_the_body_arrives(asgi_server: RunningServer) -> None:
    server = asgi_server
    offset = len(server.log())
    with connect(server.port) as sock:
        sock.sendall(
            b"POST /fault/in-receive HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n12345"
        )
        result = read_responses(sock, 1, wait_close=True)
    assert [r.status for r in result.responses] == [500]
    assert result.closed
    mark(server, "after-in-receive")
    segment = log_since(server, offset)
    assert len(LOG_LEVEL_LINE.findall(segment)) == 1, segment
    assert "RuntimeError: fault in-receive (5 bytes)" in segment


def test_wsgi_write_after_exc_info_replaces_the_head(wsgi_server: RunningServer) -> None:
    server = wsgi_server
    offset = len(server.log())
    response = httpx.get(server.url + "/fault/write-after-exc-info", timeout=10)
    assert (response.status_code, response.text) == (503, "recovered")
    assert_clean(server, offset, "after-write-after-exc-info")


# ---- apps that never answer ------------------------------------------------------------------


@pytest.mark.parametrize("interface", sorted(APPS))
def test_hanging_app_is_closed_cleanly_at_graceful_shutdown(interface: str) -> None:
    with serve(APPS[interface], "--graceful-timeout", "1") as server:
        server.wait_ready()
        with connect(server.port) as sock:
            sock.sendall(b"GET /hang?id=h HTTP/1.1\r\nHost: x\r\n\r\n")
            server.wait_for_log("fault: hang started h")
            stopping = time.monotonic()
            server.signal(signal.SIGTERM)
            received = b""
            with contextlib.suppress(TimeoutError):
                while data := sock.recv(65536):
                    received += data
            closed_after = time.monotonic() - stopping
        # No half response: either nothing at all or a complete error answer, then EOF (not RST:
        # recv would have raised ConnectionResetError).
        assert received == b"" or received.startswith(b"HTTP/1.1 5"), received
        assert 0.5 <= closed_after < 4
        if interface == "asgi":
            server.wait_for_log("fault: hang cancelled h")  # the app saw the cancellation
        try:
            code = server.process.wait(10)
        except subprocess.TimeoutExpired:
            pytest.fail("forno did not exit after the graceful timeout")
        assert code == 0
        log = server.log()
        assert "graceful timeout" in log
        assert "Traceback" not in log
