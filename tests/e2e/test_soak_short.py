"""A short run of soak/soak.py: mixed traffic for ~15 s with zero unexpected errors.

The RSS check is off: a run this short says nothing about memory growth (see docs/hardening.md
for the 10-minute figures).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from tests.support.server import REPO_ROOT

SOAK = REPO_ROOT / "soak" / "soak.py"


@pytest.mark.slow
def test_short_soak_has_no_unexpected_errors() -> None:
    command = [sys.executable, str(SOAK), "--seconds", "15", "--clients", "6", "--no-rss-check"]
    # Its own process group: on a timeout, soak.py and the server it started are killed together.
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
        start_new_session=True,
    )
    try:
        summary, errors = process.communicate(timeout=90)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        summary, errors = process.communicate()
        pytest.fail(f"the short soak did not finish:\n{summary}{errors}")
    assert process.returncode == 0, summary + errors
    assert "| **total** |" in summary
    total = next(line for line in summary.splitlines() if line.startswith("| **total** |"))
    served, expected, unexpected = (int(cell) for cell in total.strip("|").split("|")[1:4])
    assert served > 100
    assert expected > 0
    assert unexpected == 0, summary
