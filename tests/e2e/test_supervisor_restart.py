"""Replacing workers that are still serving: SIGHUP, max-requests, max-worker-memory, timeouts."""

from __future__ import annotations

import signal
import threading

import httpx

from tests.support.processes import SteadyLoad, alive, get_pid, supervised, wait_until


def test_sighup_rolls_every_worker_without_a_failed_request() -> None:
    with supervised("sup_app:app", "--workers", "2") as sup:
        old = sup.wait_workers(2)
        with SteadyLoad(sup.server.url, clients=4) as load:
            load.wait_requests(200)
            sup.server.signal(signal.SIGHUP)
            new = sup.wait_workers(2, exclude=old, timeout=30)
            wait_until(lambda: not any(alive(pid) for pid in old), 30, "old workers to exit")
            load.wait_requests(200)
            report = load.stop()
        assert report.failures == []
        assert set(report.pids) & new  # the new workers served part of the load
        assert old.isdisjoint(new)
        log = sup.server.log()
        assert "SIGHUP: rolling restart of 2 worker(s), one at a time" in log
        for pid in old:
            assert f"worker {pid}: stopping (replaced by worker" in log
            assert f"worker {pid}: exited (exit code 0)" in log


def test_max_requests_recycles_a_worker_without_a_failed_request() -> None:
    args = ("--workers", "2", "--max-requests", "150", "--max-requests-jitter", "20")
    with supervised("sup_app:app", *args) as sup:
        old = sup.wait_workers(2)
        with SteadyLoad(sup.server.url, clients=3) as load:
            load.wait_requests(100)
            sup.wait_log("max-requests reached", timeout=30)
            new = sup.wait_workers(2, exclude=old, timeout=30)
            load.wait_requests(50)
            report = load.stop()
        assert report.failures == []
        assert set(report.pids) & new
        log = sup.server.log()
        assert "served 1" in log  # "worker N served 15x requests (max-requests)"
        assert "died" not in log


def test_blocked_event_loop_is_killed_after_the_worker_timeout() -> None:
    args = ("--workers", "2", "--worker-timeout", "1", "--graceful-timeout", "2")
    with supervised("sup_app:app", *args) as sup:
        first = sup.wait_workers(2)
        with httpx.Client(timeout=30) as client:
            stuck = get_pid(client, sup.server.url)

            def block() -> None:
                try:
                    client.get(sup.server.url + "/block?s=60")
                except httpx.HTTPError:
                    pass  # the worker is killed under this request

            thread = threading.Thread(target=block, daemon=True)
            thread.start()
            log = sup.wait_log(f"worker {stuck}: no heartbeat for", timeout=20)
            assert "(worker-timeout 1s): killing it" in log
            replaced = sup.wait_workers(2, exclude={stuck}, timeout=20)
            thread.join(10)
        assert first - {stuck} <= replaced
        sup.wait_log(f"worker {stuck}: died (heartbeat timeout); replacing it")
        assert not alive(stuck)


def test_worker_over_the_memory_limit_is_recycled() -> None:
    with supervised("sup_app:app", "--workers", "2", "--max-worker-memory", "120") as sup:
        first = sup.wait_workers(2)
        with httpx.Client(timeout=10) as client:
            big = get_pid(client, sup.server.url, "/grow?mb=200")
        log = sup.wait_log(f"worker {big}: RSS", timeout=20)
        assert "is over max-worker-memory (120 MiB): recycling it" in log
        replaced = sup.wait_workers(2, exclude={big}, timeout=30)
        assert first - {big} <= replaced
        sup.wait_log(f"worker {big}: stopping (replaced by worker")
