"""Trailer fields after a chunked body are bounded and never become request headers."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from tests.unit.server.memory import h1_connection

HEAD = b"POST / HTTP/1.1\r\nHost: good\r\nTransfer-Encoding: chunked\r\n\r\n"


async def echo_headers(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    while True:
        message = await receive()
        if not message.get("more_body"):
            break
    headers = [[n.decode(), v.decode()] for n, v in scope["headers"]]
    body = json.dumps(headers).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def until(condition: Any) -> None:
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition not reached")


def test_trailers_are_not_request_headers() -> None:
    async def run() -> bytes:
        async with h1_connection(echo_headers) as (connection, transport):
            connection.data_received(HEAD + b"3\r\nabc\r\n0\r\nHost: evil\r\nX-Trailer: t\r\n\r\n")
            await until(lambda: transport.output.endswith(b"]]"))
            return bytes(transport.output)

    output = asyncio.run(run())
    head, _, body = output.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    headers = json.loads(body)
    assert ["host", "good"] in headers
    assert all(name not in ("x-trailer",) for name, _ in headers)
    assert ["host", "evil"] not in headers


def test_too_many_trailer_fields_431_and_close() -> None:
    async def run() -> bytes:
        async with h1_connection(echo_headers, max_header_count=10) as (connection, transport):
            trailers = b"".join(b"X-%d: v\r\n" % i for i in range(50))
            connection.data_received(HEAD + b"3\r\nabc\r\n0\r\n" + trailers + b"\r\n")
            await asyncio.wait_for(transport.closed.wait(), 5)
            return bytes(transport.output)

    assert asyncio.run(run()).startswith(b"HTTP/1.1 431")


def test_oversized_trailer_section_431_and_close() -> None:
    async def run() -> bytes:
        async with h1_connection(echo_headers, max_header_size=2048) as (connection, transport):
            trailers = b"".join(b"X-%d: %s\r\n" % (i, b"v" * 500) for i in range(8))
            connection.data_received(HEAD + b"3\r\nabc\r\n0\r\n" + trailers + b"\r\n")
            await asyncio.wait_for(transport.closed.wait(), 5)
            return bytes(transport.output)

    assert asyncio.run(run()).startswith(b"HTTP/1.1 431")
