"""The programmatic API: forno.serve embedded in a running loop, forno.run in a process."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys

import httpx

import forno
from tests.support.server import APPS_DIR, REPO_ROOT, bind_socket


async def hello(scope: dict[str, object], receive: object, send: object) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})  # type: ignore[operator]
    await send({"type": "http.response.body", "body": b"embedded"})  # type: ignore[operator]


def test_serve_embedded_with_shutdown_trigger() -> None:
    sock = bind_socket()
    port = sock.getsockname()[1]

    async def main() -> str:
        stop = asyncio.Event()
        server = asyncio.create_task(
            forno.serve(hello, sockets=[sock], shutdown_trigger=stop.wait(), lifespan="off")
        )
        async with httpx.AsyncClient() as client:
            response = await client.get(f"http://127.0.0.1:{port}/")
        stop.set()
        await asyncio.wait_for(server, 10)
        return response.text

    assert asyncio.run(main()) == "embedded"


def test_run_blocks_until_sigterm() -> None:
    sock = bind_socket()
    code = (
        "import forno, sys; "
        f"forno.run('basic_asgi:app', app_dir={str(APPS_DIR)!r}, fd=[{sock.fileno()}])"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code],
        pass_fds=(sock.fileno(),),
        cwd=REPO_ROOT,
        env=os.environ.copy(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        port = sock.getsockname()[1]
        assert httpx.get(f"http://127.0.0.1:{port}/fast", timeout=10).text == "fast"
        process.send_signal(signal.SIGTERM)
        assert process.wait(15) == 0
    finally:
        sock.close()
        if process.poll() is None:
            process.kill()
            process.wait()
        assert process.stdout is not None
        process.stdout.close()
