"""Run a real forno server in a child process for a test.

The test binds the listening socket itself and hands it over with ``--fd``: the port is known
before the child starts, there is no port race, and a connection made before the child is ready
simply waits in the backlog instead of failing.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
APPS_DIR = REPO_ROOT / "tests" / "apps"


@dataclass
class RunningServer:
    process: subprocess.Popen[bytes]
    host: str
    port: int
    log_path: Path
    _log_file: object = field(repr=False, default=None)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for_log(self, text: str, timeout: float = 10.0) -> str:
        """Block until ``text`` shows up in the server's output (bounded)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            content = self.log()
            if text in content:
                return content
            if self.process.poll() is not None:
                break
            time.sleep(0.02)
        raise AssertionError(f"{text!r} never appeared in the server log:\n{self.log()}")

    def wait_ready(self, timeout: float = 15.0) -> None:
        self.wait_for_log("forno ready", timeout)

    def signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    def stop(self, timeout: float = 15.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        return self.process.returncode


def bind_socket(host: str = "127.0.0.1") -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    sock.listen(1024)
    sock.set_inheritable(True)
    return sock


def forno_command(app: str, args: Sequence[str] = ()) -> list[str]:
    return [sys.executable, "-m", "forno", app, "--app-dir", str(APPS_DIR), *args]


@contextlib.contextmanager
def serve(
    app: str,
    *args: str,
    env: dict[str, str] | None = None,
    use_fd: bool = True,
    check_exit: bool = True,
) -> Iterator[RunningServer]:
    """Start ``forno app`` on a fresh socket and stop it afterwards.

    ``app`` is an import string relative to tests/apps. Extra ``args`` are CLI flags.
    """
    sock = bind_socket() if use_fd else None
    log_file = tempfile.NamedTemporaryFile(prefix="forno-", suffix=".log", delete=False)  # noqa: SIM115
    cmd = forno_command(app, args)
    pass_fds: tuple[int, ...] = ()
    port = 0
    if sock is not None:
        cmd += ["--fd", str(sock.fileno())]
        pass_fds = (sock.fileno(),)
        port = sock.getsockname()[1]
    child_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    process = subprocess.Popen(
        cmd,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        pass_fds=pass_fds,
        env=child_env,
        cwd=REPO_ROOT,
    )
    if sock is not None:
        sock.close()
    server = RunningServer(process, "127.0.0.1", port, Path(log_file.name), log_file)
    try:
        yield server
    finally:
        code = server.stop()
        log_file.close()
        text = server.log()
        os.unlink(log_file.name)
        if check_exit and code not in (0, -signal.SIGTERM):
            raise AssertionError(f"forno exited with {code}:\n{text}")
