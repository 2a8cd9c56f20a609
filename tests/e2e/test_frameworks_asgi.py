"""Real Starlette and FastAPI apps served by forno."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.support.server import RunningServer, serve


@pytest.fixture(scope="module")
def fastapi_server() -> Iterator[RunningServer]:
    with serve("fastapi_app:app") as server:
        yield server


@pytest.fixture(scope="module")
def starlette_server() -> Iterator[RunningServer]:
    with serve("starlette_app:app") as server:
        yield server


def test_fastapi_routing_params_json(fastapi_server: RunningServer) -> None:
    url = fastapi_server.url
    assert httpx.get(url + "/items/42?q=abc").json() == {"item_id": 42, "q": "abc"}
    assert httpx.get(url + "/items/notanint").status_code == 422
    created = httpx.post(url + "/items", json={"name": "pizza", "price": 10})
    assert created.json() == {"name": "pizza", "price_with_tax": 12.0}
    assert httpx.get(url + "/nope").status_code == 404


def test_fastapi_lifespan_state(fastapi_server: RunningServer) -> None:
    assert httpx.get(fastapi_server.url + "/state").json() == {"db": "connected"}


def test_fastapi_streaming_and_sse(fastapi_server: RunningServer) -> None:
    with httpx.stream("GET", fastapi_server.url + "/stream") as response:
        assert response.headers["transfer-encoding"] == "chunked"
        assert b"".join(response.iter_bytes()) == b"0\n1\n2\n3\n4\n"
    with httpx.stream("GET", fastapi_server.url + "/sse") as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in response.iter_lines() if line]
    assert lines == ["data: event 0", "data: event 1", "data: event 2"]


def test_fastapi_background_task_runs_after_response(fastapi_server: RunningServer) -> None:
    with httpx.Client() as client:
        assert client.post(fastapi_server.url + "/background").json() == {"scheduled": "yes"}
        # The task runs after the response went out, inside the first request's app call;
        # each probe is a full round trip, so a bounded number of them is enough.
        for _ in range(500):
            if client.get(fastapi_server.url + "/background-result").json()["done"]:
                break
        assert client.get(fastapi_server.url + "/background-result").json()["done"] == ["done"]


def test_starlette_routes_and_state(starlette_server: RunningServer) -> None:
    url = starlette_server.url
    assert httpx.get(url + "/").text == "hello"
    assert httpx.get(url + "/users/ada?page=2").json() == {"user": "ada", "page": "2"}


def test_starlette_streaming_upload_and_download(starlette_server: RunningServer) -> None:
    def blocks() -> Iterator[bytes]:
        for _ in range(64):
            yield b"u" * 65536

    response = httpx.post(starlette_server.url + "/upload", content=blocks())
    assert response.json() == {"received": 64 * 65536}
    with httpx.stream("GET", starlette_server.url + "/download") as download:
        assert sum(len(b) for b in download.iter_bytes()) == 16 * 65536


def test_starlette_form(starlette_server: RunningServer) -> None:
    response = httpx.post(starlette_server.url + "/form", data={"a": "1", "b": "two"})
    assert response.json() == {"a": "1", "b": "two"}
