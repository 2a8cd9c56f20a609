"""The WebSocket opening handshake (forno.http.websocket), sans-IO."""

from __future__ import annotations

import base64

import pytest
from websockets.extensions.permessage_deflate import PerMessageDeflate

from forno.http.response import InvalidResponse
from forno.http.websocket import (
    DeflateSettings,
    Handshake,
    HandshakeError,
    accept_key,
    accept_response,
    handshake_error_response,
    negotiate_extensions,
    parse_handshake,
    parse_subprotocols,
    wants_websocket,
)

KEY = b"dGhlIHNhbXBsZSBub25jZQ=="


def request_headers(**overrides: bytes | None) -> list[tuple[bytes, bytes]]:
    fields: dict[str, bytes | None] = {
        "host": b"example.com",
        "connection": b"Upgrade",
        "upgrade": b"websocket",
        "sec_websocket_key": KEY,
        "sec_websocket_version": b"13",
    }
    fields.update(overrides)
    return [(name.replace("_", "-").encode(), value) for name, value in fields.items() if value]


def test_accept_key_matches_rfc_6455_example() -> None:
    assert accept_key(KEY) == b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def test_valid_handshake() -> None:
    headers = request_headers()
    headers.append((b"sec-websocket-protocol", b"chat, superchat"))
    headers.append((b"sec-websocket-protocol", b"v2"))
    handshake = parse_handshake("GET", "1.1", headers)
    assert handshake.key == KEY
    assert handshake.subprotocols == ["chat", "superchat", "v2"]


@pytest.mark.parametrize(
    ("connection", "upgrade"),
    [
        (b"keep-alive, Upgrade", b"WebSocket"),
        (b"upgrade", b"h2c, websocket"),
        (b"UPGRADE", b"websocket"),
    ],
)
def test_tokens_are_case_insensitive_lists(connection: bytes, upgrade: bytes) -> None:
    headers = request_headers(connection=connection, upgrade=upgrade)
    assert parse_handshake("GET", "1.1", headers).key == KEY


@pytest.mark.parametrize(
    ("method", "version", "overrides", "status"),
    [
        ("POST", "1.1", {}, 400),
        ("GET", "1.0", {}, 400),
        ("GET", "1.1", {"connection": b"keep-alive"}, 400),
        ("GET", "1.1", {"connection": None}, 400),
        ("GET", "1.1", {"upgrade": b"h2c"}, 400),
        ("GET", "1.1", {"sec_websocket_version": b"8"}, 426),
        ("GET", "1.1", {"sec_websocket_version": None}, 400),
        ("GET", "1.1", {"sec_websocket_key": None}, 400),
        ("GET", "1.1", {"sec_websocket_key": b"not base64!"}, 400),
        ("GET", "1.1", {"sec_websocket_key": base64.b64encode(b"x" * 15)}, 400),
        ("GET", "1.1", {"sec_websocket_key": base64.b64encode(b"x" * 17)}, 400),
    ],
)
def test_invalid_handshakes(
    method: str, version: str, overrides: dict[str, bytes | None], status: int
) -> None:
    with pytest.raises(HandshakeError) as info:
        parse_handshake(method, version, request_headers(**overrides))
    assert info.value.status == status


def test_two_keys_are_refused() -> None:
    headers = request_headers()
    headers.append((b"sec-websocket-key", KEY))
    with pytest.raises(HandshakeError, match="exactly one"):
        parse_handshake("GET", "1.1", headers)


def test_two_versions_are_refused() -> None:
    headers = request_headers()
    headers.append((b"sec-websocket-version", b"13"))
    with pytest.raises(HandshakeError):
        parse_handshake("GET", "1.1", headers)


def test_invalid_subprotocol_token() -> None:
    assert parse_subprotocols(b" a ,, b") == ["a", "b"]
    with pytest.raises(HandshakeError):
        parse_subprotocols(b"a b")


def test_wants_websocket() -> None:
    assert wants_websocket([(b"upgrade", b"foo, WebSocket")])
    assert not wants_websocket([(b"upgrade", b"h2c")])
    assert not wants_websocket([(b"x-upgrade", b"websocket")])


def test_accept_response() -> None:
    handshake = Handshake(KEY, ["chat"])
    data = accept_response(
        handshake,
        "chat",
        b"permessage-deflate",
        [(b"X-Extra", b"1")],
        date_line=b"date: x\r\n",
        server_line=b"server: forno\r\n",
    )
    lines = data.split(b"\r\n")
    assert lines[0] == b"HTTP/1.1 101 Switching Protocols"
    assert b"sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" in lines
    assert b"sec-websocket-protocol: chat" in lines
    assert b"sec-websocket-extensions: permessage-deflate" in lines
    assert b"x-extra: 1" in lines
    assert b"server: forno" in lines
    assert data.endswith(b"\r\n\r\n")


@pytest.mark.parametrize(
    "headers",
    [
        [(b"bad name", b"x")],
        [(b"x-ok", b"line\r\nbreak")],
        [(b"sec-websocket-accept", b"forged")],
        [(b"connection", b"close")],
        [(b"sec-websocket-protocol", b"chat")],
        [("x-str", "not bytes")],
    ],
)
def test_accept_response_refuses_bad_headers(headers: list[tuple[bytes, bytes]]) -> None:
    with pytest.raises(InvalidResponse):
        accept_response(Handshake(KEY, ["chat"]), None, None, headers)


def test_accept_response_refuses_unoffered_subprotocol() -> None:
    with pytest.raises(InvalidResponse):
        accept_response(Handshake(KEY, ["chat"]), "other", None)


def test_error_responses() -> None:
    data = handshake_error_response(HandshakeError("no", 426))
    assert data.startswith(b"HTTP/1.1 426 Upgrade Required\r\n")
    assert b"sec-websocket-version: 13\r\n" in data
    assert b"connection: close\r\n" in data
    data = handshake_error_response(HandshakeError("bad key"), date_line=b"date: d\r\n")
    assert data.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert data.endswith(b"\r\n\r\nbad key\n")


def test_deflate_disabled_or_not_offered() -> None:
    assert negotiate_extensions([b"permessage-deflate"], None) == (None, [])
    assert negotiate_extensions([], DeflateSettings()) == (None, [])
    assert negotiate_extensions([b"x-unknown"], DeflateSettings()) == (None, [])


def test_deflate_default_offer() -> None:
    header, extensions = negotiate_extensions(
        [b"permessage-deflate; client_max_window_bits"], DeflateSettings()
    )
    assert header == b"permessage-deflate; server_max_window_bits=12"
    assert len(extensions) == 1
    assert isinstance(extensions[0], PerMessageDeflate)


def test_deflate_parameters_are_honoured() -> None:
    offer = (
        b"permessage-deflate; server_no_context_takeover; client_no_context_takeover;"
        b" server_max_window_bits=10; client_max_window_bits=9"
    )
    header, (extension,) = negotiate_extensions([offer], DeflateSettings())
    assert header is not None
    params = {item.strip() for item in header.decode().split(";")}
    assert params == {
        "permessage-deflate",
        "server_no_context_takeover",
        "client_no_context_takeover",
        "server_max_window_bits=10",
        "client_max_window_bits=9",
    }
    assert isinstance(extension, PerMessageDeflate)
    assert extension.local_no_context_takeover
    assert extension.remote_no_context_takeover
    assert extension.local_max_window_bits == 10
    assert extension.remote_max_window_bits == 9


def test_deflate_falls_back_to_an_acceptable_offer() -> None:
    # A window of 8 bits is not supported by zlib: the second offer is taken.
    offers = [b"permessage-deflate; server_max_window_bits=8, permessage-deflate"]
    header, extensions = negotiate_extensions(offers, DeflateSettings())
    assert header == b"permessage-deflate; server_max_window_bits=12"
    assert len(extensions) == 1


def test_deflate_invalid_offer() -> None:
    assert negotiate_extensions(
        [b"permessage-deflate; server_max_window_bits=99"], DeflateSettings()
    ) == (None, [])
    with pytest.raises(HandshakeError):
        negotiate_extensions([b"permessage-deflate; =;"], DeflateSettings())
