"""The supervisor's listening sockets: bound once before any worker starts.

Shared mode (the default): the supervisor binds every address and each forked worker inherits
the same listening sockets; the kernel hands each new connection to one of the workers blocked
in ``accept``/``epoll`` on it. Reuse-port mode (``--reuse-port``, Linux): every worker binds its
own ``SO_REUSEPORT`` socket for each TCP address and the kernel spreads connections by a hash of
the 4-tuple. The supervisor then keeps one bound but *not listening* ``SO_REUSEPORT`` socket per
address: it holds the port (so ``port 0`` resolves to one port for every worker) and receives no
connections. Unix sockets, ``--fd`` and systemd sockets are always shared.
"""

from __future__ import annotations

import contextlib
import os
import socket
from dataclasses import dataclass, field

from forno.config import Config
from forno.errors import ConfigError
from forno.server.listeners import (
    Address,
    bind_address,
    configured_addresses,
    open_listeners,
    systemd_sockets,
)


@dataclass
class Listeners:
    shared: list[socket.socket] = field(default_factory=list)
    per_worker: list[Address] = field(default_factory=list)
    placeholders: list[socket.socket] = field(default_factory=list)
    unix_paths: list[str] = field(default_factory=list)

    def for_worker(self, config: Config) -> list[socket.socket]:
        """In a worker: the inherited shared sockets plus its own reuse-port ones."""
        own = [bind_address(address, config, reuse_port=True) for address in self.per_worker]
        for sock in own:
            sock.setblocking(False)
        for sock in self.placeholders:
            sock.close()
        return [*self.shared, *own]

    def release(self) -> None:
        """Close this process's descriptors, leaving Unix socket files alone (children)."""
        for sock in (*self.shared, *self.placeholders):
            sock.close()

    def close(self) -> None:
        self.release()
        for path in self.unix_paths:
            with contextlib.suppress(OSError):
                os.unlink(path)

    def describe(self) -> str:
        names = [_name(sock) for sock in self.shared]
        names += [f"{a} (reuse-port, one socket per worker)" for a in self.per_worker]
        return ", ".join(names)


def _name(sock: socket.socket) -> str:
    address = sock.getsockname()
    if sock.family == socket.AF_UNIX:
        return f"unix:{address}"
    if sock.family == socket.AF_INET6:
        return f"[{address[0]}]:{address[1]}"
    return f"{address[0]}:{address[1]}"


def _unix_paths(config: Config) -> list[str]:
    """Unix socket files the supervisor creates (configured, not inherited), removed at exit."""
    return [a.path for a in configured_addresses(config) if a.kind == "unix"]


def _placeholder(address: Address) -> tuple[socket.socket, Address]:
    infos = socket.getaddrinfo(
        address.host, address.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )
    family, socktype, proto, _, sockaddr = infos[0]
    sock = socket.socket(family, socktype, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(sockaddr)
    except OSError as exc:
        sock.close()
        raise ConfigError(f"bind: cannot bind {address}: {exc.strerror or exc}") from exc
    port = sock.getsockname()[1]
    return sock, Address("tcp", host=address.host, port=port)


def prepare_listeners(config: Config) -> Listeners:
    """Bind what the workers will serve. Must run before the first worker is forked."""
    inherited = systemd_sockets()
    if inherited:
        for sock in inherited:
            sock.setblocking(False)
        return Listeners(shared=inherited)
    if not config.bind.reuse_port or not hasattr(socket, "SO_REUSEPORT"):
        return Listeners(shared=open_listeners(config), unix_paths=_unix_paths(config))
    listeners = Listeners()
    try:
        for address in configured_addresses(config):
            if address.kind == "tcp":
                placeholder, resolved = _placeholder(address)
                listeners.placeholders.append(placeholder)
                listeners.per_worker.append(resolved)
            else:
                sock = bind_address(address, config)
                sock.setblocking(False)
                listeners.shared.append(sock)
    except BaseException:
        listeners.close()
        raise
    listeners.unix_paths = _unix_paths(config)
    return listeners
