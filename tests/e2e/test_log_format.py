"""Log output as operators consume it: JSON lines (--log-format json) and the app's warnings."""

from __future__ import annotations

import json
import socket
from typing import Any

import httpx
import pytest

from tests.support.server import RunningServer, serve

# What a valid field value may hold that a log line must not take raw: a quote, a backslash, a
# tab, obs-text bytes, among them C1 controls (\x9b is a terminal's CSI).
HOSTILE_AGENT = b'evil "agent" \\ \t \x9b31m \xff\xe9'


def json_lines(server: RunningServer) -> list[dict[str, Any]]:
    lines = [line for line in server.log().splitlines() if line.strip()]
    parsed = []
    for line in lines:
        entry = json.loads(line)  # every line is one JSON object, or the test fails here
        assert isinstance(entry, dict), line
        parsed.append(entry)
    return parsed


def raw_get(server: RunningServer, target: bytes, agent: bytes) -> bytes:
    with socket.create_connection((server.host, server.port), timeout=10) as sock:
        sock.sendall(
            b"GET "
            + target
            + b" HTTP/1.1\r\nHost: t\r\nUser-Agent: "
            + agent
            + b"\r\nConnection: close\r\n\r\n"
        )
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    return data


def test_json_logs_are_one_object_per_line_with_named_access_fields() -> None:
    with serve("logging_apps:app", "--log-format", "json") as server:
        server.wait_ready()
        assert raw_get(server, b"/path?q=%22x%22", HOSTILE_AGENT).startswith(b"HTTP/1.1 200")
        assert httpx.get(f"{server.url}/boom").status_code == 500
        server.wait_for_log("logging app failed on purpose")
        server.wait_for_log('"status": 500')
        entries = json_lines(server)
    access = [e for e in entries if e["logger"] == "forno.access"]
    assert [e["status"] for e in access] == [200, 500]
    first = access[0]
    assert first["method"] == "GET"
    assert first["target"] == "/path?q=%22x%22"
    assert first["http_version"] == "1.1"
    assert first["bytes"] == 2
    assert first["client"].startswith("127.0.0.1:")
    assert first["duration_ms"] >= 0
    # Control bytes stay escaped; what the client sent cannot break or forge a line.
    assert "\x9b" not in first["user_agent"]
    assert "\\x9b" in first["user_agent"]
    assert "\t" not in first["user_agent"]
    assert '"agent"' in first["user_agent"].replace('\\"', '"')
    assert all(e["pid"] == first["pid"] for e in access)
    errors = [e for e in entries if e["logger"].startswith("forno") and e["level"] == "ERROR"]
    assert any(
        "RuntimeError: logging app failed on purpose" in e.get("exception", "") for e in errors
    )
    assert any(e["logger"] == "forno.error" and "forno ready" in e["message"] for e in entries)


def test_text_logs_stay_the_default() -> None:
    with serve("logging_apps:app") as server:
        server.wait_ready()
        assert httpx.get(f"{server.url}/x").status_code == 200
        log = server.wait_for_log('"GET /x HTTP/1.1" 200')
    assert not log.lstrip().startswith("{")


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_app_warnings_reach_the_log(log_format: str) -> None:
    with serve("logging_apps:app", "--log-format", log_format) as server:
        server.wait_ready()
        assert httpx.get(f"{server.url}/warn").status_code == 200
        log = server.wait_for_log("warns on purpose")
        entries = json_lines(server) if log_format == "json" else []
    if log_format == "text":
        line = next(line for line in log.splitlines() if "warns on purpose" in line)
        assert "WARNING py.warnings" in line
        assert "AppWarning" in line
        return
    warned = [e for e in entries if "warns on purpose" in e["message"]]
    assert len(warned) == 1
    assert warned[0]["logger"] == "py.warnings"
    assert warned[0]["level"] == "WARNING"
    assert "AppWarning" in warned[0]["message"]
