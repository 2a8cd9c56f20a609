"""What the lab's tests assert about a run, whichever way (page or terminal) it was read."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.support.server import REPO_ROOT

USERS = 3
DELAY = 0.5
LAB_APPS = REPO_ROOT / "src" / "forno" / "lab" / "apps.py"
SERIAL = ("wsgi-1-thread", "asgi-blocking")
CONCURRENT = ("wsgi-threads", "wsgi-workers", "asgi-await", "asgi-threadpool")


def pitfall_line() -> int:
    """The line of the pitfall's ``time.sleep``, found by its marker (never hard-coded)."""
    for number, line in enumerate(LAB_APPS.read_text().splitlines(), start=1):
        if "# BLOCKS pitfall" in line:
            return number
    raise AssertionError(f"no '# BLOCKS pitfall' in {LAB_APPS}")


def spans_overlap(spans: list[tuple[float, float]]) -> bool:
    """Some two spans share more than half the shorter one (touching ends do not count)."""
    ordered = sorted(spans)
    for i, (a0, a1) in enumerate(ordered):
        for b0, b1 in ordered[i + 1 :]:
            if min(a1, b1) - max(a0, b0) > 0.5 * min(a1 - a0, b1 - b0):
                return True
    return False


def missing_tool(*names: str) -> None:
    """Fail in CI (CI=true), skip elsewhere, when a tool the test needs is not installed."""
    missing = [name for name in names if shutil.which(name) is None]
    if not missing:
        return
    reason = f"{', '.join(missing)} not installed (make browser installs them)"
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def assert_claims(
    totals: dict[str, float], served: dict[str, list[tuple[float, float]]], where: str
) -> None:
    """What the articles claim, checked against a run's measured totals and served spans."""
    slow = USERS * DELAY
    assert set(totals) == set(SERIAL + CONCURRENT), where
    for lane in SERIAL:
        assert totals[lane] >= 0.9 * slow, (lane, totals, where)
        assert not spans_overlap(served[lane]), (lane, served[lane], where)
    for lane in CONCURRENT:
        assert totals[lane] < 0.6 * slow, (lane, totals, where)
        assert spans_overlap(served[lane]), (lane, served[lane], where)


def save_screenshot(png: bytes, tmp: Path) -> Path:
    """Into ``tmp``; into docs/img too only when UPDATE_LAB_SCREENSHOT=1 (not FORNO_*: those are settings), so a plain run leaves the tree clean."""
    path = tmp / "lab-timeline.png"
    path.write_bytes(png)
    if os.environ.get("UPDATE_LAB_SCREENSHOT") == "1":
        shutil.copyfile(path, REPO_ROOT / "docs" / "img" / "lab-timeline.png")
    return path


def served_spans(results: list[dict[str, Any]]) -> dict[str, list[tuple[float, float]]]:
    return {
        r["lane"]: [(q["server_start"], q["server_end"]) for q in r["requests"]] for r in results
    }
