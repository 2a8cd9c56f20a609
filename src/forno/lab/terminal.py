"""The timeline as text: one header line per lane (its total and ideal), one bar per user."""

from __future__ import annotations

from collections.abc import Sequence

from forno.lab.timeline import LaneResult

MIB = 1024 * 1024


def _fmt(seconds: float | None) -> str:
    return "failed" if seconds is None else f"{seconds:.2f} s"


def render(results: Sequence[LaneResult], width: int = 60, *, ascii_only: bool = False) -> str:
    """All lanes on one time axis, ``width`` columns from 0 to the latest response.

    A bar runs from the moment the request was sent to the moment its response arrived: light
    while it waited, solid while the app worked on it (the server's own start and end).
    """
    full, wait, empty = ("#", "-", ".") if ascii_only else ("█", "░", "·")
    ends = [r.arrived for result in results for r in result.requests if r.arrived is not None]
    axis = max(ends, default=0.0) or 1.0
    scale = width / axis
    title_width = max((len(result.title) for result in results), default=0)
    lines: list[str] = []
    if results:
        first = results[0]
        lines.append(
            f"forno lab: {first.users} user(s), {first.delay:g} s each, "
            f"{len(results)} lane(s) at once; time axis 0 to {axis:.2f} s"
        )
    for result in results:
        lines.append("")
        memory = ""
        if result.memory_bytes is not None:
            memory = f"  {result.memory_bytes / MIB:.0f} MiB in {result.processes} process(es)"
        lines.append(
            f"{result.title:<{title_width}}  total {_fmt(result.total)}  "
            f"(ideal {result.ideal:.2f} s){memory}"
        )
        for request in sorted(result.requests, key=lambda r: r.user):
            start = min(width, round(request.sent * scale))
            if request.arrived is None:
                bar = empty * width
                note = f"error: {request.error}"
            else:
                end = max(start + 1, min(width, round(request.arrived * scale)))
                served = request.served or (request.sent, request.arrived)
                s_start = max(start, min(end - 1, round(served[0] * scale)))
                s_end = max(s_start + 1, min(end, round(served[1] * scale)))
                bar = (
                    empty * start
                    + wait * (s_start - start)
                    + full * (s_end - s_start)
                    + wait * (end - s_end)
                    + empty * (width - end)
                )
                note = f"{request.arrived - request.sent:.2f} s"
                if request.pid is not None:
                    note += f"  pid {request.pid}"
            lines.append(f"  user {request.user + 1:>2} |{bar}| {note}")
        if result.detector is not None:
            detector = result.detector
            lines.append(
                f"  blocking detector: {detector['file']}:{detector['line']} "
                f"in {detector['function']}"
            )
        elif result.lane == "asgi-blocking":
            lines.append("  blocking detector: no report (is --blocking-threshold 0?)")
        if result.error:
            lines.append(f"  error: {result.error}")
    return "\n".join(lines) + "\n"
