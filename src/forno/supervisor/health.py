"""Health checks over the workers' records: silent heartbeats, memory over the limit."""

from __future__ import annotations

from collections.abc import Iterable

from forno.supervisor.process import State, WorkerProcess
from forno.supervisor.procinfo import rss_mib


def silent_workers(
    workers: Iterable[WorkerProcess], timeout: float
) -> list[tuple[WorkerProcess, float]]:
    """Workers (booting or serving) whose heartbeat is older than ``timeout``, with its age."""
    found = []
    for worker in workers:
        if worker.state is State.STOPPING:
            continue
        age = worker.heartbeat.age()
        if age > timeout:
            found.append((worker, age))
    return found


def heavy_workers(
    workers: Iterable[WorkerProcess], limit_mib: int
) -> list[tuple[WorkerProcess, float]]:
    """Serving workers, not already being recycled, whose RSS is over ``limit_mib``."""
    found = []
    for worker in workers:
        if worker.state is not State.READY or worker.recycle is not None:
            continue
        rss = rss_mib(worker.pid)
        if rss is not None and rss > limit_mib:
            found.append((worker, rss))
    return found
