from __future__ import annotations

import pytest

from forno.http.response import InvalidResponse, build_head, chunk, error_response

DATE = b"date: Sun, 22 Nov 2026 07:00:00 GMT\r\n"


def head(status: int = 200, headers: list[tuple[bytes, bytes]] | None = None, **kw: object):  # type: ignore[no-untyped-def]
    options: dict[str, object] = {
        "http11": True,
        "keep_alive": True,
        "head_request": False,
        "known_length": None,
        "date_line": DATE,
        "server_line": b"server: forno\r\n",
    }
    options.update(kw)
    return build_head(status, headers or [], **options)  # type: ignore[arg-type]


def test_known_length_and_lowercased_names() -> None:
    result = head(headers=[(b"Content-Type", b"text/plain")], known_length=5)
    assert result.data == (
        b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n"
        + DATE
        + b"server: forno\r\ncontent-length: 5\r\n\r\n"
    )
    assert not result.chunked
    assert result.content_length == 5


def test_unknown_length_is_chunked_on_11_and_close_delimited_on_10() -> None:
    assert head().chunked
    assert b"transfer-encoding: chunked\r\n" in head().data
    old = head(http11=False)
    assert not old.chunked
    assert not old.keep_alive
    assert b"connection: close\r\n" in old.data
    assert head(http11=False, known_length=1).data.count(b"connection: keep-alive") == 1


def test_no_body_statuses_and_head() -> None:
    no_content = head(204, [(b"content-length", b"10")])
    assert b"content-length" not in no_content.data
    assert not no_content.body_allowed
    not_modified = head(304)
    assert not not_modified.chunked
    assert not not_modified.body_allowed
    head_request = head(head_request=True, known_length=0)
    assert b"content-length" not in head_request.data
    assert not head_request.body_allowed
    assert b"content-length: 9" in head(headers=[(b"content-length", b"9")], head_request=True).data


def test_app_date_and_server_replace_ours() -> None:
    data = head(headers=[(b"date", b"x"), (b"server", b"mine")]).data
    assert data.count(b"date:") == 1
    assert b"server: mine" in data
    assert b"server: forno" not in data


def test_connection_close_honoured_and_hop_by_hop_dropped_or_refused() -> None:
    result = head(headers=[(b"connection", b"close"), (b"transfer-encoding", b"chunked")])
    assert not result.keep_alive
    assert result.data.count(b"connection: close") == 1
    with pytest.raises(InvalidResponse, match="hop-by-hop"):
        head(headers=[(b"connection", b"close")], strict_hop_by_hop=True)


@pytest.mark.parametrize(
    "headers",
    [
        [(b"x", b"a\r\nb")],
        [(b"x", b"a\nb")],
        [(b"x", b"a\x00b")],
        [(b"x y", b"v")],
        [(b"", b"v")],
        [(b"x:", b"v")],
        [(b"content-length", b"-1")],
        [(b"content-length", b"1"), (b"content-length", b"1")],
        [("x", "v")],
    ],
)
def test_invalid_headers_refused(headers: list[tuple[bytes, bytes]]) -> None:
    with pytest.raises(InvalidResponse):
        head(headers=headers)


@pytest.mark.parametrize("status", [99, 600, 101, 100, "200", 200.0])
def test_invalid_status_refused(status: object) -> None:
    with pytest.raises(InvalidResponse):
        head(status)  # type: ignore[arg-type]


def test_chunk_and_error_response() -> None:
    assert chunk(b"hello") == b"5\r\nhello\r\n"
    response = error_response(400, "Bad Request", date_line=None)
    assert response.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert response.endswith(b"\r\n\r\nBad Request\n")
    assert b"connection: close" in response
