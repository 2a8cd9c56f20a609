"""A ``wsgiref.validate``-wrapped app served by forno over many request shapes, without complaint."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from tests.support.raw import connect
from tests.support.server import RunningServer, serve

LARGE = bytes(range(256)) * 8192  # 2 MiB


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    with serve("wsgi_validated:app", "--interface", "wsgi", "--threads", "4") as running:
        running.wait_ready()
        yield running
        log = running.log()
        for complaint in ("AssertionError", "WSGIWarning", "Traceback", "Exception ignored"):
            assert complaint not in log, log


@pytest.fixture
def client(server: RunningServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10) as http:
        yield http


def checksum(data: bytes) -> str:
    return str(sum(data) % 1000003)


def test_get_with_query(client: httpx.Client) -> None:
    response = client.get("/echo", params={"a": "1", "b": "x y"})
    assert response.status_code == 200
    seen = response.json()
    assert seen["REQUEST_METHOD"] == "GET"
    assert seen["QUERY_STRING"] == "a=1&b=x+y"
    assert seen["PATH_INFO"] == "/echo"
    assert seen["SERVER_PROTOCOL"] == "HTTP/1.1"
    assert seen["body_length"] == "0"


def test_head(client: httpx.Client) -> None:
    response = client.head("/echo")
    assert response.status_code == 200
    assert response.content == b""
    assert int(response.headers["content-length"]) > 0


@pytest.mark.parametrize("mode", ["read", "readline", "readline-limit", "readlines", "iter"])
def test_post_body_read_modes(client: httpx.Client, mode: str) -> None:
    body = b"first line\nsecond line\n\nlast without newline"
    response = client.post("/echo", params={"mode": mode}, content=body)
    seen = response.json()
    assert response.status_code == 200
    assert seen["CONTENT_LENGTH"] == str(len(body))
    assert seen["body_length"] == str(len(body))
    assert seen["body_sum"] == checksum(body)


def test_empty_post(client: httpx.Client) -> None:
    response = client.post("/echo", content=b"")
    assert response.json()["body_length"] == "0"


def test_chunked_post(client: httpx.Client) -> None:
    pieces = [b"alpha\n", b"beta\n", b"", b"gamma" * 1000]

    def chunks() -> Iterator[bytes]:
        yield from pieces

    response = client.post("/echo", params={"mode": "readline"}, content=chunks())
    seen = response.json()
    body = b"".join(pieces)
    assert "CONTENT_LENGTH" not in seen
    assert seen["HTTP_TRANSFER_ENCODING"] == "chunked"
    assert seen["body_length"] == str(len(body))
    assert seen["body_sum"] == checksum(body)


@pytest.mark.parametrize("chunked", [False, True])
def test_large_body(client: httpx.Client, chunked: bool) -> None:
    if chunked:
        content: bytes | Iterator[bytes] = iter(
            [LARGE[i : i + 100_000] for i in range(0, len(LARGE), 100_000)]
        )
    else:
        content = LARGE
    response = client.post("/echo", content=content)
    seen = response.json()
    assert seen["body_length"] == str(len(LARGE))
    assert seen["body_sum"] == checksum(LARGE)


def test_put_and_delete(client: httpx.Client) -> None:
    assert client.put("/echo", content=b"x").json()["REQUEST_METHOD"] == "PUT"
    assert client.delete("/echo").json()["REQUEST_METHOD"] == "DELETE"


def test_write_callable(client: httpx.Client) -> None:
    response = client.get("/write")
    assert response.text == "written then returned"
    assert response.headers["transfer-encoding"] == "chunked"


@pytest.mark.parametrize(("count", "size"), [(0, 1), (1, 5), (5, 10), (50, 100_000)])
def test_generator(client: httpx.Client, count: int, size: int) -> None:
    response = client.get("/generator", params={"count": count, "size": size})
    assert response.status_code == 200
    expected = b"".join(bytes([65 + i % 26]) * size for i in range(count))
    assert response.content == expected


def test_empty_204(client: httpx.Client) -> None:
    response = client.get("/empty")
    assert response.status_code == 204
    assert response.content == b""


def test_file_wrapper(client: httpx.Client) -> None:
    response = client.get("/file")
    assert response.status_code == 200
    assert response.content == bytes(range(256)) * 1024
    assert client.head("/file").content == b""


def test_wsgi_errors_go_to_the_error_log(server: RunningServer, client: httpx.Client) -> None:
    assert client.get("/errors").text == "logged"
    server.wait_for_log("validated app says hello")


def test_http10_and_expect_continue(server: RunningServer) -> None:
    with connect(server.port) as sock:
        sock.sendall(b"GET /echo HTTP/1.0\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.0 200")
    assert json.loads(body)["SERVER_NAME"] == "127.0.0.1"
    with connect(server.port) as sock:
        sock.sendall(
            b"POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n"
            b"Expect: 100-continue\r\nConnection: close\r\n\r\n"
        )
        assert sock.recv(100).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        sock.sendall(b"hello")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    assert data.startswith(b"HTTP/1.1 200")
    assert json.loads(data.partition(b"\r\n\r\n")[2])["body_sample"] == "hello"


def test_pipelined_requests_answer_in_order(server: RunningServer) -> None:
    with connect(server.port) as sock:
        sock.sendall(
            b"POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"
            b"GET /generator?count=2&size=3 HTTP/1.1\r\nHost: h\r\n\r\n"
            b"GET /write HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
        )
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    assert data.count(b"HTTP/1.1 200 OK") == 3
    assert data.index(b'"body_sample": "abc"') < data.index(b"AAA") < data.index(b"written")
