"""Helpers for the supervisor tests: worker PIDs, bounded waits, a steady HTTP load.

``supervised()`` wraps ``tests.support.server.serve`` and, whatever happens, kills every process
the supervisor ever started (workers are tracked as they are seen) after the supervisor itself
has been stopped. Waits poll a condition (a log line, a set of PIDs, a response) with a bound;
nothing sleeps for a fixed time to let something happen.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

from tests.support.server import APPS_DIR, REPO_ROOT, RunningServer, serve

POLL = 0.02
READY_LINE = re.compile(r"worker (\d+): ready")


def wait_until(condition: Callable[[], object], timeout: float, what: str) -> object:
    """Poll ``condition`` until it returns something truthy (bounded)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(POLL)


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def kill_all(pids: set[int]) -> None:
    for pid in pids:
        with contextlib.suppress(psutil.NoSuchProcess, ProcessLookupError):
            psutil.Process(pid).kill()


@dataclass
class Supervised:
    """A running supervisor (``server``) and what the test has seen of its workers."""

    server: RunningServer
    seen: set[int] = field(default_factory=set)

    @property
    def pid(self) -> int:
        return self.server.process.pid

    def children(self) -> set[int]:
        try:
            pids = {p.pid for p in psutil.Process(self.pid).children(recursive=True)}
        except psutil.NoSuchProcess:
            return set()
        self.seen |= pids
        return {pid for pid in pids if alive(pid)}

    def ready_pids(self) -> set[int]:
        """Workers the supervisor has logged as ready and that are still running."""
        ready = {int(m) for m in READY_LINE.findall(self.server.log())}
        return ready & self.children()

    def wait_workers(
        self,
        count: int,
        *,
        exclude: frozenset[int] | set[int] = frozenset(),
        others: int = 0,
        timeout: float = 20.0,
    ) -> set[int]:
        """Wait until exactly ``count`` ready workers run, none of them in ``exclude``, and no
        other child process but ``others`` (the --reload file watcher)."""

        def check() -> set[int] | None:
            ready = self.ready_pids()
            children = self.children()
            if len(ready) == count and not ready & exclude and len(children - ready) == others:
                return ready
            return None

        result = wait_until(check, timeout, f"{count} ready workers (excluding {exclude})")
        assert isinstance(result, set)
        return result

    def wait_log(self, text: str, timeout: float = 20.0) -> str:
        return self.server.wait_for_log(text, timeout)

    def wait_exit(self, timeout: float = 30.0) -> int:
        return self.server.process.wait(timeout)


@contextlib.contextmanager
def supervised(
    app: str, *args: str, env: dict[str, str] | None = None, check_exit: bool = True
) -> Iterator[Supervised]:
    """``serve()`` with cleanup of every worker seen, even if the supervisor was killed."""
    with contextlib.ExitStack() as stack:
        tracked: set[int] = set()
        stack.callback(kill_all, tracked)
        server = stack.enter_context(serve(app, *args, env=env, check_exit=check_exit))
        sup = Supervised(server, tracked)
        stack.callback(sup.children)  # one last look before the supervisor is stopped
        yield sup


def get_pid(client: httpx.Client, url: str, path: str = "/pid") -> int:
    response = client.get(url + path)
    assert response.status_code == 200
    return int(response.text)


@dataclass
class LoadReport:
    ok: int = 0
    failures: list[str] = field(default_factory=list)
    pids: Counter[int] = field(default_factory=Counter)


class SteadyLoad:
    """``clients`` threads, each looping over requests on its own keep-alive connection."""

    def __init__(self, url: str, clients: int = 4, path: str = "/pid") -> None:
        self.url = url + path
        self.clients = clients
        self.stop_event = threading.Event()
        self.report = LoadReport()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run, daemon=True) for _ in range(clients)]

    def run(self) -> None:
        with httpx.Client(timeout=10.0) as client:
            while not self.stop_event.is_set():
                try:
                    response = client.get(self.url)
                    pid = int(response.text) if response.status_code == 200 else 0
                except (httpx.HTTPError, ValueError) as exc:
                    with self.lock:
                        self.report.failures.append(repr(exc))
                    continue
                with self.lock:
                    if pid:
                        self.report.ok += 1
                        self.report.pids[pid] += 1
                    else:
                        self.report.failures.append(f"status {response.status_code}")

    def __enter__(self) -> SteadyLoad:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def wait_requests(self, count: int, timeout: float = 20.0) -> None:
        start = self.report.ok
        wait_until(lambda: self.report.ok >= start + count, timeout, f"{count} more responses")

    def stop(self) -> LoadReport:
        self.stop_event.set()
        for thread in self.threads:
            thread.join(15)
        return self.report


# ---- processes started without serve(): systemd socket activation, reload --------------------


@dataclass
class Started:
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_log(self, text: str, timeout: float = 20.0) -> str:
        def check() -> str | None:
            content = self.log()
            if text in content:
                return content
            if self.process.poll() is not None:
                raise AssertionError(
                    f"exited ({self.process.returncode}) before {text!r}:\n{content}"
                )
            return None

        found = wait_until(check, timeout, repr(text))
        assert isinstance(found, str)
        return found


# Exec'd in the child: moves the socket to fd 3 and names its own PID, which forno keeps.
SYSTEMD_WRAPPER = """
import os, sys
fd = int(sys.argv[1])
os.dup2(fd, 3)
os.close(fd)
os.environ["LISTEN_FDS"] = "1"
os.environ["LISTEN_PID"] = str(os.getpid())
os.execv(sys.executable, [sys.executable, "-m", "forno", *sys.argv[2:]])
"""


@contextlib.contextmanager
def start_forno(
    args: Sequence[str],
    *,
    systemd_socket: socket.socket | None = None,
    env: dict[str, str] | None = None,
    cwd: Path = REPO_ROOT,
) -> Iterator[Started]:
    """Run ``python -m forno ARGS``; with ``systemd_socket``, as systemd socket activation would
    (the socket at fd 3, ``LISTEN_FDS=1``, ``LISTEN_PID`` = the server's own PID)."""
    command = [sys.executable, "-m", "forno", *args]
    pass_fds: tuple[int, ...] = ()
    if systemd_socket is not None:
        fd = systemd_socket.fileno()
        command = [sys.executable, "-c", SYSTEMD_WRAPPER, str(fd), *args]
        pass_fds = (fd,)
    log_file = tempfile.NamedTemporaryFile(prefix="forno-sup-", suffix=".log", delete=False)  # noqa: SIM115
    child_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    process = subprocess.Popen(
        command,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        pass_fds=pass_fds,
        env=child_env,
        cwd=cwd,
    )
    started = Started(process, Path(log_file.name))
    tracked: set[int] = set()
    try:
        yield started
    finally:
        with contextlib.suppress(psutil.NoSuchProcess):
            tracked |= {p.pid for p in psutil.Process(process.pid).children(recursive=True)}
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        kill_all(tracked)
        log_file.close()
        os.unlink(log_file.name)


def free_listener(host: str = "127.0.0.1") -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((host, 0))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


__all__ = ["APPS_DIR", "REPO_ROOT"]
