"""A real Django app served by forno, through Django's WSGI handler and its ASGI handler."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from tests.support.server import RunningServer, serve

MiB = 1024 * 1024
UPLOAD_SIZE = 48 * MiB
FILE_DATA = bytes(range(256)) * 4096


@pytest.fixture(
    scope="module",
    params=["django_app.app:application", "django_app.app:asgi_application"],
    ids=["wsgi", "asgi"],
)
def server(request: pytest.FixtureRequest) -> Iterator[RunningServer]:
    with serve(request.param) as running:
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


def test_interface_detected(server: RunningServer) -> None:
    asgi = "django_app.app:asgi_application" in server.process.args
    assert ("(asgi3," if asgi else "(wsgi,") in server.log()


def test_routing_and_query(client: httpx.Client) -> None:
    assert client.get("/").text == "django index"
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


def test_file_response(client: httpx.Client) -> None:
    response = client.get("/download")
    assert response.status_code == 200
    assert response.headers["content-length"] == str(MiB)
    assert response.content == FILE_DATA


def test_error_handlers(client: httpx.Client) -> None:
    response = client.get("/boom")
    assert response.status_code == 500
    assert response.json() == {"error": "custom 500"}
    missing = client.get("/nope")
    assert missing.status_code == 404
    assert missing.json() == {"error": "not here", "path": "/nope"}


def test_head(client: httpx.Client) -> None:
    response = client.head("/download")
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["content-length"] == str(MiB)
    head = client.head("/")
    assert head.status_code == 200
    assert head.content == b""
