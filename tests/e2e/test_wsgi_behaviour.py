"""WSGI behaviour over real sockets: environ, errors, invalid headers, framing, files, disconnects."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme

from tests.support.raw import connect
from tests.support.server import RunningServer, serve

FILE_DATA_1M = bytes(range(256)) * (1_000_000 // 256) + b"z" * (1_000_000 % 256)


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    with serve("wsgi_behaviour:app", "--threads", "4") as running:
        running.wait_ready()
        yield running


@pytest.fixture
def client(server: RunningServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10) as http:
        yield http


def recorded(client: httpx.Client, key: str) -> Any:
    # A new connection: the one that got a broken response may be closed by now.
    url = str(client.base_url) + "/record"
    return httpx.get(url, params={"key": key}, timeout=15).json()


def read_until_close(sock: socket.socket) -> bytes:
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except ConnectionResetError:
        pass
    return data


# ---- environ ---------------------------------------------------------------------------------


def test_environ_from_a_real_request(server: RunningServer) -> None:
    with connect(server.port) as sock:
        local_port = sock.getsockname()[1]
        sock.sendall(
            b"GET /environ?q=%20x HTTP/1.1\r\nHost: example.org:1234\r\n"
            b"X-User: alice\r\nX_User: mallory\r\nCookie: a=1\r\nCookie: b=2\r\n"
            b"Accept: a\r\nAccept: b\r\nConnection: close\r\n\r\n"
        )
        data = read_until_close(sock)
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    env = httpx.Response(200, content=body).json()
    assert env["SERVER_NAME"] == "example.org"
    assert env["SERVER_PORT"] == "1234"
    assert env["HTTP_X_USER"] == "alice"
    assert env["HTTP_COOKIE"] == "a=1; b=2"
    assert env["HTTP_ACCEPT"] == "a, b"
    assert env["REMOTE_ADDR"] == "127.0.0.1"
    assert int(env["REMOTE_PORT"]) == local_port
    assert env["QUERY_STRING"] == "q=%20x"
    assert env["SCRIPT_NAME"] == ""


def test_root_path_is_script_name() -> None:
    with serve("wsgi_behaviour:app", "--root-path", "/mnt") as running:
        env = httpx.get(running.url + "/environ", timeout=10).json()
    assert env["SCRIPT_NAME"] == "/mnt"
    assert env["PATH_INFO"] == "/environ"


# ---- app errors ------------------------------------------------------------------------------


def test_exception_before_start_response_is_a_500(
    server: RunningServer, client: httpx.Client
) -> None:
    response = client.get("/raise-before")
    assert response.status_code == 500
    log = server.wait_for_log("RuntimeError: boom before start_response")
    assert log.count("RuntimeError: boom before start_response") == 1
    assert client.get("/fast").text == "fast"  # the worker survived


def test_exception_after_start_response_is_a_500(client: httpx.Client) -> None:
    assert client.get("/raise-after-start").status_code == 500


def test_exception_while_streaming_closes_the_connection(
    server: RunningServer, client: httpx.Client
) -> None:
    with pytest.raises(httpx.RemoteProtocolError):
        client.get("/raise-while-streaming")
    assert recorded(client, "raise-while-streaming") == {"closed": True, "taken": 1}
    log = server.wait_for_log("RuntimeError: boom while streaming")
    assert log.count("RuntimeError: boom while streaming") == 1


def test_exc_info_before_the_head_replaces_it(client: httpx.Client) -> None:
    response = client.get("/exc-info")
    assert response.status_code == 503
    assert response.text == "recovered"


def test_exc_info_after_the_head_reraises(server: RunningServer, client: httpx.Client) -> None:
    with pytest.raises(httpx.RemoteProtocolError):
        client.get("/exc-info-late")
    log = server.wait_for_log("ValueError: too late")
    assert log.count("ValueError: too late") == 1


def test_no_start_response(server: RunningServer, client: httpx.Client) -> None:
    assert client.get("/no-start-response").status_code == 500
    server.wait_for_log("did not call start_response")


@pytest.mark.parametrize(
    "kind", ["crlf", "nul", "latin", "connection", "transfer-encoding", "status", "bytes"]
)
@pytest.mark.parametrize("stream", [False, True])
def test_invalid_response_headers_give_500(
    server: RunningServer, client: httpx.Client, kind: str, stream: bool
) -> None:
    params = {"kind": kind, "stream": "1" if stream else ""}
    response = client.get("/bad", params=params)
    assert response.status_code == 500
    assert b"should not be sent" not in response.content
    assert "injected" not in response.headers.get("set-cookie", "")
    assert "x-evil" not in response.headers
    server.wait_for_log("invalid response from WSGI app for GET /bad")
    assert client.get("/fast").text == "fast"


# ---- framing ---------------------------------------------------------------------------------


def test_body_shorter_than_content_length_closes(
    server: RunningServer, client: httpx.Client
) -> None:
    with pytest.raises(httpx.RemoteProtocolError):
        client.get("/cl-short")
    server.wait_for_log("short of its content-length")


def test_body_longer_than_content_length_is_cut(
    server: RunningServer, client: httpx.Client
) -> None:
    response = client.get("/cl-long")
    assert response.content == b"12345"
    assert recorded(client, "cl-long")["closed"] is True
    server.wait_for_log("more body than its content-length")


# ---- wsgi.file_wrapper -----------------------------------------------------------------------


def test_file_wrapper_uses_sendfile_and_closes_the_file(client: httpx.Client) -> None:
    response = client.get("/sendfile", params={"size": 1_000_000})
    assert response.status_code == 200
    assert response.headers["content-length"] == "1000000"
    assert response.content == FILE_DATA_1M
    assert recorded(client, "file") == {"closed": True, "reads": 0}


def test_file_wrapper_from_the_current_position(client: httpx.Client) -> None:
    response = client.get("/sendfile", params={"size": 1_000_000, "offset": 1000})
    assert response.content == FILE_DATA_1M[1000:]
    assert recorded(client, "file") == {"closed": True, "reads": 0}


def test_file_wrapper_honours_content_length(client: httpx.Client) -> None:
    response = client.get("/sendfile", params={"size": 1_000_000, "length": 500})
    assert response.content == FILE_DATA_1M[:500]
    assert recorded(client, "file")["closed"] is True


def test_file_wrapper_large_file_to_a_reader(client: httpx.Client) -> None:
    size = 24 * 1024 * 1024  # far more than the socket buffers: sendfile must wait and resume
    received = 0
    with client.stream("GET", "/sendfile", params={"size": size}) as response:
        for piece in response.iter_bytes():
            received += len(piece)
    assert received == size
    assert recorded(client, "file") == {"closed": True, "reads": 0}


def test_file_wrapper_head(client: httpx.Client) -> None:
    response = client.head("/sendfile", params={"size": 1000})
    assert response.content == b""
    assert recorded(client, "file") == {"closed": True, "reads": 0}


def test_file_wrapper_client_goes_away(server: RunningServer, client: httpx.Client) -> None:
    with connect(server.port) as sock:
        sock.sendall(b"GET /sendfile?size=50000000 HTTP/1.1\r\nHost: h\r\n\r\n")
        assert sock.recv(65536).startswith(b"HTTP/1.1 200")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    assert recorded(client, "file")["closed"] is True
    assert client.get("/fast").text == "fast"


# ---- client disconnects ----------------------------------------------------------------------


def test_disconnect_while_streaming_closes_the_iterable(
    server: RunningServer, client: httpx.Client
) -> None:
    with connect(server.port) as sock:
        sock.sendall(b"GET /endless HTTP/1.1\r\nHost: h\r\n\r\n")
        received = 0
        while received < 1_000_000:
            received += len(sock.recv(65536))
    result = recorded(client, "endless")
    assert result["closed"] is True
    assert result["taken"] >= 1_000_000 // 65536


def test_disconnect_makes_write_raise(server: RunningServer, client: httpx.Client) -> None:
    with connect(server.port) as sock:
        sock.sendall(b"GET /write-endless HTTP/1.1\r\nHost: h\r\n\r\n")
        assert sock.recv(65536).startswith(b"HTTP/1.1 200")
    assert recorded(client, "write-endless") == "ClientDisconnected"


def test_disconnect_while_the_app_reads_the_body(
    server: RunningServer, client: httpx.Client
) -> None:
    with connect(server.port) as sock:
        sock.sendall(b"POST /length HTTP/1.1\r\nHost: h\r\nContent-Length: 10000000\r\n\r\n")
        sock.sendall(b"y" * 1_000_000)  # over the body buffer: the app is already reading
    assert recorded(client, "read-error") == "ClientDisconnected"
    assert client.get("/fast").text == "fast"


def test_streamed_upload_length(client: httpx.Client) -> None:
    size = 8 * 1024 * 1024

    def chunks() -> Iterator[bytes]:
        for _ in range(size // 65536):
            yield b"u" * 65536

    assert client.post("/length", content=chunks()).json() == {"length": size}
    assert client.post("/length", content=b"v" * size).json() == {"length": size}


def test_file_wrapper_under_tls_falls_back_to_reading(tmp_path: Path) -> None:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.cert_chain_pems[0].write_to_path(str(cert_path))
    cert.private_key_pem.write_to_path(str(key_path))
    context = ssl.create_default_context()
    ca.configure_trust(context)
    with serve(
        "wsgi_behaviour:app", "--ssl-certfile", str(cert_path), "--ssl-keyfile", str(key_path)
    ) as running:
        url = f"https://127.0.0.1:{running.port}"
        with httpx.Client(base_url=url, verify=context, timeout=10) as tls_client:
            response = tls_client.get("/sendfile", params={"size": 1_000_000})
            assert response.content == FILE_DATA_1M
            environ = tls_client.get("/environ").json()
            assert environ["wsgi.url_scheme"] == "https"
            assert environ["SERVER_PORT"] == str(running.port)
            file_record = tls_client.get("/record", params={"key": "file"}).json()
    assert file_record["closed"] is True
    assert file_record["reads"] > 1  # read in blocks: no sendfile under TLS
