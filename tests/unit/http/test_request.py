from __future__ import annotations

import pytest

from forno.errors import ProtocolError
from forno.http.request import (
    FramingHeaders,
    check_framing,
    decode_path,
    decode_path_latin1,
    split_target,
)


def framing(*headers: tuple[bytes, bytes]) -> FramingHeaders:
    fields = FramingHeaders()
    for name, value in headers:
        fields.add(name, value)
    return fields


def test_plain_http11_request() -> None:
    result = check_framing("1.1", framing((b"host", b"example.com")))
    assert result.keep_alive
    assert not result.chunked
    assert result.content_length is None


@pytest.mark.parametrize(
    ("version", "headers", "status"),
    [
        ("1.1", [], 400),
        ("1.1", [(b"host", b"a"), (b"host", b"b")], 400),
        ("1.0", [(b"host", b"a"), (b"host", b"a")], 400),
        ("1.1", [(b"host", b"a b")], 400),
        ("2.0", [(b"host", b"a")], 505),
        ("0.9", [], 505),
        ("1.0", [(b"transfer-encoding", b"chunked")], 400),
        ("1.1", [(b"host", b"a"), (b"transfer-encoding", b"gzip, chunked")], 501),
        ("1.1", [(b"host", b"a"), (b"transfer-encoding", b"identity")], 501),
        ("1.1", [(b"host", b"a"), (b"transfer-encoding", b"chunked, gzip")], 400),
        ("1.1", [(b"host", b"a"), (b"transfer-encoding", b"chunked, chunked")], 400),
        ("1.1", [(b"host", b"a"), (b"expect", b"something-else")], 417),
    ],
)
def test_rejections(version: str, headers: list[tuple[bytes, bytes]], status: int) -> None:
    with pytest.raises(ProtocolError) as info:
        check_framing(version, framing(*headers))
    assert info.value.status == status


def test_connection_tokens_and_versions() -> None:
    assert not check_framing(
        "1.1", framing((b"host", b"a"), (b"connection", b"Keep-Alive, close"))
    ).keep_alive
    assert not check_framing("1.0", framing()).keep_alive
    assert check_framing("1.0", framing((b"connection", b"keep-alive"))).keep_alive
    chunked = check_framing("1.1", framing((b"host", b"a"), (b"transfer-encoding", b"Chunked")))
    assert chunked.chunked
    upgrade = check_framing(
        "1.1", framing((b"host", b"a"), (b"connection", b"Upgrade"), (b"upgrade", b"WebSocket"))
    )
    assert upgrade.upgrade == b"websocket"
    expect = check_framing("1.1", framing((b"host", b"a"), (b"expect", b"100-Continue")))
    assert expect.expect_continue


@pytest.mark.parametrize(
    ("method", "target", "path", "query"),
    [
        (b"GET", b"/a/b?x=1&y", b"/a/b", b"x=1&y"),
        (b"GET", b"/", b"/", b""),
        (b"OPTIONS", b"*", b"*", b""),
        (b"GET", b"http://example.com/p?q", b"/p", b"q"),
        (b"GET", b"https://example.com:8443", b"/", b""),
        (b"GET", b"HTTP://example.com?q=1", b"/", b"q=1"),
    ],
)
def test_split_target(method: bytes, target: bytes, path: bytes, query: bytes) -> None:
    parsed = split_target(method, target)
    assert (parsed.raw_path, parsed.query) == (path, query)


@pytest.mark.parametrize(
    ("method", "target"),
    [
        (b"GET", b"*"),
        (b"GET", b"example.com:80"),
        (b"CONNECT", b"example.com:443"),
        (b"GET", b"/a#frag"),
        (b"GET", b"http://user@example.com/"),
        (b"GET", b"http:///nohost"),
        (b"GET", b"ftp://example.com/"),
    ],
)
def test_invalid_targets(method: bytes, target: bytes) -> None:
    with pytest.raises(ProtocolError):
        split_target(method, target)


def test_path_decoding() -> None:
    assert decode_path(b"/a%20b") == "/a b"
    assert decode_path(b"/%E2%82%AC") == "/\u20ac"
    assert decode_path(b"/%ff") == "/\ufffd"
    assert decode_path(b"/plain") == "/plain"
    assert decode_path_latin1(b"/%E2%82%AC") == "/\xe2\x82\xac"
    assert decode_path_latin1(b"/x") == "/x"
