"""One run of the lab: start the lanes it needs, connect the users, send, collect the results."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

from forno.lab.lanes import (
    BY_ID,
    MAX_DELAY,
    MAX_USERS,
    MIN_DELAY,
    READY_TIMEOUT,
    LaneError,
    LaneServers,
    LaneSpec,
    Params,
)
from forno.lab.runner import Connection, Emit, HTTPError, connect_users, get_json, run_requests
from forno.lab.timeline import LaneResult, ideal_total


class BadRun(ValueError):
    """A run asked for something outside the lab's bounds; the message says what."""


def check(users: int, delay: float, threads: int, workers: int, lanes: Sequence[str]) -> None:
    if not 1 <= users <= MAX_USERS:
        raise BadRun(f"users must be 1 to {MAX_USERS}")
    if not MIN_DELAY <= delay <= MAX_DELAY:
        raise BadRun(f"delay must be {MIN_DELAY:g} to {MAX_DELAY:g} seconds")
    for name, value in (("threads", threads), ("workers", workers)):
        if not 1 <= value <= MAX_USERS:
            raise BadRun(f"{name} must be 1 to {MAX_USERS}")
    if not lanes:
        raise BadRun("choose at least one lane")
    unknown = [lane for lane in lanes if lane not in BY_ID]
    if unknown:
        raise BadRun(f"unknown lane(s): {', '.join(unknown)}; known: {', '.join(BY_ID)}")


async def _quiet(_event: dict[str, Any]) -> None:
    return None


async def run_lab(
    servers: LaneServers,
    lanes: Sequence[str],
    params: Params,
    emit: Emit = _quiet,
) -> list[LaneResult]:
    """Run every lane of ``lanes`` at the same time, on one time axis."""
    check(params.users, params.delay, params.threads, params.workers, lanes)
    specs = [BY_ID[lane] for lane in lanes]
    await emit({"type": "starting", "lanes": [spec.id for spec in specs]})
    running = await servers.ensure(specs, params)
    results = [
        LaneResult(
            lane=spec.id,
            title=spec.title,
            users=params.users,
            delay=params.delay,
            ideal=ideal_total(params.users, params.delay, spec.parallel(params)),
        )
        for spec in specs
    ]
    ports = {spec.id: running[spec.id].port for spec in specs}
    attempts = await asyncio.gather(
        *(
            connect_users(
                ports[spec.id],
                params.users,
                spread_over=params.workers if spec.spread else 0,
                # Spreading waits for every worker, and workers boot after their lane answers.
                timeout=READY_TIMEOUT,
            )
            for spec in specs
        ),
        return_exceptions=True,
    )
    connected: list[list[Connection]] = [a for a in attempts if isinstance(a, list)]
    failed = [a for a in attempts if isinstance(a, BaseException)]
    if failed:
        for connections in connected:
            for connection in connections:
                connection.close()
        if not isinstance(failed[0], HTTPError | OSError | TimeoutError):
            raise failed[0]
        raise LaneError(f"connecting the users to the lanes failed: {failed[0]!r}")
    await emit({"type": "ready", "lanes": [r.as_dict() for r in results]})
    origin = time.monotonic()

    async def lane(spec: LaneSpec, result: LaneResult, connections: list[Connection]) -> None:
        # Each lane reports as soon as its own last answer is in, not when the slowest is.
        result.requests = await run_requests(spec.id, connections, params.delay, origin, emit)
        memory = await asyncio.to_thread(running[spec.id].memory)  # a walk over /proc
        if memory is not None:
            result.memory_bytes, result.processes = memory
        if spec.detector:
            result.detector = await _detector_report(ports[spec.id])
        await emit({"type": "lane", "result": result.as_dict()})

    await asyncio.gather(
        *(lane(*job) for job in zip(specs, results, connected, strict=True)),
    )
    return results


async def _detector_report(port: int) -> dict[str, Any] | None:
    try:
        payload = await get_json("127.0.0.1", port, "/detector", timeout=5.0)
    except (TimeoutError, HTTPError, OSError):
        return None
    report = payload.get("report")
    return report if isinstance(report, dict) else None
