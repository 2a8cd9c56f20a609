"""The blocking detector end to end: a real forno names the app line that blocks its loop."""

from __future__ import annotations

import urllib.request
from pathlib import Path

import pytest

from tests.support.server import APPS_DIR, RunningServer, serve

BLOCKED = "event loop blocked for"


def marker_line(path: Path, marker: str) -> int:
    """The line number of the call tagged ``# BLOCKS <marker>`` (never hard-coded)."""
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if line.rstrip().endswith(f"# BLOCKS {marker}"):
            return number
    raise AssertionError(f"no '# BLOCKS {marker}' in {path}")


def get(server: RunningServer, path: str) -> bytes:
    with urllib.request.urlopen(server.url + path, timeout=10) as response:
        body: bytes = response.read()
        return body


def assert_names_line(server: RunningServer, path: Path, marker: str) -> str:
    line = marker_line(path, marker)
    log = server.wait_for_log(BLOCKED)
    warning = next(text for text in log.splitlines() if BLOCKED in text)
    assert f"{path}:{line} in " in warning, warning
    assert "time.sleep(" in warning, warning
    assert "request(s) in flight" in warning, warning
    assert "WARNING forno.error" in warning, warning
    # And a final line once the loop turns again, with how long it stood still (~0.5 s).
    resumed = server.wait_for_log("event loop unblocked")
    seconds = float(resumed.split("did not turn for ")[1].split(" s")[0])
    assert 0.4 <= seconds < 5, resumed
    return warning


BLOCKING_APPS = APPS_DIR / "blocking_apps.py"


@pytest.mark.parametrize(
    ("app", "marker", "source"),
    [
        ("blocking_apps:plain", "plain", BLOCKING_APPS),
        ("blocking_apps:fastapi_app", "fastapi", BLOCKING_APPS),
        ("blocking_apps:starlette_app", "starlette", BLOCKING_APPS),
        ("django_app.app:asgi_application", "django", APPS_DIR / "django_app" / "app.py"),
    ],
    ids=["asgi", "fastapi", "starlette", "django"],
)
def test_time_sleep_in_async_def_is_reported_at_the_app_line(
    app: str, marker: str, source: Path
) -> None:
    with serve(app) as server:
        server.wait_ready()
        get(server, "/block")
        assert_names_line(server, source, marker)


def test_awaiting_does_not_trigger_the_detector() -> None:
    with serve("blocking_apps:plain") as server:
        server.wait_ready()
        assert get(server, "/wait") == b"done"
        # A blocking request after it: once its warning is in the log, anything the awaiting
        # request had caused would be there too (the watchdog thread logs in order).
        get(server, "/block")
        log = server.wait_for_log("event loop unblocked")
        lines = [text for text in log.splitlines() if BLOCKED in text]
        assert len(lines) == 1, log
        assert f":{marker_line(BLOCKING_APPS, 'plain')} in plain" in lines[0], log


def test_threshold_zero_disables_the_detector() -> None:
    with serve("blocking_apps:plain", "--blocking-threshold", "0") as server:
        server.wait_ready()
        get(server, "/block")
        assert get(server, "/") == b"done"
        assert BLOCKED not in server.log()


def test_wsgi_threads_never_trip_the_loop_detector_but_a_slow_request_is_named() -> None:
    marker = marker_line(BLOCKING_APPS, "wsgi")
    with serve("blocking_apps:wsgi_slow", "--wsgi-slow-request-threshold", "0.2") as server:
        server.wait_ready()
        assert get(server, "/") == b"done"
        assert get(server, "/slow") == b"done"
        log = server.wait_for_log("WSGI request running for")
        [warning] = [text for text in log.splitlines() if "WSGI request running" in text]
        assert f"{BLOCKING_APPS}:{marker} in wsgi_slow: time.sleep(" in warning, log
        assert "on thread forno-wsgi-" in warning, log
        # The loop was never blocked by the sleeping thread (the loop detector is on by default).
        assert BLOCKED not in log, log


def test_wsgi_slow_request_report_is_off_by_default() -> None:
    with serve("blocking_apps:wsgi_slow") as server:
        server.wait_ready()
        assert get(server, "/slow") == b"done"
        log = server.log()
        assert "WSGI request running" not in log, log
        assert BLOCKED not in log, log
