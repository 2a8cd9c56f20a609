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
    """True when some two requests were in flight at once for part of their time.

    Half the shorter request's length is the bar: two requests that merely touch (one arrives
    a few milliseconds after the next was sent, as a serialising server's back-to-back answers
    do) do not count, while truly concurrent ones share far more than that.
    """
    done = sorted(
        ((r.sent, r.arrived) for r in requests if r.arrived is not None), key=lambda pair: pair[0]
    )
    for i, (start_a, end_a) in enumerate(done):
        for start_b, end_b in done[i + 1 :]:
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
    return rounds(users, parallel) * delay
