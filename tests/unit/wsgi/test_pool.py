"""The WSGI thread pool never runs more than its size at once and shuts down in bounded time."""

from __future__ import annotations

import threading

import pytest

from forno.wsgi.pool import ThreadPool

TIMEOUT = 5.0


def test_bounded_concurrency_and_fifo_queue() -> None:
    pool = ThreadPool(3)
    release = threading.Event()
    lock = threading.Lock()
    running = 0
    peak = 0
    done = threading.Semaphore(0)
    order: list[int] = []

    def job(index: int) -> None:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
            order.append(index)
        release.wait(TIMEOUT)
        with lock:
            running -= 1
        done.release()

    for index in range(10):
        pool.submit(lambda index=index: job(index))  # type: ignore[misc]
    assert pool.threads == 3
    release.set()
    for _ in range(10):
        assert done.acquire(timeout=TIMEOUT)
    assert peak <= 3
    assert sorted(order) == list(range(10))
    assert pool.threads == 3
    assert pool.shutdown(TIMEOUT)
    with pytest.raises(RuntimeError):
        pool.submit(lambda: None)


def test_sequential_jobs_never_grow_the_pool_past_its_size() -> None:
    pool = ThreadPool(4)
    for _ in range(50):
        finished = threading.Event()
        pool.submit(finished.set)
        assert finished.wait(TIMEOUT)
    assert 1 <= pool.threads <= 4
    assert pool.shutdown(TIMEOUT)


def test_shutdown_reports_a_stuck_job() -> None:
    pool = ThreadPool(1)
    release = threading.Event()
    started = threading.Event()

    def stuck() -> None:
        started.set()
        release.wait(TIMEOUT)

    pool.submit(stuck)
    assert started.wait(TIMEOUT)
    assert pool.shutdown(0.05) is False
    release.set()


def test_size_must_be_positive() -> None:
    with pytest.raises(ValueError):
        ThreadPool(0)


def test_busy_since_holds_each_running_job_and_only_while_it_runs() -> None:
    pool = ThreadPool(1, track_busy=True)
    started = threading.Event()
    release = threading.Event()
    finished = threading.Event()

    def job() -> None:
        started.set()
        release.wait(TIMEOUT)

    pool.submit(job)
    assert started.wait(TIMEOUT)
    [(ident, since)] = pool.busy_since.items()
    assert ident in {thread.ident for thread in pool._threads}
    assert since > 0
    pool.submit(finished.set)  # runs after job, on the same thread: job's entry is gone by then
    release.set()
    assert finished.wait(TIMEOUT)
    assert pool.shutdown(TIMEOUT)
    assert pool.busy_since == {}
