"""Zero-copy response bodies: ``os.sendfile`` from a file into the client's socket.

Used for WSGI's ``wsgi.file_wrapper``. uvloop does not implement ``loop.sendfile``, so the bytes
are sent with ``os.sendfile`` on the loop, between the transport's own writes: only when the
transport's buffer is empty, waiting for writability on a duplicate descriptor (the transport
owns the original) otherwise.
"""

from __future__ import annotations

import asyncio
import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from forno.server.h1_channel import H1Channel


def start_sendfile(
    connection: H1Channel, file: Any, offset: int, count: int
) -> asyncio.Task[int] | None:
    """A task sending ``count`` bytes of ``file`` from ``offset``; None where it cannot be used
    (no socket, TLS, no ``os.sendfile``), so the caller sends the bytes itself."""
    transport = connection.transport
    if (
        transport is None
        or not hasattr(os, "sendfile")
        or transport.get_extra_info("sslcontext") is not None
    ):
        return None
    sock = transport.get_extra_info("socket")
    try:
        sock_fd = sock.fileno()
        file_fd = file.fileno()
    except (AttributeError, OSError, ValueError):
        return None
    if sock_fd < 0:
        return None
    if connection.response_remaining is not None:
        count = min(count, connection.response_remaining)
    return connection.state.loop.create_task(
        _sendfile(connection, transport, sock_fd, file_fd, offset, count)
    )


async def _sendfile(
    connection: H1Channel,
    transport: asyncio.Transport,
    sock_fd: int,
    file_fd: int,
    offset: int,
    count: int,
) -> int:
    """Copy file bytes into the socket; a closed connection wakes it through ``drain_waiter``."""
    loop = connection.state.loop
    watch = os.dup(sock_fd)
    sent = 0
    try:
        while sent < count:
            if connection.transport is not transport:
                raise ConnectionResetError("connection closed during sendfile")
            if not transport.get_write_buffer_size():
                try:
                    n = os.sendfile(sock_fd, file_fd, offset + sent, count - sent)
                except (BlockingIOError, InterruptedError):
                    n = -1
                if n == 0:
                    break  # the file is shorter than promised: write_body reports it
                if n > 0:
                    sent += n
                    connection.response_bytes += n
                    if connection.response_remaining is not None:
                        connection.response_remaining -= n
                    continue
            waiter: asyncio.Future[None] = loop.create_future()
            connection.drain_waiter = waiter
            loop.add_writer(watch, _wake, waiter)
            try:
                await waiter
            finally:
                loop.remove_writer(watch)
                if connection.drain_waiter is waiter:
                    connection.drain_waiter = None
    finally:
        os.close(watch)
    return sent


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)
