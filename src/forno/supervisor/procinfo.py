"""Facts about child processes: how they ended, how much memory they hold."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def describe_status(status: int) -> tuple[int, str]:
    """``(exit code, words)`` from a ``waitpid`` status; a signal gives a negative code."""
    code = os.waitstatus_to_exitcode(status)
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return code, f"killed by {name}"
    return code, f"exit code {code}"


def rss_mib(pid: int) -> float | None:
    """Resident set size of ``pid`` in MiB (Linux ``/proc``); None if it cannot be read."""
    try:
        fields = Path(f"/proc/{pid}/statm").read_text().split()
        return int(fields[1]) * _PAGE_SIZE / (1024 * 1024)
    except (OSError, IndexError, ValueError):
        return None


def can_read_rss() -> bool:
    return rss_mib(os.getpid()) is not None


def reap_child(pid: int, timeout: float = 5.0) -> None:
    """Wait for a child we have just signalled (bounded; SIGKILL if it lingers)."""
    if pid <= 0:
        return
    deadline = time.monotonic() + timeout
    while True:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return
        if done:
            return
        if time.monotonic() > deadline:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                return
            deadline = time.monotonic() + timeout
        time.sleep(0.01)
