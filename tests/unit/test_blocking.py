"""The blocking detector in-process: frame picking and the incident/rate-limit logic."""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
import traceback
from collections.abc import Iterator

import pytest

from forno.server import blocking
from forno.server.blocking import LoopWatchdog, describe_frame, pick_app_frame

NEVER = ("/usr/lib/python3.12/", "/srv/forno/src/forno/")
THIRD = ("/usr/lib/python3.12/site-packages/", "/venv/lib/python3.12/site-packages/")


def frame(filename: str, lineno: int = 1, name: str = "f") -> traceback.FrameSummary:
    return traceback.FrameSummary(filename, lineno, name, lookup_line=False, line="x()")


def test_picks_the_innermost_app_frame_over_forno_stdlib_and_libraries() -> None:
    stack = [
        frame("/srv/forno/src/forno/asgi/http.py", 130, "run_app"),
        frame("/venv/lib/python3.12/site-packages/starlette/routing.py", 70, "app"),
        frame("/srv/app/views.py", 12, "handler"),
        frame("/venv/lib/python3.12/site-packages/requests/api.py", 59, "get"),
        frame("/usr/lib/python3.12/socket.py", 700, "readinto"),
    ]
    picked = pick_app_frame(stack, NEVER, THIRD)
    assert picked is not None
    assert (picked.filename, picked.lineno) == ("/srv/app/views.py", 12)


def test_site_packages_inside_the_stdlib_directory_is_not_stdlib() -> None:
    stack = [
        frame("/srv/forno/src/forno/asgi/http.py"),
        frame("/usr/lib/python3.12/site-packages/lib/mod.py", 5),
        frame("/usr/lib/python3.12/threading.py"),
    ]
    picked = pick_app_frame(stack, NEVER, THIRD)
    assert picked is not None
    assert picked.filename == "/usr/lib/python3.12/site-packages/lib/mod.py"


def test_falls_back_to_the_innermost_frame_and_skips_frozen_modules() -> None:
    only_ours = [frame("<frozen runpy>"), frame("/usr/lib/python3.12/selectors.py", 9)]
    picked = pick_app_frame(only_ours, NEVER, THIRD)
    assert picked is not None
    assert picked.lineno == 9
    assert pick_app_frame([], NEVER, THIRD) is None
    assert describe_frame(None) == "an unknown place"
    assert describe_frame(frame("/srv/app.py", 3, "h")) == "/srv/app.py:3 in h: x()"


def test_the_real_exclusions_cover_forno_and_asyncio() -> None:
    never, third = blocking.default_excluded()
    here = frame(__file__, 1)
    stack = [here, frame(blocking.__file__), frame(asyncio.__file__), frame(inspect.__file__)]
    assert pick_app_frame(stack, never, third) is here


@pytest.fixture
def watchdog() -> Iterator[LoopWatchdog]:
    loop = asyncio.new_event_loop()
    dog = LoopWatchdog(loop, 0.1, in_flight=lambda: 3)
    # The "loop thread" is this one: the stack then ends in this test, which it must name.
    dog._loop_thread_id = threading.get_ident()
    dog._last = 1000.0
    yield dog
    loop.close()


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


def test_one_incident_logs_once_then_once_more_when_the_loop_turns(
    watchdog: LoopWatchdog, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="forno.error")
    watchdog.check(1000.14)  # within threshold + beat period: not proof of a block
    assert warnings(caplog) == []
    line = inspect.currentframe().f_lineno + 1  # type: ignore[union-attr]
    watchdog.check(1000.2)
    watchdog.check(1000.3)
    watchdog.check(1005.0)
    [first] = warnings(caplog)
    assert first.startswith("event loop blocked for 0.20 s (3 request(s) in flight)")
    assert f"{__file__}:{line} in test_one_incident" in first
    assert any("event loop thread stack" in r.getMessage() for r in caplog.records)
    watchdog.check(1000.0 + blocking.REPEAT_SECONDS + 0.3)
    assert "event loop still blocked for" in warnings(caplog)[-1]
    watchdog._last = 1012.0  # the loop turned
    watchdog.check(1012.01)
    assert warnings(caplog)[-1] == "event loop unblocked: it did not turn for 12.00 s"
    assert len(warnings(caplog)) == 3


def test_incidents_closer_than_the_report_interval_are_counted_not_logged(
    watchdog: LoopWatchdog, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="forno.error")
    watchdog.check(1000.5)
    watchdog._last = 1001.0
    watchdog.check(1001.0)  # unblocked
    watchdog.check(1001.5)  # a second incident, 1 s after the first report: counted
    watchdog._last = 1002.0
    watchdog.check(1002.0)  # its end is not logged either
    assert len(warnings(caplog)) == 2
    watchdog.check(1000.5 + blocking.REPORT_INTERVAL + 1)
    assert "1 earlier incident(s) not reported" in warnings(caplog)[-1]


def test_start_and_stop_on_a_running_loop_joins_the_thread() -> None:
    async def main() -> LoopWatchdog:
        dog = LoopWatchdog(asyncio.get_running_loop(), 0.05)
        dog.start()
        before = dog._last
        await asyncio.sleep(0.1)  # two beats due
        assert dog._last > before
        dog.stop()
        return dog

    dog = asyncio.run(main())
    assert dog._thread is None
    assert not any(t.name == "forno-loop-watchdog" for t in threading.enumerate())


def test_a_slow_thread_is_reported_once_per_request(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="forno.error")
    loop = asyncio.new_event_loop()
    busy: dict[int, float] = {}
    dog = LoopWatchdog(loop, 0.0, slow_threads=busy, slow_threshold=1.0)
    assert dog.poll == 0.5  # the loop is unwatched: poll for the threads alone
    me = threading.get_ident()
    busy[me] = 100.0
    dog.check_threads(100.5)  # not slow yet
    assert warnings(caplog) == []
    line = inspect.currentframe().f_lineno + 1  # type: ignore[union-attr]
    dog.check_threads(101.5)
    dog.check_threads(200.0)
    [report] = warnings(caplog)
    assert report.startswith(
        f"WSGI request running for 1.50 s on thread {threading.current_thread().name}"
    )
    assert f"{__file__}:{line} in test_a_slow_thread" in report
    busy[me] = 300.0  # the same thread, a new request
    dog.check_threads(302.0)
    assert len(warnings(caplog)) == 2
    loop.close()


def test_the_watchdog_thread_ends_by_itself_once_its_loop_is_closed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="forno.error")
    loop = asyncio.new_event_loop()
    dog = LoopWatchdog(loop, 0.02)
    dog.start()  # started, as a server does, but never stopped
    loop.close()
    assert dog._thread is not None
    dog._thread.join(5.0)
    assert not dog._thread.is_alive()
