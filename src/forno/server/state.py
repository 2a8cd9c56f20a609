"""State shared by every connection of one worker: limits, clock, counters, the open connections."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from forno.config import Config
from forno.http.dates import date_header_line
from forno.http.proxy import TrustedProxies

if TYPE_CHECKING:
    from forno.http.channel import CycleFactory, RequestCycle


class Connection(Protocol):
    """What the server needs of any connection protocol to run timeouts and shutdown."""

    def check_deadline(self, now: float) -> None: ...

    def shutdown(self) -> None: ...

    def force_close(self) -> None: ...

    @property
    def busy(self) -> bool: ...


@dataclass(slots=True)
class Limits:
    """Config values read on the hot path, copied into plain attributes once."""

    max_header_size: int
    max_header_count: int
    max_body_size: int
    header_timeout: float
    keep_alive_timeout: float
    max_requests_per_connection: int
    max_connections: int
    max_in_flight: int
    body_buffer_size: int
    write_buffer_size: int

    @classmethod
    def from_config(cls, config: Config) -> Limits:
        h = config.http
        return cls(
            max_header_size=h.max_header_size,
            max_header_count=h.max_header_count,
            max_body_size=h.max_body_size,
            header_timeout=h.header_timeout,
            keep_alive_timeout=h.keep_alive_timeout,
            max_requests_per_connection=h.max_requests_per_connection,
            max_connections=h.max_connections,
            max_in_flight=h.max_in_flight,
            body_buffer_size=h.body_buffer_size,
            write_buffer_size=h.write_buffer_size,
        )


# A hook that takes over a connection for an upgrade (WebSocket): returns True if it did.
UpgradeHandler = Callable[..., bool]


@dataclass(slots=True)
class ServerState:
    config: Config
    limits: Limits
    cycle_factory: CycleFactory
    loop: asyncio.AbstractEventLoop
    connections: set[Connection] = field(default_factory=set)
    active_cycles: set[RequestCycle] = field(default_factory=set)
    in_flight: int = 0
    shutting_down: bool = False
    # A coarse clock, refreshed by the ticker: per-request deadlines cost an attribute read.
    now: float = 0.0
    date_line: bytes | None = None
    server_line: bytes | None = None
    access_log: bool = True
    upgrade_handler: UpgradeHandler | None = None
    trusted_proxies: TrustedProxies | None = None
    server_addresses: dict[tuple[str, int | None], tuple[str, int | None]] = field(
        default_factory=dict
    )
    on_request_done: Callable[[], None] | None = None
    drained: asyncio.Event = field(default_factory=asyncio.Event)
    _date_second: int = -1

    def check_drained(self) -> None:
        """During shutdown, signal when no connection is open and no app is running."""
        if self.shutting_down and not self.connections and self.in_flight <= 0:
            self.drained.set()

    def tick(self) -> None:
        """Refresh the coarse clock and the cached Date header; check every deadline."""
        self.now = self.loop.time()
        wall = int(time.time())
        if wall != self._date_second and self.config.http.date_header:
            self._date_second = wall
            self.date_line = date_header_line(wall)
        for connection in list(self.connections):
            connection.check_deadline(self.now)
