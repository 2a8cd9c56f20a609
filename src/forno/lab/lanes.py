"""The six lanes, and the real forno servers that serve them.

Every lane is ``python -m forno forno.lab.apps:<app>`` in its own process group, on a socket the
lab binds on 127.0.0.1 (port 0) and hands over with ``--fd``: the port is known before the child
starts and nothing races for it. Lanes start in parallel; a lane is ready when it answers
``GET /ping``. ``LaneServers.stop`` ends them all (SIGTERM to the lane's main process, then
SIGKILL to its group after ``STOP_TIMEOUT``); it runs on the lab's exit paths (the page app's
lifespan shutdown, the terminal command's ``finally``) and from ``atexit``, and each lane app
also ends its group when the lab's PID disappears (``apps.PARENT_ENV``), so a killed lab leaves
no orphans either.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from forno.lab.apps import PARENT_ENV
from forno.lab.runner import HTTPError, get_json

# Bounds of a run: the page and `forno lab` refuse values outside them.
MAX_USERS = 20
MIN_DELAY = 0.2  # below the blocking detector's 0.1 s threshold nothing would be reported
MAX_DELAY = 10.0
# A lane server that is not answering /ping this long after it was started failed to start.
READY_TIMEOUT = 30.0
# The pause between two readiness checks that failed outright (not merely waited).
READY_RETRY = 0.05
# How long a lane's main process gets to exit after SIGTERM before its group is killed.
STOP_TIMEOUT = 5.0
# Lines of a failed lane's log quoted in the error.
LOG_TAIL_LINES = 20


@dataclass(frozen=True, slots=True)
class Params:
    """What a run asks for; the lane specs turn it into forno flags."""

    users: int
    delay: float
    threads: int  # lane 2's WSGI threads
    workers: int  # lane 3's worker processes


@dataclass(frozen=True, slots=True)
class LaneSpec:
    id: str
    title: str
    app: str
    explain: str
    flags: Callable[[Params], tuple[str, ...]]
    # How many requests the lane can serve at once (its ideal is ceil(users / parallel) delays).
    parallel: Callable[[Params], int]
    # Spread the users' connections over the lane's worker processes before the run.
    spread: bool = False
    # Fetch the blocking detector's report after the run.
    detector: bool = False


APPS = "forno.lab.apps"

LANES: tuple[LaneSpec, ...] = (
    LaneSpec(
        "wsgi-1-thread",
        "WSGI, 1 thread",
        f"{APPS}:wsgi_sleep",
        "A Flask-style def handler calling time.sleep, one thread: one request at a time.",
        lambda p: ("--threads", "1"),
        lambda p: 1,
    ),
    LaneSpec(
        "wsgi-threads",
        "WSGI, N threads",
        f"{APPS}:wsgi_sleep",
        "The same handler on a pool of N threads: N requests at a time, a thread each.",
        lambda p: ("--threads", str(p.threads)),
        lambda p: p.threads,
    ),
    LaneSpec(
        "wsgi-workers",
        "WSGI, N processes",
        f"{APPS}:wsgi_sleep",
        "The same handler in N worker processes of one thread each (forno --workers N).",
        lambda p: ("--workers", str(p.workers), "--threads", "1"),
        lambda p: p.workers,
        spread=True,
    ),
    LaneSpec(
        "asgi-await",
        "ASGI, await asyncio.sleep",
        f"{APPS}:asgi_await",
        "async def that awaits: one thread, one event loop, every request at once.",
        lambda p: (),
        lambda p: MAX_USERS,
    ),
    LaneSpec(
        "asgi-blocking",
        "ASGI, time.sleep in async def",
        f"{APPS}:pitfall",
        "async def that calls time.sleep: the event loop stops, so does everyone else.",
        lambda p: (),
        lambda p: 1,
        detector=True,
    ),
    LaneSpec(
        "asgi-threadpool",
        "ASGI, def on a thread pool",
        f"{APPS}:asgi_threadpool",
        "A sync def run on a thread pool of 40, as FastAPI runs def endpoints.",
        lambda p: (),
        lambda p: 40,
    ),
)

BY_ID = {lane.id: lane for lane in LANES}


class LaneError(RuntimeError):
    pass


def _child_env() -> dict[str, str]:
    # The lanes must run this forno, whichever way it was imported.
    here = str(Path(__file__).resolve().parents[2])
    path = os.environ.get("PYTHONPATH", "")
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([here, path]) if path else here,
        "PYTHONUNBUFFERED": "1",
        PARENT_ENV: str(os.getpid()),
    }


class LaneServer:
    """One lane's forno, from ``start`` (returns at once) to ``stop``."""

    def __init__(self, spec: LaneSpec, flags: tuple[str, ...]) -> None:
        self.spec = spec
        self.flags = flags
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self._log = tempfile.NamedTemporaryFile(prefix=f"forno-lab-{spec.id}-", suffix=".log")  # noqa: SIM115

    @property
    def command(self) -> list[str]:
        return [sys.executable, "-m", "forno", self.spec.app, *self.flags]

    def start(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.bind(("127.0.0.1", 0))
            sock.listen(128)
            self.port = sock.getsockname()[1]
            fd = sock.fileno()
            command = [*self.command, "--fd", str(fd), "--no-access-log", "--log-level", "warning"]
            self.process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                pass_fds=(fd,),
                env=_child_env(),
                start_new_session=True,  # its own process group: stop() can end its workers too
            )
        finally:
            sock.close()

    def log_tail(self) -> str:
        try:
            text = Path(self._log.name).read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-LOG_TAIL_LINES:])

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    async def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if not self.alive():
                code = None if self.process is None else self.process.returncode
                raise LaneError(
                    f"lane {self.spec.id}: forno exited ({code}) before it was ready:\n"
                    f"{self.log_tail()}"
                )
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise LaneError(f"lane {self.spec.id}: not ready after {timeout:g} s")
            # The socket listens already: the request waits in its backlog until the app is up.
            try:
                await get_json("127.0.0.1", self.port, "/ping", timeout=min(1.0, remaining))
            except (HTTPError, OSError, TimeoutError):
                # Refused or cut off: the child is going down. Look again shortly, not at once.
                await asyncio.sleep(READY_RETRY)
            else:
                return

    def memory(self) -> tuple[int, int] | None:
        """(Resident bytes, processes) of the lane's process group; None where /proc is not."""
        if self.process is None:
            return None
        return group_memory(self.process.pid)

    def terminate(self) -> None:
        """Ask the lane's forno to stop (its graceful shutdown ends its workers too)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def finish(self) -> None:
        """Wait for the lane to stop; then kill whatever is left of its process group."""
        process = self.process
        if process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(STOP_TIMEOUT)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(STOP_TIMEOUT)
        self._log.close()

    def stop(self) -> None:
        self.terminate()
        self.finish()


def group_memory(pgid: int, proc: Path = Path("/proc")) -> tuple[int, int] | None:
    """Sum of VmRSS over the processes of group ``pgid`` (Linux ``/proc``), and their count."""
    if not proc.is_dir():
        return None
    total = count = 0
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            # Field 5 of stat is the process group; the command name (field 2) may hold spaces.
            stat = (entry / "stat").read_text()
            if int(stat.rpartition(")")[2].split()[2]) != pgid:
                continue
            status = (entry / "status").read_text()
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile, or not ours to read
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) * 1024
                count += 1
                break
    return (total, count) if count else None


class LaneServers:
    """The lab's running lanes, restarted when a run needs other flags."""

    def __init__(self) -> None:
        self._servers: dict[str, LaneServer] = {}
        self._lock = threading.Lock()
        atexit.register(self.stop)

    async def ensure(self, specs: list[LaneSpec], params: Params) -> dict[str, LaneServer]:
        """Start (in parallel) every lane of ``specs`` not already running with these flags."""
        started: list[LaneServer] = []
        stale: list[LaneServer] = []
        with self._lock:
            for spec in specs:
                flags = spec.flags(params)
                server = self._servers.get(spec.id)
                if server is not None and server.flags == flags and server.alive():
                    continue
                if server is not None:
                    stale.append(server)
                server = LaneServer(spec, flags)
                self._servers[spec.id] = server
                started.append(server)
        if stale:
            await asyncio.to_thread(_stop_all, stale)
        # fork+exec of several interpreters takes a while: off the loop, which serves the page.
        await asyncio.to_thread(_start_all, started)
        results = await asyncio.gather(
            *(server.wait_ready() for server in started), return_exceptions=True
        )
        for result in results:
            if isinstance(result, BaseException):
                raise result
        with self._lock:
            return {spec.id: self._servers[spec.id] for spec in specs}

    def stop(self) -> None:
        with self._lock:
            servers = list(self._servers.values())
            self._servers.clear()
        _stop_all(servers)


def _start_all(servers: list[LaneServer]) -> None:
    for server in servers:
        server.start()


def _stop_all(servers: list[LaneServer]) -> None:
    # All at once: six lanes stop in the time of the slowest, not the sum.
    for server in servers:
        server.terminate()
    for server in servers:
        server.finish()
