"""HTTP/1.1 behaviour of a real forno server driven by httpx and raw sockets."""

from __future__ import annotations

import json
import socket

import httpx
import pytest

from tests.support.raw import connect, exchange, read_responses, wait_for_close
from tests.support.server import RunningServer, serve


def test_get_has_date_server_and_length(basic_server: RunningServer) -> None:
    response = httpx.get(basic_server.url + "/fast")
    assert response.status_code == 200
    assert response.text == "fast"
    assert response.headers["content-length"] == "4"
    assert response.headers["server"] == "forno"
    assert response.headers["date"].endswith(" GMT")


def test_keep_alive_reuses_one_connection(basic_server: RunningServer) -> None:
    with httpx.Client() as client:
        ports = set()
        for _ in range(5):
            response = client.get(basic_server.url + "/scope")
            ports.add(tuple(response.json()["client"]))
    assert len(ports) == 1


def test_post_content_length_and_chunked_echo(basic_server: RunningServer) -> None:
    assert httpx.post(basic_server.url + "/echo", content=b"hello").content == b"hello"

    def pieces() -> object:
        yield b"one,"
        yield b"two,"
        yield b"three"

    response = httpx.post(basic_server.url + "/echo", content=pieces())
    assert response.content == b"one,two,three"


def test_streaming_upload_and_download(basic_server: RunningServer) -> None:
    payload = [bytes([i % 256]) * 65536 for i in range(40)]
    url = basic_server.url + "/echo-stream"
    with httpx.Client() as client, client.stream("POST", url, content=iter(payload)) as r:
        assert r.headers.get("transfer-encoding") == "chunked"
        received = b"".join(r.iter_bytes())
    assert received == b"".join(payload)


def test_head_sends_headers_only(basic_server: RunningServer) -> None:
    result = exchange(
        basic_server.port,
        b"HEAD /big?1000 HTTP/1.1\r\nHost: x\r\n\r\nGET /fast HTTP/1.1\r\nHost: x\r\n\r\n",
        2,
        head_methods=(True, False),
    )
    head, following = result.responses
    assert head.status == 200
    assert head.header(b"content-length") == b"1000"
    assert head.body == b""
    assert following.body == b"fast"


@pytest.mark.parametrize("status", [204, 304])
def test_no_body_statuses(basic_server: RunningServer, status: int) -> None:
    with connect(basic_server.port) as sock:
        sock.sendall(
            f"GET /status-body?{status} HTTP/1.1\r\nHost: x\r\n\r\nGET /fast HTTP/1.1\r\nHost: x\r\n\r\n".encode()
        )
        result = read_responses(sock, 2)
    first, second = result.responses
    assert first.status == status
    assert first.body == b""
    if status == 204:
        assert first.header(b"content-length") is None
    assert second.body == b"fast"


def test_many_set_cookie_headers_kept_apart(basic_server: RunningServer) -> None:
    response = httpx.get(basic_server.url + "/cookies")
    assert response.headers.get_list("set-cookie") == [
        "a=1; Path=/",
        "b=2; Path=/",
        "c=3; Path=/; HttpOnly",
    ]


def test_pipelined_responses_in_request_order(basic_server: RunningServer) -> None:
    requests = (
        b"GET /slow?0.3 HTTP/1.1\r\nHost: x\r\n\r\n"
        b"GET /fast HTTP/1.1\r\nHost: x\r\n\r\n"
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
    )
    result = exchange(basic_server.port, requests, 3)
    assert [r.body for r in result.responses] == [b"slow", b"fast", b"abc"]


def test_bad_request_in_pipeline_closes_after_earlier_answers(basic_server: RunningServer) -> None:
    requests = (
        b"GET /fast HTTP/1.1\r\nHost: x\r\n\r\n"
        b"GET /bad path HTTP/1.1\r\nHost: x\r\n\r\n"
        b"GET /fast HTTP/1.1\r\nHost: x\r\n\r\n"
    )
    result = exchange(basic_server.port, requests, 3, wait_close=True)
    assert [r.status for r in result.responses] == [200, 400]
    assert result.closed


def test_http10_closes_unless_keep_alive(basic_server: RunningServer) -> None:
    result = exchange(basic_server.port, b"GET /fast HTTP/1.0\r\n\r\n", 1, wait_close=True)
    assert result.responses[0].body == b"fast"
    assert result.closed
    with connect(basic_server.port) as sock:
        sock.sendall(b"GET /fast HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        first = read_responses(sock, 1)
        assert first.responses[0].header(b"connection") == b"keep-alive"
        sock.sendall(b"GET /fast HTTP/1.0\r\n\r\n")
        second = read_responses(sock, 1, wait_close=True)
        assert second.responses[0].body == b"fast"
        assert second.closed


def test_http10_streaming_response_is_close_delimited(basic_server: RunningServer) -> None:
    with connect(basic_server.port) as sock:
        sock.sendall(b"GET /stream?3 HTTP/1.0\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert b"transfer-encoding" not in head.lower()
    assert body == b"chunk 0\nchunk 1\nchunk 2\n"


def test_connection_close_from_client(basic_server: RunningServer) -> None:
    result = exchange(
        basic_server.port,
        b"GET /fast HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET /fast HTTP/1.1\r\nHost: x\r\n\r\n",
        2,
        wait_close=True,
    )
    assert len(result.responses) == 1
    assert result.responses[0].header(b"connection") == b"close"
    assert result.closed


def test_expect_100_continue_only_when_app_reads(basic_server: RunningServer) -> None:
    with connect(basic_server.port) as sock:
        sock.sendall(
            b"POST /read-body-later HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
            b"Expect: 100-continue\r\n\r\n"
        )
        interim = sock.recv(4096)
        assert interim.startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        sock.sendall(b"hello")
        result = read_responses(sock, 1)
    assert result.responses[0].body == b"got 5"

    # An app that answers without reading gets no 100 Continue sent on its behalf.
    with connect(basic_server.port) as sock:
        sock.sendall(
            b"POST /ignore-body HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
            b"Expect: 100-continue\r\n\r\n"
        )
        data = sock.recv(4096)
    assert data.startswith(b"HTTP/1.1 200 OK")


def test_malformed_request_gets_400_and_close(basic_server: RunningServer) -> None:
    result = exchange(basic_server.port, b"GARBAGE\r\n\r\n", 1, wait_close=True)
    assert result.responses[0].status == 400
    assert result.closed
    # The server keeps serving others.
    assert httpx.get(basic_server.url + "/fast").status_code == 200


def test_missing_host_on_http11(basic_server: RunningServer) -> None:
    result = exchange(basic_server.port, b"GET /fast HTTP/1.1\r\n\r\n", 1, wait_close=True)
    assert result.responses[0].status == 400


def test_unknown_transfer_coding_is_501(basic_server: RunningServer) -> None:
    result = exchange(
        basic_server.port,
        b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
        1,
        wait_close=True,
    )
    assert result.responses[0].status == 501
    assert result.closed


def test_unknown_method_token_is_501_even_byte_by_byte(basic_server: RunningServer) -> None:
    with connect(basic_server.port) as sock:
        for byte in b"FOO / HTTP/1.1\r\nHost: x\r\n\r\n":
            sock.sendall(bytes([byte]))
            if byte == ord(" "):
                break
        result = read_responses(sock, 1, wait_close=True)
    assert result.responses[0].status == 501


def test_server_keeps_serving_after_client_reset(basic_server: RunningServer) -> None:
    sock = connect(basic_server.port)
    sock.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    sock.close()
    assert httpx.get(basic_server.url + "/fast").text == "fast"


def test_half_closed_client_still_gets_answer(basic_server: RunningServer) -> None:
    with connect(basic_server.port) as sock:
        sock.sendall(b"GET /slow?0.1 HTTP/1.1\r\nHost: x\r\n\r\n")
        sock.shutdown(socket.SHUT_WR)
        result = read_responses(sock, 1)
        assert result.responses[0].body == b"slow"
        assert wait_for_close(sock)


def test_scope_fields(basic_server: RunningServer) -> None:
    response = httpx.get(
        basic_server.url + "/sc%6Fpe?a=1&b=%20",
        headers=[("X-Dup", "1"), ("X-Dup", "2")],
    )
    # /sc%6Fpe decodes to /scope
    scope = response.json()
    assert scope["type"] == "http"
    assert scope["asgi"]["version"] == "3.0"
    assert scope["http_version"] == "1.1"
    assert scope["method"] == "GET"
    assert scope["scheme"] == "http"
    assert scope["path"] == "/scope"
    assert scope["raw_path"] == "/sc%6Fpe"
    assert scope["query_string"] == "a=1&b=%20"
    assert scope["root_path"] == ""
    assert ["x-dup", "1"] in scope["headers"]
    assert ["x-dup", "2"] in scope["headers"]
    assert scope["headers"].index(["x-dup", "1"]) < scope["headers"].index(["x-dup", "2"])
    assert scope["client"][0] == "127.0.0.1"
    assert scope["server"] == ["127.0.0.1", basic_server.port]
    assert scope["state"] == ["started"]


def test_path_is_percent_decoded_utf8(basic_server: RunningServer) -> None:
    with connect(basic_server.port) as sock:
        sock.sendall(b"GET /%E2%82%AC?x HTTP/1.1\r\nHost: x\r\n\r\n")
        response = read_responses(sock, 1).responses[0]
    assert response.status == 404  # the app only knows its own paths
    # Absolute-form targets are accepted; the path comes from them.
    result = exchange(
        basic_server.port, b"GET http://example.com/scope?q=1 HTTP/1.1\r\nHost: example.com\r\n\r\n"
    )
    scope = json.loads(result.responses[0].body)
    assert scope["path"] == "/scope"
    assert scope["query_string"] == "q=1"
    # The target's authority replaces the Host header (RFC 9112 §3.2.2).
    result = exchange(
        basic_server.port, b"GET http://example.com/scope HTTP/1.1\r\nHost: other.test\r\n\r\n"
    )
    assert ["host", "example.com"] in json.loads(result.responses[0].body)["headers"]


def test_root_path_prefixes_path() -> None:
    with serve("basic_asgi:app", "--root-path", "/api") as server:
        scope = httpx.get(server.url + "/scope").json()
    assert scope["root_path"] == "/api"
    assert scope["path"] == "/api/scope"


def test_proxy_headers_only_from_trusted_peers() -> None:
    headers = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}
    with serve("basic_asgi:app", "--proxy-headers") as server:
        scope = httpx.get(server.url + "/scope", headers=headers).json()
        assert scope["client"][0] == "203.0.113.7"
        assert scope["scheme"] == "https"
    with serve("basic_asgi:app", "--proxy-headers", "--forwarded-allow-ips", "10.9.9.9") as server:
        scope = httpx.get(server.url + "/scope", headers=headers).json()
        assert scope["client"][0] == "127.0.0.1"
        assert scope["scheme"] == "http"
    with serve("basic_asgi:app") as server:
        assert httpx.get(server.url + "/scope", headers=headers).json()["scheme"] == "http"
