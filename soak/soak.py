"""Soak test: one forno worker under mixed traffic for a bounded time, on 127.0.0.1 only.

Starts ``python -m forno soak_app:app`` (or ``soak_app:wsgi_app`` with ``--interface wsgi``) on a
socket bound here and handed over with ``--fd``, then runs ``--clients`` concurrent client tasks
until the time is up. Each task loops over the traffic kinds: keep-alive requests, pipelined
requests on raw sockets, uploads (some chunked), streaming downloads, WebSocket echo sessions
(ASGI), malformed requests (a 4xx and a close are expected) and client resets in the middle of a
request or a response.

Reported: requests by kind, expected and unexpected errors by kind, the server's log errors, and
its RSS at start, after warm-up (the first 10 % of the run) and at the end. Exits 1 when there was
an unexpected error or the RSS grew by 10 % or more after warm-up (``--max-rss-growth``).

    .venv/bin/python soak/soak.py --minutes 10 --output soak/results-10min.md
    .venv/bin/python soak/soak.py --seconds 20 --no-rss-check
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import random
import re
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import h11
import httpx
import psutil
from websockets.asyncio.client import connect as ws_connect

SOAK_DIR = Path(__file__).resolve().parent
REPO_ROOT = SOAK_DIR.parent
sys.path.insert(0, str(SOAK_DIR))

from soak_app import HELLO, PATTERN  # noqa: E402

MiB = 1024 * 1024
IO_TIMEOUT = 30.0
LOG_ERROR_LINE = re.compile(r"^\S+ \S+ \[\d+\] (?:ERROR|CRITICAL) .*$", re.MULTILINE)

# Requests forno must refuse with a 4xx and a close.
MALFORMED: list[bytes] = [
    b"GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
    b"G@T / HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
    b"POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"zz\r\nhello\r\n0\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\nX-Nul: a\x00b\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
    b"POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n"
    b"0\r\n\r\n",
]
# A head over the size limit: forno answers 431 and closes while the rest may still arrive, so
# the client may see a reset before it reads the answer. A close is all that is expected.
OVERSIZED = b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 40000 + b"\r\n\r\n"


class CheckFailed(Exception):
    """A response was not what the soak app must answer."""


@dataclass
class Stats:
    served: Counter[str] = field(default_factory=Counter)
    expected: Counter[str] = field(default_factory=Counter)
    unexpected: Counter[str] = field(default_factory=Counter)
    samples: dict[str, str] = field(default_factory=dict)

    def fail(self, kind: str, exc: BaseException) -> None:
        key = f"{kind}: {type(exc).__name__}"
        self.unexpected[key] += 1
        self.samples.setdefault(key, repr(exc)[:300])


@dataclass
class Target:
    host: str
    port: int
    interface: str

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


# ---- raw HTTP/1.1 over asyncio streams, parsed by h11 -------------------------------------------


async def read_raw_responses(
    reader: asyncio.StreamReader, methods: list[bytes]
) -> list[tuple[int, bytes]]:
    """Read one response per request method (h11 as a strict parser); stops at a close."""
    conn = h11.Connection(h11.CLIENT)
    responses: list[tuple[int, bytes]] = []
    status, body = 0, b""
    while len(responses) < len(methods):
        if conn.our_state is h11.IDLE:
            conn.send(
                h11.Request(method=methods[len(responses)], target="/", headers=[("Host", "x")])
            )
            conn.send(h11.EndOfMessage())
        event = conn.next_event()
        if event is h11.NEED_DATA:
            data = await asyncio.wait_for(reader.read(65536), IO_TIMEOUT)
            conn.receive_data(data)
            if not data and conn.next_event() is h11.NEED_DATA:
                break
            continue
        if isinstance(event, h11.Response):
            status, body = event.status_code, b""
        elif isinstance(event, h11.Data):
            body += bytes(event.data)
        elif isinstance(event, h11.EndOfMessage):
            responses.append((status, body))
            if conn.their_state is h11.MUST_CLOSE:
                break
            conn.start_next_cycle()
        elif isinstance(event, h11.ConnectionClosed):
            break
    return responses


async def read_to_eof(reader: asyncio.StreamReader) -> bytes:
    data = b""
    with contextlib.suppress(ConnectionError):
        while chunk := await asyncio.wait_for(reader.read(65536), IO_TIMEOUT):
            data += chunk
    return data


def reset(writer: asyncio.StreamWriter) -> None:
    """Close with SO_LINGER 0: the peer sees RST."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


# ---- traffic kinds -------------------------------------------------------------------------------


async def keep_alive(target: Target, client: httpx.AsyncClient, rng: random.Random) -> int:
    count = rng.randint(5, 20)
    for _ in range(count):
        response = await client.get("/hello")
        if response.status_code != 200 or response.content != HELLO:
            raise CheckFailed(f"/hello: {response.status_code} {response.content[:50]!r}")
    return count


async def pipelined(target: Target, client: httpx.AsyncClient, rng: random.Random) -> int:
    count = rng.randint(2, 16)
    reader, writer = await asyncio.open_connection(target.host, target.port)
    try:
        methods = [rng.choice([b"GET", b"HEAD"]) for _ in range(count)]
        writer.write(b"".join(m + b" /hello HTTP/1.1\r\nHost: x\r\n\r\n" for m in methods))
        await writer.drain()
        responses = await read_raw_responses(reader, methods)
    finally:
        writer.close()
    expected = [(200, b"" if m == b"HEAD" else HELLO) for m in methods]
    if responses != expected:
        raise CheckFailed(f"pipelined: {responses[:3]!r}... for {len(methods)} requests")
    return count


async def upload(target: Target, client: httpx.AsyncClient, rng: random.Random) -> int:
    size = rng.choice([0, 1, 100, 4096, 65536, 300_000, rng.randint(0, 2 * MiB)])
    data = rng.randbytes(size)
    if rng.random() < 0.4:
        piece = rng.choice([1000, 16384, 65536])

        async def chunks() -> AsyncIterator[bytes]:
            for start in range(0, size, piece):
                yield data[start : start + piece]

        response = await client.post("/upload", content=chunks())
    else:
        response = await client.post("/upload", content=data)
    want = b"%d %d" % (size, zlib.crc32(data))
    if response.status_code != 200 or response.content != want:
        raise CheckFailed(f"upload {size}: {response.status_code} {response.content[:50]!r}")
    return 1


async def download(target: Target, client: httpx.AsyncClient, rng: random.Random) -> int:
    size = rng.choice([1000, 65536, 1 * MiB, rng.randint(0, 8 * MiB)])
    received = 0
    async with client.stream("GET", "/stream", params={"size": size}) as response:
        if response.status_code != 200:
            raise CheckFailed(f"stream {size}: status {response.status_code}")
        async for piece in response.aiter_raw():
            offset = received % len(PATTERN)
            expected = (PATTERN * 2)[offset : offset + min(len(piece), len(PATTERN))]
            if piece[: len(expected)] != expected:
                raise CheckFailed(f"stream {size}: wrong bytes at {received}")
            received += len(piece)
    if received != size:
        raise CheckFailed(f"stream {size}: got {received} bytes")
    return 1


async def websocket(target: Target, client: httpx.AsyncClient, rng: random.Random) -> int:
    count = rng.randint(1, 20)
    async with ws_connect(
        f"ws://{target.host}:{target.port}/ws", open_timeout=IO_TIMEOUT, close_timeout=IO_TIMEOUT
    ) as ws:
        for _ in range(count):
            message: str | bytes
            if rng.random() < 0.5:
                message = "x" * rng.randint(0, 20000)
            else:
                message = rng.randbytes(rng.randint(0, 200_000))
            await ws.send(message)
            echoed = await asyncio.wait_for(ws.recv(), IO_TIMEOUT)
            if echoed != message:
                raise CheckFailed(f"websocket echo of {len(message)} differs")
    return count


async def malformed(target: Target, client: httpx.AsyncClient, rng: random.Random) -> int:
    request = rng.choice([*MALFORMED, OVERSIZED])
    reader, writer = await asyncio.open_connection(target.host, target.port)
    try:
        with contextlib.suppress(ConnectionError):
            writer.write(request)
            await writer.drain()
        data = await read_to_eof(reader)
    finally:
        writer.close()
    if request is OVERSIZED and (not data or data.startswith(b"HTTP/1.1 431 ")):
        return 1
    if not re.match(rb"HTTP/1\.1 4\d\d ", data):
        raise CheckFailed(f"malformed {request[:40]!r}: answered {data[:60]!r}")
    return 1


async def reset_mid_request(target: Target, client: httpx.AsyncClient, rng: random.Random) -> int:
    reader, writer = await asyncio.open_connection(target.host, target.port)
    try:
        if rng.random() < 0.5:
            total = rng.randint(10_000, 4 * MiB)
            writer.write(b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % total)
            writer.write(rng.randbytes(rng.randint(0, total - 1)))
            await writer.drain()
        else:
            writer.write(b"GET /stream?size=%d HTTP/1.1\r\nHost: x\r\n\r\n" % (64 * MiB))
            await writer.drain()
            wanted = rng.randint(1, 2 * MiB)
            got = 0
            while got < wanted:
                chunk = await asyncio.wait_for(reader.read(65536), IO_TIMEOUT)
                if not chunk:
                    raise CheckFailed(f"stream closed after {got} bytes")
                got += len(chunk)
    finally:
        reset(writer)
    return 1


Kind = Callable[[Target, httpx.AsyncClient, random.Random], Awaitable[int]]
KINDS: dict[str, tuple[Kind, int]] = {
    # name: (function, weight)
    "keep-alive": (keep_alive, 6),
    "pipelined": (pipelined, 3),
    "upload": (upload, 3),
    "download": (download, 2),
    "websocket": (websocket, 2),
    "malformed": (malformed, 2),
    "reset": (reset_mid_request, 2),
}
EXPECTED_KINDS = {"malformed", "reset"}  # their "errors" are the point


async def client_task(
    index: int, target: Target, stats: Stats, deadline: float, seed: int, max_loops: int
) -> None:
    rng = random.Random(seed * 1000 + index)  # noqa: S311 - reproducible traffic, not secrets
    names = [n for n in KINDS if not (n == "websocket" and target.interface == "wsgi")]
    weights = [KINDS[n][1] for n in names]
    limits = httpx.Limits(max_connections=2, max_keepalive_connections=2)
    async with httpx.AsyncClient(base_url=target.url, timeout=IO_TIMEOUT, limits=limits) as client:
        for _ in range(max_loops):
            if time.monotonic() >= deadline:
                return
            name = rng.choices(names, weights)[0]
            try:
                done = await KINDS[name][0](target, client, rng)
            except Exception as exc:  # noqa: BLE001 - every failure is counted and reported
                stats.fail(name, exc)
            else:
                if name in EXPECTED_KINDS:
                    stats.expected[name] += done
                else:
                    stats.served[name] += done


# ---- the server ------------------------------------------------------------------------------


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    target: Target
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def rss(self) -> int:
        return int(psutil.Process(self.process.pid).memory_info().rss)

    def connections(self) -> int:
        conns = psutil.Process(self.process.pid).net_connections(kind="tcp")
        return sum(1 for conn in conns if conn.status != psutil.CONN_LISTEN)


def start_server(interface: str, log_path: Path, extra: list[str]) -> Server:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    sock.set_inheritable(True)
    port = sock.getsockname()[1]
    app = "soak_app:app" if interface == "asgi" else "soak_app:wsgi_app"
    cmd = [sys.executable, "-m", "forno", app, "--app-dir", str(SOAK_DIR)]
    cmd += ["--fd", str(sock.fileno()), "--no-access-log", *extra]
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            cmd,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            pass_fds=(sock.fileno(),),
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            cwd=REPO_ROOT,
        )
    sock.close()
    server = Server(process, Target("127.0.0.1", port, interface), log_path)
    deadline = time.monotonic() + 30
    while "forno ready" not in server.log():
        if process.poll() is not None or time.monotonic() > deadline:
            stop_server(server)
            raise SystemExit(f"forno did not start:\n{server.log()}")
        time.sleep(0.05)
    return server


def stop_server(server: Server) -> int:
    process = server.process
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
    return process.returncode


# ---- the run -------------------------------------------------------------------------------------


@dataclass
class Result:
    interface: str
    seconds: float
    clients: int
    stats: Stats
    rss_start: int
    rss_warm: int
    rss_end: int
    log_errors: list[str]
    exit_code: int
    connections_after: int

    @property
    def growth(self) -> float:
        return (self.rss_end - self.rss_warm) / self.rss_warm * 100

    @property
    def unexpected_total(self) -> int:
        return sum(self.stats.unexpected.values()) + len(self.log_errors)


async def run_traffic(
    server: Server, seconds: float, clients: int, seed: int, max_loops: int
) -> tuple[Stats, int]:
    stats = Stats()
    start = time.monotonic()
    deadline = start + seconds
    tasks = [
        asyncio.create_task(client_task(i, server.target, stats, deadline, seed, max_loops))
        for i in range(clients)
    ]
    # RSS after warm-up: once the first 10 % of the run has passed.
    await asyncio.wait(tasks, timeout=seconds * 0.1)
    warm_rss = server.rss()
    # Every task ends by itself at the deadline (each operation is bounded by IO_TIMEOUT).
    done, pending = await asyncio.wait(tasks, timeout=seconds + 4 * IO_TIMEOUT)
    for task in pending:
        task.cancel()
        stats.unexpected["client task hung"] += 1
    for task in done:
        if task.exception() is not None:
            stats.fail("client task", task.exception())  # type: ignore[arg-type]
    return stats, warm_rss


def run(args: argparse.Namespace) -> Result:
    seconds = args.seconds if args.seconds is not None else args.minutes * 60
    with tempfile.NamedTemporaryFile(prefix="forno-soak-", suffix=".log", delete=False) as tmp:
        log_path = Path(tmp.name)
    server = start_server(args.interface, log_path, args.server_arg)
    try:
        rss_start = server.rss()
        stats, rss_warm = asyncio.run(
            run_traffic(server, seconds, args.clients, args.seed, args.max_loops)
        )
        # Idle connections left by clients are closed by the server's timeouts; RSS at the end
        # is taken with the traffic stopped.
        rss_end = server.rss()
        deadline = time.monotonic() + 20
        while server.connections() and time.monotonic() < deadline:
            time.sleep(0.1)
        connections_after = server.connections()
    finally:
        exit_code = stop_server(server)
    log = server.log()
    log_errors = LOG_ERROR_LINE.findall(log)
    if "Traceback" in log and not log_errors:
        log_errors.append("Traceback in the server log")
    if args.keep_log:
        print(f"server log: {log_path}", file=sys.stderr)
    else:
        log_path.unlink()
    if exit_code != 0:
        stats.unexpected[f"server exit code {exit_code}"] += 1
    if connections_after:
        stats.unexpected["connections left open"] += connections_after
    return Result(
        args.interface,
        seconds,
        args.clients,
        stats,
        rss_start,
        rss_warm,
        rss_end,
        log_errors,
        exit_code,
        connections_after,
    )


def markdown(result: Result, max_growth: float, rss_check: bool) -> str:
    s = result.stats
    mib = 1 / MiB
    lines = [
        f"# forno soak: {result.interface}, {result.seconds / 60:.1f} min, "
        f"{result.clients} clients",
        "",
        f"- Python {platform.python_version()} on {platform.system()} {platform.machine()}, "
        f"{os.cpu_count()} CPUs (client and server on the same machine)",
        "- one forno worker, default limits, access log off, 127.0.0.1",
        "",
        "## Traffic",
        "",
        "| kind | served | expected errors | unexpected errors |",
        "|---|---:|---:|---:|",
    ]
    for name in KINDS:
        unexpected = sum(v for k, v in s.unexpected.items() if k.startswith(name + ":"))
        lines.append(f"| {name} | {s.served[name]} | {s.expected[name]} | {unexpected} |")
    lines.append(
        f"| **total** | {sum(s.served.values())} | {sum(s.expected.values())} "
        f"| {result.unexpected_total} |"
    )
    lines += [
        "",
        "Served counts requests (WebSocket: echoed messages); expected errors are malformed "
        "requests answered with a 4xx and a close, and client resets mid-request or mid-response.",
        "",
        "## Unexpected errors",
        "",
    ]
    if result.unexpected_total:
        for key, count in sorted(s.unexpected.items()):
            lines.append(f"- {key}: {count} (e.g. `{s.samples.get(key, '')}`)")
        for line in result.log_errors[:20]:
            lines.append(f"- server log: `{line[:200]}`")
    else:
        lines.append("None (server log: no ERROR line, no traceback; clean exit).")
    growth = result.growth
    lines += [
        "",
        "## Server memory (RSS)",
        "",
        "| start | after warm-up (10 %) | end | growth after warm-up |",
        "|---:|---:|---:|---:|",
        f"| {result.rss_start * mib:.1f} MiB | {result.rss_warm * mib:.1f} MiB "
        f"| {result.rss_end * mib:.1f} MiB | {growth:+.1f} % |",
        "",
    ]
    if rss_check:
        verdict = "pass" if growth < max_growth else "FAIL"
        lines.append(f"RSS check (growth < {max_growth:.0f} %): {verdict}.")
    else:
        lines.append("RSS check: off.")
    lines.append(f"Open connections after the run: {result.connections_after}.")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--minutes", type=float, default=10.0, help="run length (default 10)")
    parser.add_argument("--seconds", type=float, default=None, help="run length in seconds")
    parser.add_argument("--clients", type=int, default=8, help="concurrent client tasks")
    parser.add_argument("--interface", choices=["asgi", "wsgi"], default="asgi")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-loops", type=int, default=1_000_000, help="per client task")
    parser.add_argument("--max-rss-growth", type=float, default=10.0, help="percent")
    parser.add_argument("--no-rss-check", dest="rss_check", action="store_false")
    parser.add_argument("--output", type=Path, default=None, help="also write the summary here")
    parser.add_argument("--keep-log", action="store_true", help="keep the server log file")
    parser.add_argument(
        "--server-arg", action="append", default=[], help="extra forno flag (repeatable)"
    )
    args = parser.parse_args(argv)
    if args.seconds is None and not 0 < args.minutes <= 120:
        parser.error("--minutes must be in (0, 120]")
    if args.seconds is not None and not 0 < args.seconds <= 7200:
        parser.error("--seconds must be in (0, 7200]")
    if not 1 <= args.clients <= 64:
        parser.error("--clients must be between 1 and 64")
    # SIGTERM unwinds like an error, so the server started here is stopped on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    result = run(args)
    summary = markdown(result, args.max_rss_growth, args.rss_check)
    print(summary, end="")
    if args.output is not None:
        args.output.write_text(summary)
    failed = result.unexpected_total > 0
    if args.rss_check and result.growth >= args.max_rss_growth:
        failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
