"""A chunked body cannot spend unbounded bytes on framing (chunk extensions, size lines)."""

from __future__ import annotations

import asyncio

from forno.server.h1 import MAX_FRAMING_OVERHEAD
from tests.unit.server.memory import h1_connection
from tests.unit.server.test_h1_trailers import HEAD, echo_headers, until


def test_endless_chunk_extension_400_and_close() -> None:
    async def run() -> bytes:
        async with h1_connection(echo_headers) as (connection, transport):
            connection.data_received(HEAD + b"3;ext=")
            for _ in range(MAX_FRAMING_OVERHEAD // 4096 * 2):
                if transport.closed.is_set():
                    break
                connection.data_received(b"a" * 4096)
            await asyncio.wait_for(transport.closed.wait(), 5)
            return bytes(transport.output)

    assert asyncio.run(run()).startswith(b"HTTP/1.1 400")


def test_many_extensions_on_tiny_chunks_400() -> None:
    chunk = b"1;" + b"e" * 1000 + b"\r\nx\r\n"

    async def run() -> bytes:
        async with h1_connection(echo_headers) as (connection, transport):
            connection.data_received(HEAD)
            for _ in range(MAX_FRAMING_OVERHEAD // len(chunk) * 2):
                if transport.closed.is_set():
                    break
                connection.data_received(chunk)
            await asyncio.wait_for(transport.closed.wait(), 5)
            return bytes(transport.output)

    assert asyncio.run(run()).startswith(b"HTTP/1.1 400")


def test_small_chunks_with_ordinary_framing_are_served() -> None:
    async def run() -> bytes:
        async with h1_connection(echo_headers) as (connection, transport):
            connection.data_received(HEAD)
            for _ in range(20_000):  # 20,000 16-byte chunks: 6 framing bytes each
                connection.data_received(b"10\r\n" + b"x" * 16 + b"\r\n")
            connection.data_received(b"0\r\n\r\n")
            await until(lambda: transport.output.endswith(b"]]"))
            return bytes(transport.output)

    assert asyncio.run(run()).startswith(b"HTTP/1.1 200")
