"""The supervisor's record of one worker process."""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass, field

from forno.supervisor.heartbeat import Heartbeat


class State(enum.Enum):
    BOOTING = "booting"  # forked, loading the app, starting up; not yet ready
    READY = "ready"  # serving
    STOPPING = "stopping"  # asked (or forced) to stop; no longer counts as a worker


@dataclass(eq=False)
class WorkerProcess:
    pid: int
    heartbeat: Heartbeat
    generation: int  # the supervisor's code generation when it was forked (SIGHUP/reload bump it)
    started: float = field(default_factory=time.monotonic)
    state: State = State.BOOTING
    was_ready: bool = False
    recycle: str | None = None  # why it asked (or was picked) to be replaced while serving
    replaces: WorkerProcess | None = None  # the worker this one will take over from when ready
    replaced_by: WorkerProcess | None = None  # its booting replacement
    kill_at: float | None = None  # SIGKILL deadline once stopping
    killed: bool = False
    timed_out: bool = False  # stopped because its heartbeat went silent

    def outdated(self, generation: int) -> bool:
        return self.generation < generation or self.recycle is not None

    def unlink(self) -> None:
        """Forget the replacement pairing on both sides (when either process goes away)."""
        if self.replaces is not None:
            self.replaces.replaced_by = None
            self.replaces = None
        if self.replaced_by is not None:
            self.replaced_by.replaces = None
            self.replaced_by = None
