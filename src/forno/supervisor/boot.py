"""What to do when a worker dies before it ever became ready.

A respawn cannot fix an app that does not import (``EXIT_APP_LOAD``) or whose lifespan startup
fails (``EXIT_BOOT``): with nobody serving, the supervisor stops with that exit code instead of
forking failures forever. While other workers serve (a bad deploy met by SIGHUP or a recycle),
they keep serving the code they have and the failed boot is retried with a growing delay, up to
``MAX_BOOT_FAILURES`` in a row. Under ``--reload`` the supervisor never gives up: it waits for
the next file change.
"""

from __future__ import annotations

from dataclasses import dataclass

from forno.errors import BOOT_EXIT_CODES, EXIT_APP_LOAD, EXIT_BOOT

MAX_BOOT_FAILURES = 5
MAX_RETRY_DELAY = 30.0


@dataclass(frozen=True)
class BootVerdict:
    reason: str
    halt_code: int | None = None  # stop the server with this exit code
    wait_for_change: bool = False  # --reload: try again on the next file change
    retry_in: float = 0.0  # otherwise: keep the running workers, fork again after this delay


def describe_boot_failure(code: int, how: str) -> str:
    if code == EXIT_APP_LOAD:
        return "the app could not be loaded"
    if code == EXIT_BOOT:
        return "the app failed to start"
    return f"a worker failed to boot ({how})"


def judge_boot_failure(
    code: int, how: str, *, failures: int, serving: bool, reloading: bool
) -> BootVerdict:
    """``failures`` counts this one; ``serving``: some other worker is ready."""
    reason = describe_boot_failure(code, how)
    if reloading:
        return BootVerdict(reason, wait_for_change=True)
    if (code in BOOT_EXIT_CODES and not serving) or failures >= MAX_BOOT_FAILURES:
        return BootVerdict(reason, halt_code=code if code in BOOT_EXIT_CODES else EXIT_BOOT)
    return BootVerdict(reason, retry_in=min(MAX_RETRY_DELAY, 0.5 * 2**failures))
