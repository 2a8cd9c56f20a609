"""What the pool should do next: a pure decision over the workers' records.

``plan()`` looks at the live workers, the wanted count and the current generation, and says
how many fresh workers to fork, which workers to stop, and which serving worker to replace
next. The arbiter carries the plan out; keeping the decision pure keeps it testable without
processes.

Rules:
- A worker and its booting replacement fill one slot together.
- Too few slots (a worker died, SIGTTIN): fork the missing ones at once (unless spawning is on
  hold after a failed boot).
- Too many (SIGTTOU): stop the extra ones, outdated first, then the oldest.
- Otherwise replace outdated workers (older generation after SIGHUP/reload, or asking to be
  recycled), make-before-break and one at a time: only READY ones, oldest first.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from forno.supervisor.process import State, WorkerProcess


@dataclass
class Plan:
    spawn: int = 0
    stop: list[WorkerProcess] = field(default_factory=list)
    replace: WorkerProcess | None = None


def plan(
    workers: Iterable[WorkerProcess], target: int, generation: int, *, may_spawn: bool
) -> Plan:
    live = [w for w in workers if w.state is not State.STOPPING]
    slots = [w for w in live if w.replaced_by is None]
    if len(slots) < target:
        return Plan(spawn=target - len(slots) if may_spawn else 0)
    if len(slots) > target:
        extra = sorted(
            (w for w in slots if w.replaces is None),
            key=lambda w: (not w.outdated(generation), w.started),
        )
        return Plan(stop=extra[: len(slots) - target])
    if not may_spawn or any(w.replaces is not None for w in live):
        return Plan()  # one replacement at a time
    outdated = [w for w in slots if w.state is State.READY and w.outdated(generation)]
    if outdated:
        return Plan(replace=min(outdated, key=lambda w: w.started))
    return Plan()
