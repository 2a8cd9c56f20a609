"""Listening sockets under the supervisor: systemd activation, Unix sockets, SO_REUSEPORT."""

from __future__ import annotations

import re
import signal
import socket
import stat
import sys
from collections import Counter
from pathlib import Path

import httpx
import pytest

from tests.support.processes import (
    start_forno,
    supervised,
    wait_until,
)
from tests.support.server import APPS_DIR


def pids_over_new_connections(url: str, count: int) -> Counter[int]:
    seen: Counter[int] = Counter()
    for _ in range(count):
        with httpx.Client(timeout=10) as client:
            seen[int(client.get(url + "/pid").text)] += 1
    return seen


def test_systemd_socket_activation_is_shared_by_every_worker() -> None:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    port = listener.getsockname()[1]
    args = ["sup_app:app", "--app-dir", str(APPS_DIR), "--workers", "2", "--port", "1"]
    with start_forno(args, systemd_socket=listener) as started:
        listener.close()
        log = started.wait_log("starting 2 worker(s)")
        assert f"listening on 127.0.0.1:{port};" in log
        url = f"http://127.0.0.1:{port}"

        def both_workers() -> bool:
            return len(pids_over_new_connections(url, 10)) == 2

        wait_until(both_workers, 20, "answers from both workers on the systemd socket")
        started.process.send_signal(signal.SIGTERM)
        assert started.process.wait(30) == 0


def test_unix_socket_survives_a_rolling_restart_and_is_removed_at_exit(tmp_path: Path) -> None:
    path = tmp_path / "forno.sock"
    args = ("--workers", "2", "--bind", f"unix:{path}", "--uds-mode", "0o600")
    with supervised("sup_app:app", *args) as sup:
        old = sup.wait_workers(2)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        transport = httpx.HTTPTransport(uds=str(path))
        with httpx.Client(transport=transport, timeout=10) as client:
            assert int(client.get("http://forno/pid").text) in old
            sup.server.signal(signal.SIGHUP)
            new = sup.wait_workers(2, exclude=old, timeout=30)
            wait_until(lambda: f"worker {min(old)}: exited" in sup.server.log(), 30, "old exit")
        # A worker that stops must not remove the socket file its siblings still serve.
        assert path.exists()
        with httpx.Client(transport=httpx.HTTPTransport(uds=str(path)), timeout=10) as client:
            assert int(client.get("http://forno/pid").text) in new
        sup.server.signal(signal.SIGTERM)
        assert sup.wait_exit(30) == 0
    assert not path.exists()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="SO_REUSEPORT balancing: Linux")
def test_reuse_port_gives_each_worker_its_own_socket() -> None:
    args = ("--workers", "2", "--bind", "127.0.0.1:0", "--reuse-port")
    with supervised("sup_app:app", *args) as sup:
        workers = sup.wait_workers(2)
        log = sup.server.log()
        assert "(reuse-port, one socket per worker)" in log
        match = re.search(r"127\.0\.0\.1:(\d+) \(reuse-port", log)
        assert match is not None
        port = int(match.group(1))
        url = f"http://127.0.0.1:{port}"

        def both_workers() -> bool:
            return set(pids_over_new_connections(url, 20)) == workers

        wait_until(both_workers, 20, "answers from both reuse-port workers")
