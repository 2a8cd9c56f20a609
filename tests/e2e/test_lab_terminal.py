"""``forno lab`` in the terminal, read from its output; and no lane outlives the lab."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator

import httpx
import psutil
import pytest

from forno.lab.lanes import BY_ID, LANES, LaneError, LaneServer
from tests.support.lab import DELAY, USERS, assert_claims, pitfall_line
from tests.support.processes import alive, free_listener, kill_all, start_forno, wait_until
from tests.support.server import REPO_ROOT, serve

WIDTH = 60
HEADER = re.compile(
    r"^(?P<title>\S.*?)\s+total (?P<total>[\d.]+) s\s+\(ideal (?P<ideal>[\d.]+) s\)"
    r"(?:\s+(?P<mib>\d+) MiB in (?P<processes>\d+) process\(es\))?$"
)
USER = re.compile(r"^  user\s+(?P<user>\d+) \|(?P<bar>.*)\| (?P<seconds>[\d.]+) s")
AXIS = re.compile(r"time axis 0 to (?P<axis>[\d.]+) s")
SOLID = "█#"
TITLES = {lane.title: lane.id for lane in LANES}


def forno_lab(*args: str) -> list[str]:
    return [sys.executable, "-m", "forno", "lab", *args]


def parse(
    output: str,
) -> tuple[dict[str, float], dict[str, list[tuple[float, float]]], dict[str, str]]:
    """Totals, served spans (from the solid part of each bar) and the line under each lane."""
    axis_match = AXIS.search(output)
    assert axis_match, output
    per_column = float(axis_match["axis"]) / WIDTH
    totals: dict[str, float] = {}
    served: dict[str, list[tuple[float, float]]] = {}
    notes: dict[str, str] = {}
    memory: dict[str, tuple[int, int]] = {}
    lane = ""
    for line in output.splitlines():
        if header := HEADER.match(line):
            lane = TITLES[header["title"]]
            totals[lane] = float(header["total"])
            served[lane] = []
            if header["mib"]:
                memory[lane] = (int(header["mib"]), int(header["processes"]))
        elif user := USER.match(line):
            bar = user["bar"]
            assert len(bar) == WIDTH, line
            solid = [i for i, char in enumerate(bar) if char in SOLID]
            assert solid, line
            served[lane].append((solid[0] * per_column, (solid[-1] + 1) * per_column))
        elif line.strip() and lane:
            notes[lane] = line.strip()
    return totals, served, notes, memory


def test_forno_lab_prints_the_timeline_and_the_detector_line() -> None:
    done = subprocess.run(
        forno_lab("--users", str(USERS), "--delay", str(DELAY), "--width", str(WIDTH)),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    totals, served, notes, memory = parse(done.stdout)
    assert_claims(totals, served, done.stdout)
    assert all(len(spans) == USERS for spans in served.values()), done.stdout
    # The blocking detector names the pitfall's time.sleep, file:line, under its lane.
    expected = f"{os.path.join('forno', 'lab', 'apps.py')}:{pitfall_line()} in pitfall"
    assert notes["asgi-blocking"].startswith("blocking detector: "), done.stdout
    assert notes["asgi-blocking"].endswith(expected), done.stdout
    if sys.platform == "linux":
        # The price of processes: a supervisor and a worker per user, each with its own memory.
        assert memory["wsgi-1-thread"][1] == 1, done.stdout
        assert memory["wsgi-workers"][1] == USERS + 1, done.stdout
        assert memory["wsgi-workers"][0] > memory["wsgi-1-thread"][0], done.stdout


def test_bad_arguments_are_a_usage_error() -> None:
    for args in (["--users", "0"], ["--delay", "0.01"], ["--lanes", "nope"]):
        done = subprocess.run(
            forno_lab(*args), capture_output=True, text=True, timeout=60, check=False
        )
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert "Error" in done.stderr, done.stderr


def descendants(pid: int) -> set[int]:
    try:
        return {p.pid for p in psutil.Process(pid).children(recursive=True)}
    except psutil.NoSuchProcess:
        return set()


@pytest.fixture
def lab_process() -> Iterator[subprocess.Popen[bytes]]:
    """``forno lab`` with a long delay, killed (with whatever it started) if a test fails."""
    process = subprocess.Popen(
        forno_lab("--users", "2", "--delay", "8", "--lanes", "wsgi-workers,asgi-await"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=REPO_ROOT,
    )
    seen: set[int] = set()
    try:
        yield process
    finally:
        seen |= descendants(process.pid)
        process.kill()
        process.wait(10)
        kill_all(seen)


def test_ctrl_c_on_forno_lab_stops_every_lane_server(
    lab_process: subprocess.Popen[bytes],
) -> None:
    # Two lanes: one forno, and a supervisor with two workers: four processes once all run.
    lanes = lane_pids(lab_process.pid, 4)
    lab_process.send_signal(signal.SIGINT)
    assert lab_process.wait(30) == 130
    wait_until(lambda: not any(alive(pid) for pid in lanes), 15, "every lane to exit")


def lane_pids(server_pid: int, count: int) -> set[int]:
    def enough() -> set[int] | None:
        pids = descendants(server_pid)
        return pids if len(pids) >= count else None

    found = wait_until(enough, 30, f"{count} lane processes")
    assert isinstance(found, set)
    return found


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_no_lane_outlives_the_lab_server(stop: signal.Signals) -> None:
    """Stopped with the page's server (lifespan shutdown), or even when it is killed outright
    (each lane ends its own process group once the lab's PID is gone)."""
    with serve("forno.demo:app", check_exit=False) as server:
        server.wait_ready()
        response = httpx.get(
            server.url + "/api/run",
            params={"users": 1, "delay": 0.2, "lanes": "wsgi-workers,asgi-await", "workers": 2},
            timeout=60,
        )
        assert response.status_code == 200
        assert '"type": "done"' in response.text, response.text
        pids = lane_pids(server.process.pid, 4)
        try:
            server.signal(stop)
            server.process.wait(30)
            wait_until(lambda: not any(alive(pid) for pid in pids), 15, "every lane to exit")
        finally:
            kill_all(pids)


def test_run_requests_outside_the_bounds_get_400() -> None:
    with serve("forno.demo:app") as server:
        server.wait_ready()
        for params in ({"users": 21}, {"delay": 60}, {"lanes": "nope"}, {"users": "x"}):
            response = httpx.get(server.url + "/api/run", params=params, timeout=10)
            assert response.status_code == 400, (params, response.text)
            assert response.json()["error"]


def test_forno_with_no_app_serves_the_lab_page() -> None:
    sock = free_listener()
    port = sock.getsockname()[1]
    # No app named at all (as `make run` does), on a socket handed over systemd-style.
    with start_forno([], systemd_socket=sock) as started:
        sock.close()
        started.wait_log("forno ready")
        page = httpx.get(f"http://127.0.0.1:{port}/", timeout=10)
        assert page.status_code == 200
        assert "forno concurrency lab" in page.text
        script = httpx.get(f"http://127.0.0.1:{port}/lab.js", timeout=10)
        assert script.headers["content-type"].startswith("text/javascript")
        lanes = httpx.get(f"http://127.0.0.1:{port}/api/lanes", timeout=10).json()["lanes"]
        assert [lane["id"] for lane in lanes] == [lane.id for lane in LANES]


def test_a_page_closed_mid_run_does_not_wedge_the_lab() -> None:
    params = {"users": 2, "delay": 1, "lanes": "asgi-await"}
    with serve("forno.demo:app") as server:
        server.wait_ready()
        url = server.url + "/api/run"
        with httpx.stream("GET", url, params=params, timeout=60) as response:
            assert response.status_code == 200
            first = next(response.iter_lines())
            assert '"type": "starting"' in first
        # One run at a time: until the abandoned one ends, another is refused, never queued.

        def next_run() -> httpx.Response | None:
            again = httpx.get(url, params={**params, "delay": 0.2}, timeout=60)
            return None if again.status_code == 409 else again

        again = wait_until(next_run, 30, "the abandoned run to end")
        assert isinstance(again, httpx.Response)
        assert again.status_code == 200
        assert '"type": "done"' in again.text, again.text


def test_a_lane_that_cannot_start_is_a_clear_error() -> None:
    spec = dataclasses.replace(BY_ID["asgi-await"], app="forno.lab.apps:no_such_app")
    server = LaneServer(spec, ())
    server.start()
    try:
        with pytest.raises(LaneError, match="forno exited") as info:
            asyncio.run(server.wait_ready(timeout=30))
        assert "no_such_app" in str(info.value)
    finally:
        server.stop()
    assert not server.alive()
