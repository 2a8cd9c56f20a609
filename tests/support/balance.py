"""Which worker answers? Shared listening sockets vs ``--reuse-port``, measured.

Run: ``.venv/bin/python -m tests.support.balance [WORKERS] [CLIENTS] [REQUESTS_PER_CLIENT]``.
Starts forno with several workers in each mode, has CLIENTS threads send requests to ``/pid``
either on one keep-alive connection each or on a new connection per request, and prints how
many requests each worker answered (and a rough request rate: the load generator shares the
machine's cores with the server, so compare distributions, not rates). docs/deployment.md has
the results.
"""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

from tests.support.processes import wait_until
from tests.support.server import APPS_DIR, REPO_ROOT

CONTENT_LENGTH = re.compile(rb"content-length: (\d+)", re.IGNORECASE)


def pid_request(sock: socket.socket) -> int:
    sock.sendall(b"GET /pid HTTP/1.1\r\nHost: x\r\n\r\n")
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(4096)
    head, _, body = data.partition(b"\r\n\r\n")
    match = CONTENT_LENGTH.search(head)
    assert match is not None
    while len(body) < int(match.group(1)):
        body += sock.recv(4096)
    return int(body)


def load(port: int, clients: int, per_client: int, keep_alive: bool) -> tuple[Counter[int], float]:
    counts: Counter[int] = Counter()
    lock = threading.Lock()

    def client() -> None:
        local: Counter[int] = Counter()
        sock: socket.socket | None = None
        for _ in range(per_client):
            if sock is None or not keep_alive:
                if sock is not None:
                    sock.close()
                sock = socket.create_connection(("127.0.0.1", port))
            local[pid_request(sock)] += 1
        if sock is not None:
            sock.close()
        with lock:
            counts.update(local)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    start = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return counts, sum(counts.values()) / (time.monotonic() - start)


def measure(reuse_port: bool, workers: int, clients: int, per_client: int) -> None:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    args = [
        sys.executable,
        "-m",
        "forno",
        "sup_app:app",
        "--app-dir",
        str(APPS_DIR),
        "--workers",
        str(workers),
        "--bind",
        f"127.0.0.1:{port}",
        "--no-access-log",
    ]
    if reuse_port:
        args.append("--reuse-port")
    with tempfile.NamedTemporaryFile(prefix="forno-balance-") as log:
        process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, cwd=REPO_ROOT)
        try:
            path = Path(log.name)
            wait_until(lambda: path.read_text().count(": ready") >= workers, 30, "workers")
            mode = "reuse-port" if reuse_port else "shared"
            for keep_alive in (False, True):
                counts, rate = load(port, clients, per_client, keep_alive)
                spread = sorted(counts.values(), reverse=True)
                ratio = spread[0] / spread[-1] if len(spread) == workers else float("inf")
                style = "keep-alive" if keep_alive else "new connection"
                print(
                    f"{mode:10} {style:15} per worker {spread}  max/min {ratio:.2f}  "
                    f"~{rate:.0f} req/s"
                )
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(30)


def main() -> None:
    given = [int(a) for a in sys.argv[1:4]]
    workers, clients, per_client = [*given, *(4, 8, 500)[len(given) :]]
    for reuse_port in (False, True):
        measure(reuse_port, workers, clients, per_client)


if __name__ == "__main__":
    main()
