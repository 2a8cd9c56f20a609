"""The JSON formatter, in-process: access records by field name, errors with their traceback."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator

import pytest

from forno.logging import ACCESS_FIELDS, JSONFormatter
from forno.server.access import access_logger, log_access


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []
        self.setFormatter(JSONFormatter())

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def capture() -> Iterator[Capture]:
    handler = Capture()
    access_logger.addHandler(handler)
    level, access_logger.level = access_logger.level, logging.INFO
    yield handler
    access_logger.removeHandler(handler)
    access_logger.level = level


def test_the_access_line_is_logged_with_every_field_by_name(capture: Capture) -> None:
    log_access(("10.1.2.3", 4567), "POST", b"/a?b=\x85", "1.1", 201, 17, 0.0123456, b"ua \xe9")
    (line,) = capture.lines
    entry = json.loads(line)
    assert set(ACCESS_FIELDS) <= set(entry)
    assert entry["client"] == "10.1.2.3:4567"
    assert entry["method"] == "POST"
    assert entry["target"] == "/a?b=\\x85"
    assert entry["http_version"] == "1.1"
    assert entry["status"] == 201
    assert entry["bytes"] == 17
    assert entry["user_agent"] == "ua \xe9"
    assert entry["duration_ms"] == pytest.approx(12.346, abs=0.001)
    assert entry["logger"] == "forno.access"
    assert line.isascii()


def test_an_error_record_carries_its_traceback() -> None:
    logger = logging.getLogger("forno.error.test")
    try:
        raise ValueError("bad \u2603 value")
    except ValueError:
        record = logger.makeRecord(
            logger.name, logging.ERROR, __file__, 1, "failed: %s", ("x",), sys.exc_info()
        )
    line = JSONFormatter().format(record)
    entry = json.loads(line)
    assert entry["message"] == "failed: x"
    assert entry["level"] == "ERROR"
    assert "ValueError: bad \u2603 value" in entry["exception"]
    assert "\n" not in line
    assert line.isascii()
