"""The supervisor with real worker processes: crashes, stop, boot failures, scaling, pid file."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from pathlib import Path

import httpx

from tests.support.processes import alive, get_pid, supervised, wait_until
from tests.support.server import REPO_ROOT, forno_command


def test_killed_worker_is_replaced_and_the_other_is_unaffected() -> None:
    with supervised("sup_app:app", "--workers", "2") as sup:
        first = sup.wait_workers(2)
        with httpx.Client(timeout=10) as client:
            # One keep-alive connection: every request on it reaches the same worker.
            survivor = get_pid(client, sup.server.url)
            (victim,) = first - {survivor}
            result: dict[str, int] = {}
            slow = threading.Thread(
                target=lambda: result.update(pid=get_pid(client, sup.server.url, "/sleep?s=1"))
            )
            slow.start()
            sup.wait_log(f"sup_app sleeping in {survivor}")
            os.kill(victim, signal.SIGKILL)
            replaced = sup.wait_workers(2, exclude={victim})
            slow.join(10)
            assert result == {"pid": survivor}  # in flight on the other worker: unaffected
            assert survivor in replaced
            assert get_pid(client, sup.server.url) == survivor
        log = sup.wait_log(f"worker {victim}: died (killed by SIGKILL); replacing it")
        assert "Traceback" not in log
        assert not alive(victim)


def test_sigterm_finishes_requests_in_flight_and_leaves_no_process() -> None:
    with supervised("sup_app:app", "--workers", "2") as sup:
        workers = sup.wait_workers(2)
        results: list[int | str] = []

        def slow_request() -> None:
            try:
                with httpx.Client(timeout=15) as client:
                    results.append(get_pid(client, sup.server.url, "/sleep?s=1.5"))
            except httpx.HTTPError as exc:
                results.append(repr(exc))

        threads = [threading.Thread(target=slow_request) for _ in range(4)]
        for thread in threads:
            thread.start()
        wait_until(
            lambda: sup.server.log().count("sup_app sleeping in") == 4, 10, "4 requests in flight"
        )
        sup.server.signal(signal.SIGTERM)
        for thread in threads:
            thread.join(15)
        assert len(results) == 4
        assert all(isinstance(r, int) and r in workers for r in results), results
        assert sup.wait_exit(30) == 0
        assert not any(alive(pid) for pid in workers | sup.seen)
        log = sup.server.log()
        assert "SIGTERM received: stopping 2 worker(s) gracefully" in log
        assert "exiting with code 0" in log


def run_to_exit(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        forno_command(args[0], [*args[1:], "--port", "0"]),
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO_ROOT,
        check=False,
    )


def test_app_that_cannot_be_imported_stops_the_supervisor() -> None:
    result = run_to_exit("sup_broken:app", "--workers", "3")
    assert result.returncode == 3, result.stderr
    assert "sup_broken refuses to load" in result.stderr
    assert "the app could not be loaded: stopping the server (exit code 3)" in result.stderr
    # No respawn loop: at most one failed boot per initial worker.
    assert 1 <= result.stderr.count("cannot load the app") <= 3


def test_failing_lifespan_startup_stops_the_supervisor_with_exit_boot() -> None:
    result = run_to_exit("sup_lifespan_fail:app", "--workers", "2")
    assert result.returncode == 4, result.stderr
    assert "database unreachable" in result.stderr
    assert "the app failed to start: stopping the server (exit code 4)" in result.stderr


def test_ttin_and_ttou_add_and_remove_a_worker() -> None:
    with supervised("sup_app:app", "--workers", "2") as sup:
        first = sup.wait_workers(2)
        sup.server.signal(signal.SIGTTIN)
        three = sup.wait_workers(3)
        assert first < three
        # One at a time: two signals of one kind sent back to back may arrive as one.
        sup.server.signal(signal.SIGTTOU)
        sup.wait_log("SIGTTOU: 2 worker(s) wanted")
        sup.wait_workers(2)
        sup.server.signal(signal.SIGTTOU)
        remaining = sup.wait_workers(1)
        assert remaining < three
        sup.wait_log("fewer workers wanted")


def test_pid_file_names_the_supervisor_and_is_removed(tmp_path: Path) -> None:
    pid_file = tmp_path / "forno.pid"
    with supervised("sup_app:app", "--workers", "2", "--pid", str(pid_file)) as sup:
        sup.wait_workers(2)
        assert pid_file.read_text().strip() == str(sup.pid)
        sup.server.signal(signal.SIGINT)
        assert sup.wait_exit(30) == 0
    assert not pid_file.exists()


def test_workers_shut_down_when_the_supervisor_is_killed() -> None:
    with supervised("sup_app:app", "--workers", "2", check_exit=False) as sup:
        workers = sup.wait_workers(2)
        sup.server.process.kill()
        sup.server.process.wait(10)
        wait_until(lambda: not any(alive(pid) for pid in workers), 20, "orphaned workers to exit")
        assert "the supervisor is gone, shutting down" in sup.server.log()
