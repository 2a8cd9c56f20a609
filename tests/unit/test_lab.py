"""The lab's pure parts: the timeline's arithmetic, the text bars, input bounds, the detector
report parsing and the blocking detector's app-code hook."""

from __future__ import annotations

import logging
import traceback

import pytest

from forno.lab.apps import MAX_DELAY, BadRequest, DetectorCatcher, parse_delay
from forno.lab.lanes import BY_ID, MAX_USERS, Params
from forno.lab.page import parse_run
from forno.lab.session import BadRun, check
from forno.lab.terminal import render
from forno.lab.timeline import LaneResult, Request, any_overlap, ideal_total, serialised
from forno.server.blocking import pick_app_frame

D = 0.5


def req(user: int, start: float, end: float, sent: float = 0.0) -> Request:
    return Request(user=user, sent=sent, arrived=end + 0.001, server_start=start, server_end=end)


SERIAL = [req(0, 0.0, D), req(1, D + 0.002, 2 * D), req(2, 2 * D + 0.002, 3 * D)]
PARALLEL = [req(0, 0.0, D), req(1, 0.001, D + 0.001), req(2, 0.002, D + 0.002)]


def test_overlap_is_judged_on_the_served_part_not_the_wait() -> None:
    # Every request is sent at 0, so the sent-to-arrived bars of a serial lane overlap too.
    assert not any_overlap(SERIAL)
    assert any_overlap(PARALLEL)
    assert serialised(SERIAL, D)
    assert not serialised(PARALLEL, D)
    # Without the server's times the whole bar counts.
    bare = [Request(user=0, sent=0.0, arrived=D), Request(user=1, sent=0.0, arrived=2 * D)]
    assert any_overlap(bare)


def test_totals_and_ideals() -> None:
    result = LaneResult("x", "X", 3, D, ideal_total(3, D, 1), requests=list(SERIAL))
    assert result.total == pytest.approx(3 * D + 0.001)
    assert result.ideal == pytest.approx(1.5)
    assert ideal_total(3, D, 2) == pytest.approx(1.0)
    assert ideal_total(3, D, 40) == pytest.approx(D)
    failed = LaneResult("x", "X", 1, D, D, requests=[Request(user=0, sent=0.0, error="boom")])
    assert failed.total is None
    data = failed.as_dict()
    assert data["total"] is None
    assert data["requests"][0]["error"] == "boom"


def test_text_bars_are_light_while_waiting_and_solid_while_served() -> None:
    result = LaneResult("wsgi-1-thread", "WSGI, 1 thread", 3, D, 1.5, requests=list(SERIAL))
    text = render([result], width=30, ascii_only=True)
    bars = [line.split("|")[1] for line in text.splitlines() if line.startswith("  user")]
    assert bars[0] == "#" * 10 + "." * 20
    assert bars[1] == "-" * 10 + "#" * 10 + "." * 10
    assert bars[2] == "-" * 20 + "#" * 10
    assert "WSGI, 1 thread  total 1.50 s  (ideal 1.50 s)" in text


def test_the_pitfall_lane_prints_the_detector_place_or_says_there_is_none() -> None:
    report = {"file": "/x/apps.py", "line": 7, "function": "pitfall", "message": "m"}
    lane = LaneResult("asgi-blocking", "P", 1, D, D, requests=[req(0, 0, D)], detector=report)
    assert "  blocking detector: /x/apps.py:7 in pitfall" in render([lane]).splitlines()
    lane.detector = None
    assert "no report" in render([lane])


def test_delay_and_run_bounds() -> None:
    assert parse_delay("delay=0.25") == 0.25
    for query in ("", "delay=abc", "delay=0", f"delay={MAX_DELAY + 1}", "delay=-1"):
        with pytest.raises(BadRequest):
            parse_delay(query)
    lanes, params = parse_run("users=4&delay=0.5&lanes=asgi-await")
    assert lanes == ["asgi-await"]
    assert params == Params(users=4, delay=0.5, threads=4, workers=4)
    check(3, 1.0, 3, 3, list(BY_ID))
    for bad in (
        (0, 1.0, 1, 1, ["asgi-await"]),
        (MAX_USERS + 1, 1.0, 1, 1, ["asgi-await"]),
        (3, 0.01, 3, 3, ["asgi-await"]),
        (3, 1.0, 0, 3, ["asgi-await"]),
        (3, 1.0, 3, 3, []),
        (3, 1.0, 3, 3, ["nope"]),
    ):
        with pytest.raises(BadRun):
            check(*bad)
    with pytest.raises(BadRun):
        parse_run("users=x")


def test_the_detector_catcher_keeps_the_last_report() -> None:
    catcher = DetectorCatcher()
    assert catcher.last() is None

    def log(message: str, *args: object) -> None:
        catcher.handle(
            logging.LogRecord("forno.error", logging.WARNING, "f", 1, message, args, None)
        )

    # The detector's own format string (server/blocking.py).
    log(
        "event loop %s for %.2f s%s; the loop thread is at %s",
        "blocked",
        0.15,
        " (3 request(s) in flight)",
        "/srv/lab/apps.py:212 in pitfall: time.sleep(delay)",
    )
    log("event loop unblocked: it did not turn for %.2f s", 0.5)
    last = catcher.last()
    assert last is not None
    assert (last["file"], last["line"], last["function"]) == ("/srv/lab/apps.py", 212, "pitfall")
    assert last["reports"] == 1


def test_registered_app_code_wins_inside_forno_and_changes_nothing_else() -> None:
    def frame(name: str, line: int) -> traceback.FrameSummary:
        return traceback.FrameSummary(name, line, "f", lookup_line=False, line="x()")

    never, third = ("/srv/forno/", "/usr/lib/python3.12/"), ("/venv/site-packages/",)
    stack = [
        frame("/venv/site-packages/click/core.py", 911),
        frame("/srv/forno/asgi/http.py", 10),
        frame("/srv/forno/lab/apps.py", 212),
    ]
    # Without the hook a library frame (the CLI's click) is named, not the lab's handler.
    picked = pick_app_frame(stack, never, third)
    assert picked is not None
    assert picked.filename.endswith("click/core.py")
    picked = pick_app_frame(stack, never, third, ("/srv/forno/lab/",))
    assert picked is not None
    assert (picked.filename, picked.lineno) == ("/srv/forno/lab/apps.py", 212)
