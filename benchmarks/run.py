#!/usr/bin/env python3
"""forno's benchmark runner: the same fixed apps, served by forno and its peers, measured alike.

    python benchmarks/run.py                         # everything (creates benchmarks/.venv)
    python benchmarks/run.py --servers uvicorn,forno --scenarios plaintext,ws
    python benchmarks/run.py --smoke                 # ~1 s per scenario, forno only, main venv

Every server runs one worker process pinned to CPU 0; the load generator (wrk, or the C
WebSocket client ``wsload``) runs pinned to CPU 1, and so does this script. Servers are started
fresh for every measurement and interleaved round-robin across repetitions. Results go to
``benchmarks/results/<UTC timestamp>.md`` and ``benchmarks/results/latest.md``.

Standard library only; see benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import dataclasses
import datetime as dt
import hashlib
import http.client
import json
import os
import platform
import re
import resource
import selectors
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
APPS = HERE / "apps"
BUILD = HERE / "build"
LOGS = BUILD / "logs"
RESULTS = HERE / "results"
BENCH_VENV = HERE / ".venv"
WSLOAD_SOURCE = HERE / "wsload.c"
WSLOAD = BUILD / "wsload"
POST_SCRIPT = HERE / "scripts" / "post_4k.lua"

HOST = "127.0.0.1"
SERVER_CPU = 0
CLIENT_CPU = 1
START_DEADLINE_S = 30.0
STOP_GRACE_S = 5.0
RSS_SAMPLE_INTERVAL_S = 0.5
IDLE_BATCH = 100  # idle scenario: connections opened (and requests in flight) at a time

HELLO = b"Hello, world!"
DASH = "\u2013"  # en dash, for ranges in the report
TIMES = "\u00d7"  # multiplication sign, for ratios
ECHO_BODY_SIZE = 4096
STREAM_SIZE = 1024 * 1024
WS_PAYLOAD_SIZE = 32
WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

PEER_REQUIREMENTS = ["uvicorn[standard]", "granian", "hypercorn", "gunicorn", "waitress"]
OPTIONAL_REQUIREMENTS = ["socketify"]
VERSIONED_DISTRIBUTIONS = [
    "forno",
    "uvicorn",
    "httptools",
    "uvloop",
    "websockets",
    "granian",
    "hypercorn",
    "gunicorn",
    "waitress",
    "socketify",
]


class BenchError(Exception):
    """A measurement could not be taken (the message says why)."""


class StartError(BenchError):
    """The server did not start (exited, or never accepted connections)."""


# --------------------------------------------------------------------------------------------
# Servers


@dataclass(frozen=True)
class Tools:
    """Where the servers' executables live: a venv's bin directory and its interpreter."""

    bin: Path
    python: Path
    forno_threads: int


@dataclass(frozen=True)
class Server:
    name: str
    interface: str  # "asgi" or "wsgi"
    distribution: str  # whose version the report names
    command: Callable[[Tools, int], list[str]]
    probe_module: str | None = None  # imported once first; the server is skipped if that fails
    note: str = ""


def _forno_asgi(t: Tools, port: int) -> list[str]:
    return [str(t.bin / "forno"), "asgi_app:app", *_forno_common(port)]


def _forno_wsgi(t: Tools, port: int) -> list[str]:
    flags = f"--interface wsgi --threads {t.forno_threads}".split()
    return [str(t.bin / "forno"), "wsgi_app:app", *flags, *_forno_common(port)]


def _forno_common(port: int) -> list[str]:
    return f"--host {HOST} --port {port} --no-access-log --log-level warning".split()


def _uvicorn(t: Tools, port: int) -> list[str]:
    flags = (
        f"--host {HOST} --port {port} --http httptools --loop uvloop --no-access-log "
        "--log-level warning --timeout-keep-alive 600 --backlog 4096"
    )
    return [str(t.bin / "uvicorn"), "asgi_app:app", *flags.split()]


def _granian(interface: str) -> Callable[[Tools, int], list[str]]:
    def command(t: Tools, port: int) -> list[str]:
        flags = (
            f"--interface {interface} --host {HOST} --port {port} --workers 1 --no-access-log "
            "--log-level warning --backlog 4096 --backpressure 8192"
        )
        return [str(t.bin / "granian"), f"{interface}_app:app", *flags.split()]

    return command


def _hypercorn(t: Tools, port: int) -> list[str]:
    flags = (
        f"--bind {HOST}:{port} --workers 1 --worker-class uvloop --log-level warning "
        "--keep-alive 600 --backlog 4096"
    )
    return [str(t.bin / "hypercorn"), "asgi_app:app", *flags.split()]


def _socketify(t: Tools, port: int) -> list[str]:
    flags = f"--interface asgi --host {HOST} --port {port} --workers 1 --disable-listen-log true"
    return [str(t.python), "-m", "socketify", "asgi_app:app", *flags.split()]


def _gunicorn(threads: int) -> Callable[[Tools, int], list[str]]:
    def command(t: Tools, port: int) -> list[str]:
        flags = f"--bind {HOST}:{port} --workers 1 --log-level warning"
        if threads > 1:
            flags += f" --worker-class gthread --threads {threads}"
        return [str(t.bin / "gunicorn"), "wsgi_app:app", *flags.split()]

    return command


def _waitress(t: Tools, port: int) -> list[str]:
    return [str(t.bin / "waitress-serve"), f"--listen={HOST}:{port}", "--threads=4", "wsgi_app:app"]


SERVERS: list[Server] = [
    Server("forno", "asgi", "forno", _forno_asgi),
    Server("uvicorn", "asgi", "uvicorn", _uvicorn, note="httptools + uvloop, websockets"),
    Server("granian", "asgi", "granian", _granian("asgi")),
    Server("hypercorn", "asgi", "hypercorn", _hypercorn, note="uvloop worker"),
    Server("socketify", "asgi", "socketify", _socketify, probe_module="socketify"),
    Server("forno-wsgi", "wsgi", "forno", _forno_wsgi),
    Server("granian-wsgi", "wsgi", "granian", _granian("wsgi")),
    Server("gunicorn-sync", "wsgi", "gunicorn", _gunicorn(1), note="Connection: close"),
    Server("gunicorn-gthread", "wsgi", "gunicorn", _gunicorn(32), note="32 threads"),
    Server("waitress", "wsgi", "waitress", _waitress, note="4 threads, connection_limit 100"),
]
FORNO_BY_INTERFACE = {"asgi": "forno", "wsgi": "forno-wsgi"}


def select_servers(spec: str) -> list[Server]:
    """``forno`` selects forno and forno-wsgi, ``gunicorn`` both gunicorn workers, and so on."""
    chosen: list[Server] = []
    for raw in spec.split(","):
        name = raw.strip()
        if not name:
            continue
        matches = [s for s in SERVERS if s.name == name or s.name.startswith(name + "-")]
        if name == "granian-asgi":
            matches = [s for s in SERVERS if s.name == "granian"]
        if name == "forno-asgi":
            matches = [s for s in SERVERS if s.name == "forno"]
        if not matches:
            known = ", ".join(s.name for s in SERVERS)
            raise SystemExit(f"unknown server {name!r}; known: {known}")
        chosen += [s for s in matches if s not in chosen]
    return chosen


# --------------------------------------------------------------------------------------------
# Scenarios


@dataclass(frozen=True)
class Scenario:
    name: str
    kind: str  # "http", "ws" or "idle"
    interfaces: frozenset[str]
    connections: int
    description: str
    path: str = "/"
    lua_script: Path | None = None
    wrk_timeout_s: int = 2
    unit: str = "req/s"


BOTH = frozenset({"asgi", "wsgi"})
ASGI_ONLY = frozenset({"asgi"})

SCENARIOS: list[Scenario] = [
    Scenario("plaintext", "http", BOTH, 64, "GET / (13-byte text/plain), keep-alive", "/"),
    Scenario("json", "http", BOTH, 64, "GET /json (small JSON, serialised per request)", "/json"),
    Scenario(
        "echo",
        "http",
        BOTH,
        64,
        "POST /echo with a 4 KiB body, echoed back",
        "/echo",
        lua_script=POST_SCRIPT,
    ),
    Scenario("stream", "http", BOTH, 16, "GET /stream: 1 MiB in 64 KiB chunks", "/stream"),
    Scenario(
        "slow",
        "http",
        BOTH,
        200,
        "GET /slow: the handler waits 100 ms; ideal = 200 conns / 0.1 s = 2,000 req/s",
        "/slow",
        wrk_timeout_s=30,
    ),
    Scenario(
        "ws",
        "ws",
        ASGI_ONLY,
        64,
        f"WebSocket echo of a {WS_PAYLOAD_SIZE}-byte text message, one in flight per connection",
        "/ws",
        unit="msg/s",
    ),
    Scenario(
        "idle",
        "idle",
        ASGI_ONLY,
        5000,
        "server memory per idle keep-alive connection (RSS with N open minus RSS at rest)",
        "/",
        unit="KiB/conn",
    ),
]
SCENARIO_ALIASES = {"websocket": "ws", "websockets": "ws", "hello": "plaintext"}


def select_scenarios(spec: str) -> list[Scenario]:
    by_name = {s.name: s for s in SCENARIOS}
    chosen: list[Scenario] = []
    for raw in spec.split(","):
        name = SCENARIO_ALIASES.get(raw.strip(), raw.strip())
        if not name:
            continue
        if name not in by_name:
            raise SystemExit(f"unknown scenario {name!r}; known: {', '.join(by_name)}")
        if by_name[name] not in chosen:
            chosen.append(by_name[name])
    return chosen


# --------------------------------------------------------------------------------------------
# Results


@dataclass
class Measurement:
    value: float  # req/s, msg/s, or KiB per idle connection
    p50_ms: float | None = None
    p99_ms: float | None = None
    rss_kib: int | None = None  # peak server RSS under load (idle: with the connections open)
    client_cpu_pct: float | None = None
    errors: int = 0
    server_cpu_pct: float | None = None
    other_cpu_pct: float | None = None  # load on the server's core not caused by the server
    rest_rss_kib: int | None = None  # idle only
    held: int | None = None  # idle only: connections still open when RSS was measured


@dataclass
class Cell:
    """Everything measured for one server in one scenario."""

    runs: list[Measurement] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    skipped: str | None = None


# --------------------------------------------------------------------------------------------
# Small helpers


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run_checked(argv: Sequence[str], timeout: float, what: str) -> None:
    log(f"  $ {shlex.join(argv)}")
    try:
        subprocess.run(argv, check=True, timeout=timeout)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        raise SystemExit(f"{what} failed: {exc}") from exc


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def raise_nofile_limit() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = 1 << 20
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def pin_self_to_client_cpu() -> bool:
    if (os.cpu_count() or 1) < 2:
        return False
    os.sched_setaffinity(0, {CLIENT_CPU})
    return True


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def cpu_busy_fractions(interval: float = 1.0) -> list[float]:
    """Busy fraction of each CPU over ``interval`` seconds, from /proc/stat."""

    def snapshot() -> dict[str, tuple[int, int]]:
        result: dict[str, tuple[int, int]] = {}
        for line in Path("/proc/stat").read_text().splitlines():
            if line.startswith("cpu") and line[3:4].isdigit():
                name, *fields = line.split()
                values = [int(v) for v in fields]
                idle = values[3] + (values[4] if len(values) > 4 else 0)
                result[name] = (sum(values), idle)
        return result

    before = snapshot()
    time.sleep(interval)
    after = snapshot()
    fractions: list[float] = []
    for name, (total, idle) in after.items():
        total0, idle0 = before.get(name, (0, 0))
        spent = total - total0
        fractions.append(0.0 if spent <= 0 else 1.0 - (idle - idle0) / spent)
    return fractions


def process_tree(root: int) -> list[int]:
    """The pid ``root`` and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    tree: list[int] = []
    todo = [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo += children.get(pid, [])
    return tree


PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024


def rss_kib(pids: Sequence[int]) -> int:
    """Sum of the resident set sizes of ``pids`` (shared pages are counted once per process)."""
    total = 0
    for pid in pids:
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_KIB
        except (OSError, IndexError, ValueError):
            continue
    return total


def tail(path: Path, lines: int = 12) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.strip().splitlines()[-lines:])


# --------------------------------------------------------------------------------------------
# Environment: the venv of servers, wrk, wsload


def tools_version_info(python: Path) -> tuple[str, dict[str, str | None]]:
    code = (
        "import json, sys, importlib.metadata as m\n"
        "def v(d):\n"
        "    try:\n"
        "        return m.version(d)\n"
        "    except m.PackageNotFoundError:\n"
        "        return None\n"
        f"dists = {VERSIONED_DISTRIBUTIONS!r}\n"
        "print(json.dumps([sys.version.split()[0], {d: v(d) for d in dists}]))"
    )
    out = subprocess.run(
        [str(python), "-c", code], check=True, capture_output=True, text=True, timeout=60
    ).stdout
    version, versions = json.loads(out)
    return str(version), {str(k): (None if v is None else str(v)) for k, v in versions.items()}


def ensure_bench_venv(base_python: str) -> Path:
    """Create (or refresh) benchmarks/.venv with every peer plus forno installed editable."""
    pyproject = REPO / "pyproject.toml"
    fingerprint = json.dumps(
        {
            "python": base_python,
            "peers": PEER_REQUIREMENTS,
            "optional": OPTIONAL_REQUIREMENTS,
            "pyproject": hashlib.sha256(pyproject.read_bytes()).hexdigest(),
        },
        sort_keys=True,
    )
    stamp = BENCH_VENV / ".installed"
    python = BENCH_VENV / "bin" / "python"
    if stamp.exists() and stamp.read_text() == fingerprint and python.exists():
        return python
    log(f"Setting up {BENCH_VENV} (peers and forno, editable) ...")
    previous: dict[str, object] = {}
    with contextlib.suppress(OSError, ValueError):
        previous = json.loads(stamp.read_text())
    if not python.exists() or previous.get("python", base_python) != base_python:
        # A new venv, or a different interpreter: start from an empty one.
        argv = [base_python, "-m", "venv", "--clear", str(BENCH_VENV)]
        run_checked(argv, 300, "creating the venv")
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    run_checked([*pip, "--upgrade", "pip"], 600, "upgrading pip")
    run_checked([*pip, *PEER_REQUIREMENTS], 1800, "installing the peer servers")
    for requirement in OPTIONAL_REQUIREMENTS:
        log(f"  $ pip install {requirement}  (optional)")
        try:
            done = subprocess.run([*pip, requirement], check=False, timeout=1800)
            if done.returncode != 0:
                log(f"  {requirement} did not install: it will be skipped")
        except subprocess.TimeoutExpired:
            log(f"  {requirement} timed out installing: it will be skipped")
    run_checked([*pip, "-e", str(REPO)], 1800, "installing forno (editable)")
    stamp.write_text(fingerprint)
    return python


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if shutil.which("apt-get") is None:
        raise SystemExit("wrk is missing and apt-get is not available: install wrk")
    log("wrk is missing: installing it with apt-get ...")
    install = ["apt-get", "install", "-y", "-q", "wrk"]
    if subprocess.run(install, check=False, timeout=900).returncode != 0:
        # A fresh machine may have no package lists yet.
        run_checked(["apt-get", "update", "-q"], 900, "apt-get update")
        run_checked(install, 900, "apt-get install wrk")
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk is still missing after apt-get install")
    return found


def wrk_version(wrk: str) -> str:
    done = subprocess.run(
        [wrk, "--version"], check=False, capture_output=True, text=True, timeout=30
    )
    first = (done.stdout + done.stderr).strip().splitlines()
    return first[0].split(" Copyright")[0] if first else "wrk"


def ensure_wsload() -> Path:
    if WSLOAD.exists() and WSLOAD.stat().st_mtime >= WSLOAD_SOURCE.stat().st_mtime:
        return WSLOAD
    BUILD.mkdir(parents=True, exist_ok=True)
    compiler = shutil.which("gcc") or shutil.which("cc")
    if compiler is None:
        raise SystemExit("gcc is needed to build benchmarks/wsload.c")
    argv = [compiler, "-O2", "-Wall", "-Wextra", "-o", str(WSLOAD), str(WSLOAD_SOURCE)]
    run_checked(argv, 300, "building wsload")
    return WSLOAD


# --------------------------------------------------------------------------------------------
# One server process


class RunningServer:
    """A server in its own session, pinned to SERVER_CPU; stopped with SIGTERM, then SIGKILL."""

    def __init__(self, server: Server, tools: Tools, label: str) -> None:
        self.server = server
        self.port = free_port()
        self.argv = ["taskset", "-c", str(SERVER_CPU), *server.command(tools, self.port)]
        LOGS.mkdir(parents=True, exist_ok=True)
        self.log_path = LOGS / f"{server.name}-{label}.log"
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(APPS), env.get("PYTHONPATH", "")) if p)
        env["PATH"] = os.pathsep.join([str(tools.bin), env.get("PATH", "")])
        env.pop("WEB_CONCURRENCY", None)
        self._log_file: IO[bytes] = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            self.argv,
            cwd=APPS,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_listening(self, deadline_s: float = START_DEADLINE_S) -> None:
        deadline = time.monotonic() + deadline_s
        while time.monotonic() < deadline:
            code = self.proc.poll()
            if code is not None:
                output = tail(self.log_path)
                last = output.splitlines()[-1] if output else "no output"
                log(f"  {shlex.join(self.argv)}\n  exited with status {code}:\n{output}")
                raise StartError(f"exited with status {code} on start-up: {last}")
            try:
                with socket.create_connection((HOST, self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        log(f"  {shlex.join(self.argv)}\n  never listened; its output:\n{tail(self.log_path)}")
        raise StartError(f"did not accept connections within {deadline_s:.0f} s")

    def pids(self) -> list[int]:
        return process_tree(self.proc.pid)

    def stop(self) -> None:
        try:
            self._signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                pass
            # The leader may be gone while workers of its session linger: SIGKILL the group.
            self._signal(signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=STOP_GRACE_S)
        finally:
            self._log_file.close()

    def _signal(self, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, sig)  # the session/group we created: its id is our child's

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --------------------------------------------------------------------------------------------
# Correctness checks (before every measurement: we must be measuring the right response)


def http_request(port: int, method: str, path: str, body: bytes | None = None) -> bytes:
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        conn.request(method, path, body=body)
        response = conn.getresponse()
        data = response.read()
        if response.status != 200:
            raise BenchError(f"{method} {path} answered {response.status}: {data[:200]!r}")
        return data
    finally:
        conn.close()


def check_http(port: int, scenario: Scenario, deadline_s: float = 15.0) -> None:
    """Check the endpoint once, retrying connection errors while the server warms up."""
    deadline = time.monotonic() + deadline_s
    while True:
        try:
            _check_http_once(port, scenario)
            return
        except (OSError, http.client.HTTPException) as exc:
            if time.monotonic() > deadline:
                raise BenchError(f"{scenario.path} check failed: {exc!r}") from exc
            time.sleep(0.1)


def _check_http_once(port: int, scenario: Scenario) -> None:
    if scenario.path in ("/", "/slow"):
        got = http_request(port, "GET", scenario.path)
        if got != HELLO:
            raise BenchError(f"GET {scenario.path} returned {got[:100]!r}")
    elif scenario.path == "/json":
        got = http_request(port, "GET", "/json")
        if json.loads(got) != {"message": "Hello, world!"}:
            raise BenchError(f"GET /json returned {got[:100]!r}")
    elif scenario.path == "/echo":
        body = os.urandom(ECHO_BODY_SIZE)
        if http_request(port, "POST", "/echo", body) != body:
            raise BenchError("POST /echo did not echo the body")
    elif scenario.path == "/stream":
        got = http_request(port, "GET", "/stream")
        if len(got) != STREAM_SIZE:
            raise BenchError(f"GET /stream returned {len(got)} bytes, not {STREAM_SIZE}")


def _ws_frame(opcode: int, payload: bytes) -> bytes:
    mask = os.urandom(4)
    length = len(payload)
    if length < 126:
        head = bytes([0x80 | opcode, 0x80 | length])
    else:
        head = bytes([0x80 | opcode, 0x80 | 126]) + length.to_bytes(2, "big")
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def _recv_exact(sock: socket.socket, buffer: bytearray, count: int) -> bytes:
    while len(buffer) < count:
        chunk = sock.recv(65536)
        if not chunk:
            raise BenchError("the server closed the WebSocket")
        buffer += chunk
    data = bytes(buffer[:count])
    del buffer[:count]
    return data


def check_websocket(port: int) -> None:
    """Upgrade, echo one text and one binary message, close: a plain-socket client."""
    key = base64.b64encode(os.urandom(16)).decode()
    expected = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
    request = (
        f"GET /ws HTTP/1.1\r\nHost: {HOST}:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    with socket.create_connection((HOST, port), timeout=10) as sock:
        sock.sendall(request.encode())
        buffer = bytearray()
        while b"\r\n\r\n" not in buffer:
            chunk = sock.recv(65536)
            if not chunk or len(buffer) > 65536:
                raise BenchError("no WebSocket handshake response")
            buffer += chunk
        head, _, rest = bytes(buffer).partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 101") or expected.encode() not in head:
            raise BenchError(f"WebSocket upgrade refused: {head[:200]!r}")
        buffer = bytearray(rest)
        for opcode, payload in ((1, "héllo wörld".encode()), (2, bytes(range(256)) * 2)):
            sock.sendall(_ws_frame(opcode, payload))
            first, second = _recv_exact(sock, buffer, 2)
            length = second & 0x7F
            if length == 126:
                length = int.from_bytes(_recv_exact(sock, buffer, 2), "big")
            data = _recv_exact(sock, buffer, length)
            if first & 0x0F != opcode or data != payload:
                raise BenchError(f"WebSocket echo mismatch (opcode {first & 0x0F})")
        sock.sendall(_ws_frame(8, (1000).to_bytes(2, "big")))


# --------------------------------------------------------------------------------------------
# Load generators


@dataclass
class ClientRun:
    output: str
    returncode: int
    cpu_pct: float  # the load generator's own CPU time, % of one core
    peak_rss_kib: int
    server_cpu_pct: float | None  # the server tree's CPU time, % of its core
    other_cpu_pct: float | None  # everything else that ran on the server's core meanwhile


def cpu_jiffies(cpu: int) -> tuple[int, int]:
    """(total, busy) clock ticks of one CPU so far, from /proc/stat."""
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith(f"cpu{cpu} "):
            values = [int(v) for v in line.split()[1:9]]  # guest time is inside user already
            idle = values[3] + values[4]
            return sum(values), sum(values) - idle
    return 0, 0


def tree_cpu_jiffies(pids: Sequence[int]) -> int:
    """User + system clock ticks used so far by ``pids`` (all their threads)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime and stime: fields 14 and 15
    return total


def run_client(argv: Sequence[str], limit_s: float, server_pids: Sequence[int]) -> ClientRun:
    """Run a load generator pinned to CLIENT_CPU, sampling the server's RSS meanwhile.

    The child is reaped with wait4() so its own CPU use (user + system) is known.
    """
    full = ["taskset", "-c", str(CLIENT_CPU), *argv]
    core_before = cpu_jiffies(SERVER_CPU)
    server_before = tree_cpu_jiffies(server_pids)
    started = time.monotonic()
    proc = subprocess.Popen(
        full, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    peak = rss_kib(server_pids)
    status: int | None = None
    usage: resource.struct_rusage | None = None
    try:
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid == proc.pid:
                break
            if time.monotonic() - started > limit_s:
                proc.kill()
                _, status, usage = os.wait4(proc.pid, 0)
                raise BenchError(f"load generator overran {limit_s:.0f} s: {shlex.join(argv)}")
            peak = max(peak, rss_kib(server_pids))
            time.sleep(RSS_SAMPLE_INTERVAL_S)
    finally:
        if status is not None:
            proc.returncode = os.waitstatus_to_exitcode(status)
        assert proc.stdout is not None
        output = proc.stdout.read().decode(errors="replace")
        proc.stdout.close()
    wall = time.monotonic() - started
    core_after = cpu_jiffies(SERVER_CPU)
    core_total = core_after[0] - core_before[0]
    core_busy = core_after[1] - core_before[1]
    server_used = tree_cpu_jiffies(server_pids) - server_before
    server_pct = other_pct = None
    if server_pids and core_total > 0:
        server_pct = 100.0 * server_used / core_total
        other_pct = max(0.0, 100.0 * (core_busy - server_used) / core_total)
    cpu = usage.ru_utime + usage.ru_stime if usage is not None else 0.0
    client_pct = 100.0 * cpu / max(wall, 1e-9)
    return ClientRun(output, proc.returncode or 0, client_pct, peak, server_pct, other_pct)


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _latency_ms(output: str, percent: str) -> float | None:
    match = re.search(rf"^\s+{percent}%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.MULTILINE)
    return float(match.group(1)) * _UNITS_MS[match.group(2)] if match else None


def parse_wrk(output: str) -> tuple[float, int, int, float | None, float | None]:
    """(successful req/s, successful requests, errors, p50 ms, p99 ms) from ``wrk --latency``."""
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    total = re.search(r"(\d+) requests in", output)
    if not rate or not total:
        raise BenchError(f"could not parse wrk output:\n{output.strip()}")
    requests = int(total.group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    non_2xx = int(bad.group(1)) if bad else 0
    sock = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    socket_errors = sum(int(g) for g in sock.groups()) if sock else 0
    ok = requests - non_2xx
    ok_rate = float(rate.group(1)) * ok / requests if requests else 0.0
    errors = non_2xx + socket_errors
    return ok_rate, ok, errors, _latency_ms(output, "50"), _latency_ms(output, "99")


def measure_wrk(
    wrk: str, scenario: Scenario, server: RunningServer, duration: float, warmup: float
) -> Measurement:
    url = f"http://{HOST}:{server.port}{scenario.path}"

    def argv(seconds: float) -> list[str]:
        args = [wrk, "-t1", "-c", str(scenario.connections), "-d", f"{max(1, round(seconds))}s"]
        args += ["--latency", "--timeout", f"{scenario.wrk_timeout_s}s"]
        if scenario.lua_script is not None:
            args += ["-s", str(scenario.lua_script)]
        return [*args, url]

    limit = scenario.wrk_timeout_s + 60
    if warmup > 0:
        run_client(argv(warmup), warmup + limit, [])
    pids = server.pids()
    run = run_client(argv(duration), duration + limit, pids)
    if run.returncode != 0:
        raise BenchError(f"wrk exited with status {run.returncode}:\n{run.output.strip()}")
    rate, ok, errors, p50, p99 = parse_wrk(run.output)
    if ok == 0:
        raise BenchError(f"no successful request:\n{run.output.strip()}")
    return Measurement(
        rate, p50, p99, run.peak_rss_kib, run.cpu_pct, errors, run.server_cpu_pct, run.other_cpu_pct
    )


def parse_wsload(output: str) -> dict[str, float]:
    values: dict[str, float] = {}
    for key, value in re.findall(r"(\w+)=([\d.]+)", output):
        values[key] = float(value)
    if "msg_per_sec" not in values:
        raise BenchError(f"could not parse wsload output:\n{output.strip()}")
    return values


def measure_ws(
    wsload: Path, scenario: Scenario, server: RunningServer, duration: float, warmup: float
) -> Measurement:
    base = [str(wsload), HOST, str(server.port), scenario.path, str(scenario.connections)]
    if warmup > 0:
        run_client([*base, f"{warmup:g}", str(WS_PAYLOAD_SIZE)], warmup + 60, [])
    pids = server.pids()
    run = run_client([*base, f"{duration:g}", str(WS_PAYLOAD_SIZE)], duration + 60, pids)
    values = parse_wsload(run.output)
    if run.returncode != 0 or values.get("messages", 0) == 0:
        raise BenchError(f"wsload failed (status {run.returncode}):\n{run.output.strip()}")
    return Measurement(
        values["msg_per_sec"],
        values.get("p50_us", 0.0) / 1000,
        values.get("p99_us", 0.0) / 1000,
        run.peak_rss_kib,
        run.cpu_pct,
        int(values.get("errors", 0)),
        run.server_cpu_pct,
        run.other_cpu_pct,
    )


def measure_idle(scenario: Scenario, server: RunningServer, count: int) -> Measurement:
    """RSS of the server tree holding ``count`` idle keep-alive connections, vs. at rest.

    Each connection carries one complete request/response first, so it is a real keep-alive
    connection the server has parsed a request on, not just an accepted socket. Connections are
    opened IDLE_BATCH at a time, so at most IDLE_BATCH requests are ever in flight: the figure is
    the cost of holding idle connections, not the high-water mark of a 5,000-request burst. One
    batch, opened and closed before the baseline, warms the same path.
    """
    request = f"GET / HTTP/1.1\r\nHost: {HOST}:{server.port}\r\n\r\n".encode()
    deadline = time.monotonic() + 120
    warm, _ = _open_and_request(server.port, IDLE_BATCH, request, deadline)
    for sock in warm:
        sock.close()
    time.sleep(0.5)
    pids = server.pids()
    rest = rss_kib(pids)
    socks: list[socket.socket] = []
    errors = 0
    try:
        for first in range(0, count, IDLE_BATCH):
            if time.monotonic() > deadline:
                raise BenchError(f"opening {count} connections took over 120 s")
            batch, failed = _open_and_request(
                server.port, min(IDLE_BATCH, count - first), request, deadline
            )
            socks += batch
            errors += failed
        if not socks:
            raise BenchError(f"none of {count} idle connections got a response")
        time.sleep(1.0)
        loaded = 0
        for _ in range(3):
            loaded = max(loaded, rss_kib(pids))
            time.sleep(0.2)
        held = _count_open(socks)
    finally:
        for sock in socks:
            sock.close()
    if held == 0:
        raise BenchError("the server closed every idle connection before RSS was measured")
    per_conn = (loaded - rest) / held
    return Measurement(per_conn, rss_kib=loaded, errors=errors, rest_rss_kib=rest, held=held)


def _open_and_request(
    port: int, count: int, request: bytes, deadline: float
) -> tuple[list[socket.socket], int]:
    """Open ``count`` connections, send one GET / on each and read every response.

    Returns the connections that got a complete 200 response (still open, non-blocking) and
    the number that failed (those are closed).
    """
    socks: list[socket.socket] = []
    failed = 0
    for _ in range(count):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.settimeout(10)
        try:
            sock.connect((HOST, port))
            sock.sendall(request)
        except OSError:
            sock.close()
            failed += 1
            continue
        sock.setblocking(False)
        socks.append(sock)
    buffers = {sock.fileno(): bytearray() for sock in socks}
    by_fd = {sock.fileno(): sock for sock in socks}
    answered: list[socket.socket] = []
    with selectors.DefaultSelector() as selector:
        for sock in socks:
            selector.register(sock, selectors.EVENT_READ)
        pending = len(socks)
        while pending and time.monotonic() < deadline:
            for key, _ in selector.select(timeout=0.5):
                sock = by_fd[key.fd]
                try:
                    chunk = sock.recv(65536)
                except BlockingIOError:
                    continue
                except OSError:
                    chunk = b""
                buffer = buffers[key.fd]
                buffer += chunk
                done = buffer.startswith(b"HTTP/1.1 200") and buffer.endswith(HELLO)
                if done or not chunk:
                    selector.unregister(sock)
                    pending -= 1
                    if done:
                        answered.append(sock)
    for sock in socks:
        if sock not in answered:
            sock.close()
            failed += 1
    return answered, failed


def _count_open(socks: list[socket.socket]) -> int:
    """Connections the server has not closed: a closed one reads as EOF (or an error)."""
    closed = 0
    by_fd = {sock.fileno(): sock for sock in socks}
    with selectors.DefaultSelector() as selector:
        for sock in socks:
            selector.register(sock, selectors.EVENT_READ)
        for key, _ in selector.select(timeout=0):
            sock = by_fd[key.fd]
            try:
                if sock.recv(1, socket.MSG_PEEK) == b"":
                    closed += 1
            except BlockingIOError:
                pass
            except OSError:
                closed += 1
    return len(socks) - closed


# --------------------------------------------------------------------------------------------
# The run


@dataclass
class Options:
    servers: list[Server]
    scenarios: list[Scenario]
    duration: float
    repeat: int
    warmup: float
    idle_connections: int
    smoke: bool


def measure_one(
    server: Server,
    scenario: Scenario,
    tools: Tools,
    wrk: str,
    wsload: Path,
    opts: Options,
    label: str,
) -> Measurement:
    with RunningServer(server, tools, label) as running:
        running.wait_listening()
        if scenario.kind == "ws":
            check_websocket(running.port)
            return measure_ws(wsload, scenario, running, opts.duration, opts.warmup)
        check_http(running.port, scenario)
        if scenario.kind == "idle":
            return measure_idle(scenario, running, opts.idle_connections)
        return measure_wrk(wrk, scenario, running, opts.duration, opts.warmup)


def run_all(
    opts: Options, tools: Tools, wrk: str, wsload: Path, unavailable: dict[str, str]
) -> dict[tuple[str, str], Cell]:
    cells: dict[tuple[str, str], Cell] = {}
    for scenario in opts.scenarios:
        servers = [s for s in opts.servers if s.interface in scenario.interfaces]
        for server in servers:
            cells[(scenario.name, server.name)] = Cell()
        for rep in range(opts.repeat):
            shift = rep % max(1, len(servers))
            for server in servers[shift:] + servers[:shift]:  # round-robin, rotated each time
                cell = cells[(scenario.name, server.name)]
                if server.name in unavailable:
                    cell.skipped = unavailable[server.name]
                    continue
                label = f"{scenario.name}-{rep + 1}"
                log(f"[{scenario.name} {rep + 1}/{opts.repeat}] {server.name} ...")
                try:
                    m = measure_one(server, scenario, tools, wrk, wsload, opts, label)
                except StartError as exc:
                    unavailable[server.name] = f"did not start: {exc}"
                    cell.skipped = unavailable[server.name]
                    log(f"  SKIPPING {server.name} from now on: {exc}")
                    continue
                except BenchError as exc:
                    cell.failures.append(str(exc))
                    log(f"  FAILED: {exc}")
                    continue
                cell.runs.append(m)
                log(f"  {describe(m, scenario)}")
    return cells


def first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else text


def describe(m: Measurement, scenario: Scenario) -> str:
    if scenario.kind == "idle":
        return (
            f"{m.value:.2f} KiB/conn ({m.held} held, RSS {fmt_mib(m.rest_rss_kib)} -> "
            f"{fmt_mib(m.rss_kib)}, {m.errors} errors)"
        )
    return (
        f"{m.value:,.0f} {scenario.unit}, p50 {fmt_ms(m.p50_ms)}, p99 {fmt_ms(m.p99_ms)}, "
        f"RSS {fmt_mib(m.rss_kib)}, server CPU {fmt_pct(m.server_cpu_pct)}, client CPU "
        f"{fmt_pct(m.client_cpu_pct)}, other load on CPU {SERVER_CPU} "
        f"{fmt_pct(m.other_cpu_pct)}, {m.errors} errors"
    )


# --------------------------------------------------------------------------------------------
# Report


def fmt_ms(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value * 1000:.0f} µs" if value < 1 else f"{value:.2f} ms"


def fmt_pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f}%"


def fmt_mib(kib: float | None) -> str:
    return "—" if kib is None else f"{kib / 1024:.1f} MiB"


def fmt_value(value: float, unit: str) -> str:
    return f"{value:.2f}" if unit == "KiB/conn" else f"{value:,.0f}"


def median_of(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def render_table(
    scenario: Scenario, servers: list[Server], cells: dict[tuple[str, str], Cell]
) -> str:
    medians: dict[str, float] = {}
    for server in servers:
        cell = cells.get((scenario.name, server.name))
        if cell and cell.runs:
            medians[server.name] = statistics.median(m.value for m in cell.runs)
    lines = [f"### {scenario.name}: {scenario.description}", ""]
    if scenario.kind == "idle":
        lines.append(
            f"| server | KiB per connection, median [min{DASH}max] | RSS at rest | RSS holding "
            "them | connections held | errors | vs forno |"
        )
        lines.append("|---|---|---|---|---|---|---|")
    else:
        lines.append(
            f"| server | {scenario.unit}, median [min{DASH}max] | p50 | p99 | server RSS | "
            f"server CPU | client CPU | other load on CPU {SERVER_CPU} | errors | vs forno |"
        )
        lines.append("|---|---|---|---|---|---|---|---|---|---|")
    for server in servers:
        cell = cells.get((scenario.name, server.name))
        if cell is None:
            continue
        name = server.name + (f" ({server.note})" if server.note else "")
        if not cell.runs:
            why = cell.skipped or ("; ".join(first_line(f) for f in cell.failures) or "no data")
            status = "skipped" if cell.skipped else "failed"
            width = 6 if scenario.kind == "idle" else 9
            lines.append(f"| {name} | {status}: {why.replace('|', '/')} |" + " |" * (width - 1))
            continue
        values = [m.value for m in cell.runs]
        med = medians[server.name]
        spread = f"{fmt_value(med, scenario.unit)} [{fmt_value(min(values), scenario.unit)}{DASH}"
        spread += f"{fmt_value(max(values), scenario.unit)}]"
        if cell.failures:
            spread += f" ({len(cell.failures)} failed)"
        forno = medians.get(FORNO_BY_INTERFACE[server.interface])
        ratio = f"{med / forno:.2f}{TIMES}" if forno else "—"
        errors = sum(m.errors for m in cell.runs)
        rss = median_of([m.rss_kib for m in cell.runs])
        if scenario.kind == "idle":
            rest = median_of([m.rest_rss_kib for m in cell.runs])
            held = median_of([m.held for m in cell.runs])
            held_text = "—" if held is None else f"{held:.0f} / {scenario.connections}"
            lines.append(
                f"| {name} | {spread} | {fmt_mib(rest)} | {fmt_mib(rss)} | {held_text} | "
                f"{errors} | {ratio} |"
            )
        else:
            runs = cell.runs
            lines.append(
                f"| {name} | {spread} | {fmt_ms(median_of([m.p50_ms for m in runs]))} | "
                f"{fmt_ms(median_of([m.p99_ms for m in runs]))} | {fmt_mib(rss)} | "
                f"{fmt_pct(median_of([m.server_cpu_pct for m in runs]))} | "
                f"{fmt_pct(median_of([m.client_cpu_pct for m in runs]))} | "
                f"{fmt_pct(max((m.other_cpu_pct or 0.0) for m in runs))} | {errors} | {ratio} |"
            )
    return "\n".join(lines) + "\n"


def render_report(
    opts: Options,
    cells: dict[tuple[str, str], Cell],
    header: list[str],
) -> str:
    parts = ["\n".join(header) + "\n"]
    for scenario in opts.scenarios:
        # Canonical order: forno first, then its ASGI peers, then forno-wsgi and WSGI peers.
        servers = [s for s in SERVERS if s in opts.servers and s.interface in scenario.interfaces]
        if servers:
            parts.append(render_table(scenario, servers, cells))
    return "\n".join(parts)


def build_header(
    opts: Options,
    started: dt.datetime,
    python_version: str,
    versions: dict[str, str | None],
    wrk_name: str,
    busy: list[float],
    load: tuple[float, float, float],
    argv: Sequence[str],
) -> list[str]:
    names = sorted({s.distribution for s in opts.servers})
    if any(s.name == "uvicorn" for s in opts.servers):
        names += ["httptools", "uvloop", "websockets"]
    server_versions = ", ".join(f"{n} {versions.get(n) or 'not installed'}" for n in names)
    busy_text = ", ".join(f"cpu{i} {b:.0%}" for i, b in enumerate(busy))
    title = "forno benchmark smoke run" if opts.smoke else "forno benchmarks"
    return [
        f"# {title}: {started:%Y-%m-%d %H:%M} UTC",
        "",
        f"- Machine: {os.cpu_count()} CPUs ({cpu_model()}), Linux {platform.release()}",
        f"- Python: {python_version} (servers); runner {platform.python_version()}",
        f"- Servers: {server_versions}",
        f"- Load generators: {wrk_name} (1 thread); wsload (C, epoll)",
        f"- Method: one worker per server pinned to CPU {SERVER_CPU}, load generator on CPU "
        f"{CLIENT_CPU}; {opts.repeat} {TIMES} {opts.duration:g} s per measurement after "
        f"{opts.warmup:g} s warm-up, servers started fresh and interleaved; "
        f"median [min{DASH}max]",
        f"- Machine load before the run: load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; "
        f"busy {busy_text}",
        f"- Command: `{shlex.join(['python', 'benchmarks/run.py', *argv])}`",
        "- Server RSS: peak resident set of the server's process tree during the load. Server "
        "CPU / client CPU: CPU time of the server tree / of the load generator over the run "
        f"(100% = one whole core). Other load on CPU {SERVER_CPU}: the worst run's share of the "
        "server's core used by anything else (other processes, kernel work not charged to the "
        "server); above ~10% that run was disturbed.",
    ]


# --------------------------------------------------------------------------------------------
# Entry point


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark forno against its peers (see benchmarks/README.md)."
    )
    parser.add_argument(
        "--servers",
        default=",".join(s.name for s in SERVERS),
        help="comma-separated servers (a prefix such as 'forno' or 'gunicorn' picks each "
        "variant); default: all",
    )
    parser.add_argument(
        "--scenarios",
        default=",".join(s.name for s in SCENARIOS),
        help="comma-separated scenarios; default: all",
    )
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per measurement")
    parser.add_argument("--repeat", type=int, default=3, help="measurements per server")
    parser.add_argument("--warmup", type=float, default=2.0, help="warm-up seconds, unmeasured")
    parser.add_argument("--idle-connections", type=int, default=5000)
    parser.add_argument("--forno-threads", type=int, default=32, help="forno WSGI threads")
    parser.add_argument("--python", default=sys.executable, help="interpreter for benchmarks/.venv")
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="~1 s per scenario against forno only, using this interpreter's forno",
    )
    parser.add_argument("--output", type=Path, help="report file (default: benchmarks/results/)")
    args = parser.parse_args(argv)
    if args.duration <= 0 or args.repeat < 1 or args.warmup < 0 or args.idle_connections < 1:
        parser.error("--duration, --repeat and --idle-connections must be positive")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    raw = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(raw)
    started = dt.datetime.now(dt.UTC)
    if args.smoke:
        opts = Options(
            servers=select_servers("forno"),
            scenarios=select_scenarios(args.scenarios),
            duration=1.0,
            repeat=1,
            warmup=0.0,
            idle_connections=args.idle_connections,
            smoke=True,
        )
    else:
        opts = Options(
            servers=select_servers(args.servers),
            scenarios=select_scenarios(args.scenarios),
            duration=args.duration,
            repeat=args.repeat,
            warmup=args.warmup,
            idle_connections=args.idle_connections,
            smoke=False,
        )
    opts.scenarios = [
        dataclasses.replace(s, connections=opts.idle_connections) if s.kind == "idle" else s
        for s in opts.scenarios
    ]

    nofile = raise_nofile_limit()
    if any(s.kind == "idle" for s in opts.scenarios) and nofile < opts.idle_connections + 100:
        raise SystemExit(f"RLIMIT_NOFILE hard limit {nofile} is too low for the idle scenario")
    if not pin_self_to_client_cpu():
        log("WARNING: fewer than 2 CPUs: server and load generator will share a core")
    load = os.getloadavg()
    busy = cpu_busy_fractions()
    if max(busy, default=0.0) > 0.10 or load[0] > 0.5:
        log(
            f"WARNING: the machine is busy (load average {load[0]:.2f}, CPU busy "
            f"{', '.join(f'{b:.0%}' for b in busy)}): figures from this run are noisy"
        )

    wrk = ensure_wrk()
    wsload = ensure_wsload()
    python = Path(sys.executable) if opts.smoke else ensure_bench_venv(args.python)
    tools = Tools(bin=python.parent, python=python, forno_threads=args.forno_threads)
    python_version, versions = tools_version_info(python)

    unavailable: dict[str, str] = {}
    for server in opts.servers:
        if versions.get(server.distribution) is None:
            unavailable[server.name] = f"{server.distribution} is not installed"
        elif server.probe_module is not None:
            probe = subprocess.run(
                [str(python), "-c", f"import {server.probe_module}"],
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            if probe.returncode != 0:
                why = first_line(probe.stderr.strip().splitlines()[-1] if probe.stderr else "")
                unavailable[server.name] = f"import {server.probe_module} failed: {why}"
    for name, why in unavailable.items():
        log(f"Skipping {name}: {why}")

    cells = run_all(opts, tools, wrk, wsload, unavailable)

    header = build_header(
        opts, started, python_version, versions, wrk_version(wrk), busy, load, raw
    )
    report = render_report(opts, cells, header)
    print(report)
    if args.output is not None:
        targets = [args.output]
    elif opts.smoke:
        targets = [BUILD / "smoke.md"]
    else:
        targets = [RESULTS / f"{started:%Y%m%dT%H%M%SZ}.md", RESULTS / "latest.md"]
    for target in targets:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(report)
        log(f"Wrote {target}")

    return exit_status(opts, cells, unavailable)


def exit_status(
    opts: Options, cells: dict[tuple[str, str], Cell], unavailable: dict[str, str]
) -> int:
    """Smoke: any error or skip fails. Full run: measurement errors and peers that did not start
    fail; forno not starting, or an optional peer not installed, is only reported."""
    failed = False
    for (scenario, name), cell in cells.items():
        if cell.failures:
            failed = True
            log(f"ERROR: {name} / {scenario}: {first_line(cell.failures[0])}")
    for name, why in unavailable.items():
        if opts.smoke:
            failed = True
            log(f"ERROR: {name}: {why}")
        elif name.startswith("forno"):
            log(f"NOTE: {name} skipped ({why}); the tables compare the peers only")
        elif why.startswith("did not start"):
            failed = True
            log(f"ERROR: {name}: {why}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
