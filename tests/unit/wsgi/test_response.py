"""start_response semantics and the checks on status and headers."""

from __future__ import annotations

import sys

import pytest

from forno.http.response import InvalidResponse
from forno.wsgi.response import ResponseStart, encode_headers, parse_status


def noop_write(data: bytes) -> None:
    return None


@pytest.mark.parametrize(
    ("status", "code"), [("200 OK", 200), ("404 Not Found", 404), ("599 Custom Thing", 599)]
)
def test_parse_status(status: str, code: int) -> None:
    assert parse_status(status) == code


@pytest.mark.parametrize(
    "status", ["", "20 OK", "200OK", "abc OK", "200 OK\r\nX: y", "200 \x00", b"200 OK", 200]
)
def test_bad_status(status: object) -> None:
    with pytest.raises(InvalidResponse):
        parse_status(status)


def test_headers_encoded_latin1() -> None:
    assert encode_headers([("Content-Type", "text/plain"), ("X-Name", "café")]) == [
        (b"Content-Type", b"text/plain"),
        (b"X-Name", "café".encode("latin-1")),
    ]


@pytest.mark.parametrize(
    "headers",
    [
        [("X-Bad", "a\r\nInjected: yes")],
        [("X-Bad", "a\nb")],
        [("X-Bad", "nul\x00")],
        [("Bad Name", "v")],
        [("X-Emoji", "☃")],
        [("Connection", "close")],
        [("Transfer-Encoding", "chunked")],
        [("Keep-Alive", "timeout=5")],
        [("Upgrade", "websocket")],
        [(b"X-Bytes", b"v")],
        [("X-Int", 5)],
        [("only-name",)],
        (("X-Tuple", "v"),),
    ],
)
def test_invalid_headers(headers: object) -> None:
    with pytest.raises(InvalidResponse):
        encode_headers(headers)


def test_start_response_stores_and_returns_write() -> None:
    start = ResponseStart(noop_write)
    assert not start.called
    assert start("200 OK", [("A", "b")]) is noop_write
    assert start.called
    assert start.encode() == (200, [(b"A", b"b")])


def test_second_call_needs_exc_info() -> None:
    start = ResponseStart(noop_write)
    start("200 OK", [])
    with pytest.raises(RuntimeError):
        start("500 Internal Server Error", [])


def test_exc_info_replaces_headers_before_they_are_sent() -> None:
    start = ResponseStart(noop_write)
    start("200 OK", [("A", "1")])
    try:
        raise ValueError("boom")
    except ValueError:
        start("500 Internal Server Error", [("B", "2")], sys.exc_info())  # type: ignore[arg-type]
    assert start.encode() == (500, [(b"B", b"2")])


def test_exc_info_reraises_after_headers_were_sent() -> None:
    start = ResponseStart(noop_write)
    start("200 OK", [])
    start.head_sent = True
    try:
        raise ValueError("boom")
    except ValueError:
        info = sys.exc_info()
    with pytest.raises(ValueError, match="boom"):
        start("500 Internal Server Error", [], info)  # type: ignore[arg-type]


def test_encode_without_start_response() -> None:
    with pytest.raises(InvalidResponse):
        ResponseStart(noop_write).encode()


def test_exc_info_may_be_a_keyword() -> None:
    start = ResponseStart(noop_write)
    start("200 OK", [])
    try:
        raise ValueError("boom")
    except ValueError:
        start("500 Internal Server Error", [], exc_info=sys.exc_info())  # type: ignore[arg-type]
    assert start.encode() == (500, [])
