"""What a lane's run measured, and what it means: pure data and arithmetic, no I/O.

Times are seconds on the lab's ``time.monotonic()`` clock relative to the moment the run
started, so every lane of one run shares one time axis.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(slots=True)
class Request:
    """One simulated user's request: sent at ``sent``, its whole response read at ``arrived``."""

    user: int
    sent: float
    arrived: float | None = None
    status: int | None = None
    pid: int | None = None
    thread: str | None = None
    # The server's own view (same clock, same origin), when the app reported it.
    server_start: float | None = None
    server_end: float | None = None
    error: str | None = None

    @property
    def seconds(self) -> float | None:
        return None if self.arrived is None else self.arrived - self.sent

    @property
    def served(self) -> tuple[float, float] | None:
        """When the app was working on it: the server's times, else sent to arrived."""
        if self.server_start is not None and self.server_end is not None:
            return self.server_start, self.server_end
        if self.arrived is None:
            return None
        return self.sent, self.arrived


@dataclass(slots=True)
class LaneResult:
    lane: str
    title: str
    users: int
    delay: float
    ideal: float
    requests: list[Request] = field(default_factory=list)
    # The blocking detector's report (pitfall lane): {"file", "line", "function", "message"}.
    detector: dict[str, Any] | None = None
    error: str | None = None
    # Resident memory of the lane's server (all its processes) after the run, and how many.
    memory_bytes: int | None = None
    processes: int | None = None

    @property
    def total(self) -> float | None:
        """From the first request sent to the last response arrived; None if any failed."""
        if not self.requests or any(r.arrived is None for r in self.requests):
            return None
        return max(r.arrived for r in self.requests if r.arrived is not None) - min(
            r.sent for r in self.requests
        )

    @property
    def overlapping(self) -> bool:
        return any_overlap(self.requests)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["total"] = self.total
        data["overlapping"] = self.overlapping
        return data


def any_overlap(requests: list[Request]) -> bool:
    """True when the app worked on some two requests at once for part of their time.

    Every user sends at the same moment, so the bars from sent to arrived always overlap; what
    tells the lanes apart is whether the *served* parts (``Request.served``) do. Half the
    shorter one's length is the bar: two that merely touch (a serialising server starts the
    next a few milliseconds after the last ended) do not count.
    """
    spans = sorted(span for r in requests if (span := r.served) is not None)
    for i, (start_a, end_a) in enumerate(spans):
        for start_b, end_b in spans[i + 1 :]:
            shared = min(end_a, end_b) - max(start_a, start_b)
            if shared > 0.5 * min(end_a - start_a, end_b - start_b):
                return True
    return False


def serialised(requests: list[Request], delay: float) -> bool:
    """The server answered one request at a time: each answer ~one ``delay`` after the last."""
    arrived = sorted(r.arrived for r in requests if r.arrived is not None)
    if len(arrived) != len(requests):
        return False
    first = min(r.sent for r in requests)
    gaps = [b - a for a, b in zip([first, *arrived], arrived, strict=False)]
    return all(gap >= 0.8 * delay for gap in gaps)


def rounds(users: int, parallel: int) -> int:
    """How many delays ``users`` requests take when ``parallel`` run at once."""
    return math.ceil(users / max(1, parallel))


def ideal_total(users: int, delay: float, parallel: int) -> float:
    return round(rounds(users, parallel) * delay, 6)
