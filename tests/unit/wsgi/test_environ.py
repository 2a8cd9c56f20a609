"""The environ builder: a pure function of the request head."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from forno.http.channel import RequestHead
from forno.wsgi.environ import build_environ, header_key, split_host
from forno.wsgi.file_wrapper import FileWrapper
from forno.wsgi.log import ERROR_STREAM

STREAM = object()


def make_head(**changes: Any) -> RequestHead:
    fields: dict[str, Any] = {
        "method": "GET",
        "http_version": "1.1",
        "raw_path": b"/",
        "query": b"",
        "headers": [(b"host", b"example.com")],
        "scheme": "http",
        "client": ("10.0.0.7", 51000),
        "server": ("127.0.0.1", 8000),
        "root_path": "",
    }
    fields.update(changes)
    return RequestHead(**fields)


def environ_of(head: RequestHead, multiprocess: bool = False) -> dict[str, Any]:
    return build_environ(
        head, STREAM, multiprocess=multiprocess, file_wrapper=FileWrapper, errors=ERROR_STREAM
    )


def test_required_keys_and_wsgi_values() -> None:
    env = environ_of(make_head(query=b"a=1&b=%20"))
    assert env["REQUEST_METHOD"] == "GET"
    assert env["SCRIPT_NAME"] == ""
    assert env["PATH_INFO"] == "/"
    assert env["QUERY_STRING"] == "a=1&b=%20"
    assert env["SERVER_PROTOCOL"] == "HTTP/1.1"
    assert env["SERVER_NAME"] == "example.com"
    assert env["SERVER_PORT"] == "80"
    assert env["REMOTE_ADDR"] == "10.0.0.7"
    assert env["REMOTE_PORT"] == "51000"
    assert env["wsgi.version"] == (1, 0)
    assert env["wsgi.url_scheme"] == "http"
    assert env["wsgi.input"] is STREAM
    assert env["wsgi.errors"] is ERROR_STREAM
    assert env["wsgi.multithread"] is True
    assert env["wsgi.multiprocess"] is False
    assert env["wsgi.run_once"] is False
    assert env["wsgi.input_terminated"] is True
    assert env["wsgi.file_wrapper"] is FileWrapper
    assert "CONTENT_LENGTH" not in env
    for key, value in env.items():
        if "." not in key:
            assert type(value) is str, key


def test_multiprocess_flag() -> None:
    assert environ_of(make_head(), multiprocess=True)["wsgi.multiprocess"] is True


def test_path_is_percent_decoded_latin1_and_root_path_is_script_name() -> None:
    env = environ_of(make_head(raw_path=b"/caf%C3%A9/a%2Fb", root_path="/mount/"))
    assert env["SCRIPT_NAME"] == "/mount"
    # The decoded bytes carried as latin-1 (PEP 3333): the app re-encodes to get UTF-8 back.
    assert env["PATH_INFO"] == "/café/a/b".encode().decode("latin-1")
    assert env["PATH_INFO"].encode("latin-1").decode("utf-8") == "/café/a/b"


def test_raw_non_ascii_path_bytes_survive() -> None:
    env = environ_of(make_head(raw_path="/ü".encode()))
    assert env["PATH_INFO"].encode("latin-1") == "/ü".encode()


def test_content_headers_and_http_headers() -> None:
    head = make_head(
        method="POST",
        headers=[
            (b"host", b"example.com:8443"),
            (b"content-type", b"application/json"),
            (b"content-length", b"12"),
            (b"x-forwarded-for", b"1.2.3.4"),
            (b"accept", b"text/html"),
            (b"accept", b"application/json"),
            (b"cookie", b"a=1"),
            (b"cookie", b"b=2"),
            (b"x-latin", "é".encode("latin-1")),
        ],
    )
    env = environ_of(head)
    assert env["CONTENT_TYPE"] == "application/json"
    assert env["CONTENT_LENGTH"] == "12"
    assert "HTTP_CONTENT_TYPE" not in env
    assert "HTTP_CONTENT_LENGTH" not in env
    assert env["HTTP_HOST"] == "example.com:8443"
    assert env["SERVER_NAME"] == "example.com"
    assert env["SERVER_PORT"] == "8443"
    assert env["HTTP_X_FORWARDED_FOR"] == "1.2.3.4"
    assert env["HTTP_ACCEPT"] == "text/html, application/json"
    assert env["HTTP_COOKIE"] == "a=1; b=2"
    assert env["HTTP_X_LATIN"] == "é"


def test_headers_with_underscores_are_dropped() -> None:
    head = make_head(
        headers=[(b"host", b"h"), (b"x-user", b"alice"), (b"x_user", b"mallory")],
    )
    env = environ_of(head)
    assert env["HTTP_X_USER"] == "alice"
    assert header_key(b"x_user") is None
    assert header_key(b"content_length") is None


def test_server_name_falls_back_to_the_socket() -> None:
    env = environ_of(make_head(http_version="1.0", headers=[]))
    assert env["SERVER_NAME"] == "127.0.0.1"
    assert env["SERVER_PORT"] == "8000"
    assert env["SERVER_PROTOCOL"] == "HTTP/1.0"
    assert "HTTP_HOST" not in env


def test_unix_socket_and_no_client() -> None:
    env = environ_of(make_head(headers=[], server=("/tmp/forno.sock", None), client=None))
    assert env["SERVER_NAME"] == "/tmp/forno.sock"
    assert env["SERVER_PORT"] == "80"
    assert "REMOTE_ADDR" not in env


@pytest.mark.parametrize(
    ("host", "scheme", "expected"),
    [
        ("example.com", "http", ("example.com", "80")),
        ("example.com", "https", ("example.com", "443")),
        ("example.com:81", "https", ("example.com", "81")),
        ("[::1]:8080", "http", ("[::1]", "8080")),
        ("[::1]", "https", ("[::1]", "443")),
        ("127.0.0.1:9", "http", ("127.0.0.1", "9")),
    ],
)
def test_split_host(host: str, scheme: str, expected: tuple[str, str]) -> None:
    assert split_host(host, scheme) == expected


def test_https_scheme() -> None:
    env = environ_of(make_head(scheme="https"))
    assert env["wsgi.url_scheme"] == "https"
    assert env["SERVER_PORT"] == "443"


def test_error_stream_logs_to_forno_error(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="forno.error"):
        ERROR_STREAM.write("something broke\n")
        ERROR_STREAM.writelines(["line one\n", "\n"])
        ERROR_STREAM.flush()
    messages = [record.getMessage() for record in caplog.records if record.name == "forno.error"]
    assert messages == ["something broke", "line one"]
