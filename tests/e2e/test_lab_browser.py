"""The lab's page in headless Chromium: one run of every lane, checked from the page's data.

Debian's chromium and chromium-driver (``make browser``), driven by selenium; no browser
download. In CI (CI=true) a missing browser fails the test; elsewhere it skips.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.lab import (
    DELAY,
    USERS,
    assert_claims,
    missing_tool,
    pitfall_line,
    save_screenshot,
    served_spans,
)
from tests.support.server import serve

RUN_TIMEOUT = 90.0


@pytest.fixture
def browser() -> Iterator[Any]:
    missing_tool("chromium", "chromedriver")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        if os.environ.get("CI") == "true":
            pytest.fail("selenium is not installed (it is in the test dependency group)")
        pytest.skip("selenium is not installed")
    options = webdriver.ChromeOptions()
    options.binary_location = str(shutil.which("chromium"))
    for argument in (
        "--headless=new",
        "--no-sandbox",  # root in a container has no user namespace for the sandbox
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1100,900",
    ):
        options.add_argument(argument)
    service = Service(executable_path=str(shutil.which("chromedriver")))
    driver = webdriver.Chrome(options=options, service=service)
    try:
        yield driver
    finally:
        driver.quit()


def test_the_page_shows_what_each_lane_does_with_three_users(browser: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    with serve("forno.demo:app") as server:
        server.wait_ready()
        browser.get(server.url + "/")
        WebDriverWait(browser, 15).until(
            lambda d: len(d.find_elements(By.CSS_SELECTOR, "input[name=lane]")) == 6
        )
        for name, value in (("users", USERS), ("delay", DELAY)):
            field = browser.find_element(By.ID, name)
            field.clear()
            field.send_keys(str(value))
        browser.find_element(By.ID, "run").click()
        WebDriverWait(browser, RUN_TIMEOUT).until(
            lambda d: d.execute_script("return window.labResults !== null")
        )
        raw = browser.find_element(By.ID, "timeline").get_attribute("data-results")
        assert raw, browser.find_element(By.ID, "status").text
        results = json.loads(raw)
        assert window_results_match(browser, results)

        totals = {r["lane"]: r["total"] for r in results}
        assert_claims(totals, served_spans(results), "page")
        by_lane = {r["lane"]: r for r in results}
        # Each user's request of the processes lane was served by a worker of its own.
        assert len({q["pid"] for q in by_lane["wsgi-workers"]["requests"]}) == USERS
        # Ideals are stated: users x delay for the serial lanes, one delay for the others.
        assert by_lane["wsgi-1-thread"]["ideal"] == pytest.approx(USERS * DELAY)
        assert by_lane["asgi-await"]["ideal"] == pytest.approx(DELAY)
        detector = by_lane["asgi-blocking"]["detector"]
        assert detector is not None
        assert detector["file"].endswith(os.path.join("forno", "lab", "apps.py")), detector
        assert detector["line"] == pitfall_line(), detector
        # And the page draws it: a bar per user per lane, the detector's place under the lane.
        bars = browser.find_elements(By.CSS_SELECTOR, "#timeline rect[data-lane]")
        assert len(bars) == 6 * USERS
        text = browser.find_element(By.ID, "timeline").text
        assert f"apps.py:{pitfall_line()} in pitfall" in text, text
        for result in results:
            assert f"total {result['total']:.2f} s" in text, text

        # The whole page in one picture, whatever the window's own height.
        height = browser.execute_script("return document.documentElement.scrollHeight")
        browser.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": 1100, "height": height, "deviceScaleFactor": 1, "mobile": False},
        )
        shot = save_screenshot(browser.get_screenshot_as_png(), tmp_path)
        assert shot.stat().st_size > 10_000


def window_results_match(browser: Any, results: list[dict[str, Any]]) -> bool:
    return bool(browser.execute_script("return window.labResults") == results)
