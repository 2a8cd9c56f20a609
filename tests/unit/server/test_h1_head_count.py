"""A pipelined head is counted against max_header_size from its first byte."""

from __future__ import annotations

import asyncio
import re

from tests.unit.server.memory import h1_connection
from tests.unit.server.test_h1_trailers import echo_headers

SMALL = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"


def big_head_fields(size: int) -> bytes:
    return b"GET / HTTP/1.1\r\nHost: x\r\n" + b"".join(
        b"X-%d: %s\r\n" % (i, b"v" * 500) for i in range(size // 500)
    )


def statuses(output: bytes) -> list[bytes]:
    return re.findall(rb"HTTP/1\.1 (\d{3}) ", output)


def test_head_begun_behind_a_pipelined_request_is_counted() -> None:
    async def run() -> bytes:
        async with h1_connection(echo_headers, max_header_size=2048) as (connection, transport):
            # The second head's fields (3x the limit) arrive in the first request's read; only
            # its final CRLF comes in a read of its own.
            connection.data_received(SMALL + big_head_fields(6000))
            connection.data_received(b"\r\n")
            await asyncio.wait_for(transport.closed.wait(), 5)
            return bytes(transport.output)

    assert statuses(asyncio.run(run())) == [b"200", b"431"]


def test_endless_head_begun_behind_a_pipelined_request_is_cut_off() -> None:
    async def run() -> bytes:
        async with h1_connection(echo_headers, max_header_size=2048) as (connection, transport):
            connection.data_received(SMALL + b"GET / HTTP/1.1\r\nHost: x\r\nX-Endless: ")
            for _ in range(10):
                if transport.closed.is_set():
                    break
                connection.data_received(b"a" * 1024)
            await asyncio.wait_for(transport.closed.wait(), 5)
            return bytes(transport.output)

    assert statuses(asyncio.run(run())) == [b"200", b"431"]


def test_pipelined_heads_within_the_limit_are_served() -> None:
    async def run() -> bytes:
        async with h1_connection(echo_headers, max_header_size=2048) as (connection, transport):
            connection.data_received(SMALL * 50 + big_head_fields(1500))
            connection.data_received(b"\r\n")
            for _ in range(1000):
                if len(statuses(bytes(transport.output))) == 51:
                    break
                await asyncio.sleep(0)
            return bytes(transport.output)

    assert statuses(asyncio.run(run())) == [b"200"] * 51
