"""Real Flask and Django apps served by forno, exercised alike with httpx.

One module over the frameworks: Flask (WSGI), Django through its WSGI handler and Django through
its ASGI handler. The apps (tests/apps/flask_app.py, tests/apps/django_app/) expose the same
routes, so every test runs against each; what only one framework offers is said per framework.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
import pytest

from tests.support.server import RunningServer, serve

MiB = 1024 * 1024
UPLOAD_SIZE = 48 * MiB
FILE_DATA = bytes(range(256)) * 4096


@dataclass(frozen=True)
class Framework:
    target: str
    name: str
    interface: str
    #: The download route answers If-None-Match and Range (Flask's send_file does; Django's
    #: FileResponse does neither without middleware).
    conditional_download: bool
    #: The app's own error handler for 418, and the traceback of /boom in forno's log.
    teapot_and_traceback: bool


FRAMEWORKS = [
    Framework("flask_app:app", "flask", "wsgi", True, True),
    Framework("django_app.app:application", "django", "wsgi", False, False),
    Framework("django_app.app:asgi_application", "django", "asgi3", False, False),
]


@pytest.fixture(scope="module", params=FRAMEWORKS, ids=lambda f: f"{f.name}-{f.interface}")
def framework(request: pytest.FixtureRequest) -> Framework:
    chosen: Framework = request.param
    return chosen


@pytest.fixture(scope="module")
def server(framework: Framework) -> Iterator[RunningServer]:
    with serve(framework.target) as running:
        running.wait_ready()
        yield running


@pytest.fixture
def client(server: RunningServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as http:
        yield http


@pytest.fixture(scope="module")
def big_file() -> Iterator[Path]:
    fd, name = tempfile.mkstemp(prefix="forno-upload-")
    block = os.urandom(MiB)
    with os.fdopen(fd, "wb") as out:
        for _ in range(UPLOAD_SIZE // MiB):
            out.write(block)
    yield Path(name)
    os.unlink(name)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while block := source.read(MiB):
            digest.update(block)
    return digest.hexdigest()


def test_interface_detected(server: RunningServer, framework: Framework) -> None:
    assert f"({framework.interface}," in server.log()


def test_routing_and_query(client: httpx.Client, framework: Framework) -> None:
    assert client.get("/").text == f"{framework.name} index"
    assert client.get("/user/ada").json() == {"user": "ada"}
    response = client.get("/query", params=[("a", "1"), ("a", "2"), ("b", "é ü")])
    assert response.json() == {"args": {"a": ["1", "2"], "b": ["é ü"]}}


def test_form_and_json(client: httpx.Client) -> None:
    assert client.post("/form", data={"x": "1", "y": "two"}).json() == {
        "form": {"x": ["1"], "y": ["two"]}
    }
    payload = {"b": [1, 2], "a": {"nested": True}}
    assert client.post("/json", json=payload).json() == {"received": payload, "keys": ["a", "b"]}


def test_large_multipart_upload_is_streamed(
    server: RunningServer, client: httpx.Client, big_file: Path
) -> None:
    process = psutil.Process(server.process.pid)
    rss_before = process.memory_info().rss
    peak_before = client.get("/rss").json()["peak_rss"]
    with big_file.open("rb") as source:
        response = client.post(
            "/upload", files={"file": ("big.bin", source)}, data={"note": "hello"}
        )
    assert response.status_code == 200
    result = response.json()
    assert result["size"] == UPLOAD_SIZE
    assert result["sha256"] == sha256_of(big_file)
    assert result["name"] == "big.bin"
    assert result["field"] == "hello"
    # The body went through a bounded buffer and the framework's spooled temp file.
    assert result["peak_rss"] - peak_before < UPLOAD_SIZE // 4
    assert process.memory_info().rss - rss_before < UPLOAD_SIZE // 4


def test_cookies_and_session(client: httpx.Client) -> None:
    response = client.get("/cookies")
    set_cookies = response.headers.get_list("set-cookie")
    assert len(set_cookies) == 3
    assert {value.split("=")[0] for value in set_cookies} == {"first", "second", "third"}
    assert client.get("/cookies").json()["seen"] == {"first": "1", "second": "2", "third": "3"}
    assert client.get("/session/set", params={"value": "kept"}).json() == {"stored": "kept"}
    assert client.get("/session/get").json() == {"value": "kept"}
    with httpx.Client(base_url=str(client.base_url)) as other:
        assert other.get("/session/get").json() == {"value": None}


def test_streaming_response(client: httpx.Client) -> None:
    with client.stream("GET", "/stream", params={"count": 200}) as response:
        assert response.headers["transfer-encoding"] == "chunked"
        lines = list(response.iter_lines())
    assert lines == [f"line {index} of /stream" for index in range(200)]


def test_file_download(client: httpx.Client) -> None:
    response = client.get("/download")
    assert response.status_code == 200
    assert response.headers["content-length"] == str(MiB)
    assert response.content == FILE_DATA


def test_file_download_conditional_and_ranged(client: httpx.Client, framework: Framework) -> None:
    if not framework.conditional_download:
        pytest.skip(f"{framework.name}'s file response answers neither If-None-Match nor Range")
    etag = client.get("/download").headers["etag"]
    assert client.get("/download", headers={"if-none-match": etag}).status_code == 304
    ranged = client.get("/download", headers={"range": "bytes=10-19"})
    assert ranged.status_code == 206
    assert ranged.content == FILE_DATA[10:20]


def test_error_handlers(server: RunningServer, client: httpx.Client, framework: Framework) -> None:
    response = client.get("/boom")
    assert response.status_code == 500
    assert response.json() == {"error": "custom 500"}
    missing = client.get("/nope")
    assert missing.status_code == 404
    assert missing.json() == {"error": "not here", "path": "/nope"}
    if framework.teapot_and_traceback:
        assert client.get("/teapot").json() == {"error": "teapot"}
        server.wait_for_log("RuntimeError: flask view failed")


def test_head(client: httpx.Client) -> None:
    response = client.head("/download")
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["content-length"] == str(MiB)
    head = client.head("/")
    assert head.status_code == 200
    assert head.content == b""
