"""Listening sockets: TCP (IPv4/IPv6), Unix domain sockets, inherited file descriptors."""

from __future__ import annotations

import contextlib
import os
import socket
import stat
from dataclasses import dataclass
from pathlib import Path

from forno.config import Config
from forno.errors import ConfigError

SD_LISTEN_FDS_START = 3


@dataclass(frozen=True, slots=True)
class Address:
    kind: str  # "tcp", "unix" or "fd"
    host: str = ""
    port: int = 0
    path: str = ""
    fd: int = -1

    def __str__(self) -> str:
        if self.kind == "unix":
            return f"unix:{self.path}"
        if self.kind == "fd":
            return f"fd://{self.fd}"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def parse_address(text: str) -> Address:
    """``HOST:PORT``, ``[IPv6]:PORT``, ``unix:/path`` or ``fd://N``."""
    text = text.strip()
    if text.startswith("unix:"):
        path = text[len("unix:") :]
        if not path:
            raise ConfigError(f"bind: empty Unix socket path in {text!r}")
        return Address("unix", path=path)
    if text.startswith("fd://"):
        try:
            return Address("fd", fd=int(text[len("fd://") :]))
        except ValueError:
            raise ConfigError(f"bind: bad file descriptor in {text!r}") from None
    if text.startswith("["):
        host, sep, port = text[1:].partition("]:")
        if not sep:
            raise ConfigError(f"bind: expected [IPv6]:PORT, got {text!r}")
    else:
        host, sep, port = text.rpartition(":")
        if not sep:
            raise ConfigError(f"bind: expected HOST:PORT, got {text!r}")
    try:
        port_number = int(port)
    except ValueError:
        raise ConfigError(f"bind: bad port in {text!r}") from None
    if not 0 <= port_number <= 65535:
        raise ConfigError(f"bind: port out of range in {text!r}")
    return Address("tcp", host=host or "0.0.0.0", port=port_number)


def configured_addresses(config: Config) -> list[Address]:
    b = config.bind
    addresses = [parse_address(text) for text in b.bind]
    addresses += [Address("fd", fd=fd) for fd in b.fd]
    if not addresses:
        addresses.append(Address("tcp", host=b.host, port=b.port))
    return addresses


def systemd_sockets() -> list[socket.socket]:
    """Sockets passed by systemd socket activation (LISTEN_FDS/LISTEN_PID), taken once."""
    if os.environ.get("LISTEN_PID") != str(os.getpid()):
        return []
    try:
        count = int(os.environ.get("LISTEN_FDS", "0"))
    except ValueError:
        return []
    for name in ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"):
        os.environ.pop(name, None)
    return [socket.socket(fileno=SD_LISTEN_FDS_START + i) for i in range(count)]


def bind_address(address: Address, config: Config, *, reuse_port: bool = False) -> socket.socket:
    b = config.bind
    if address.kind == "fd":
        sock = socket.socket(fileno=address.fd)
        if sock.type != socket.SOCK_STREAM:
            raise ConfigError(f"fd: descriptor {address.fd} is not a stream socket")
        with contextlib.suppress(OSError):
            sock.listen(b.backlog)
        return sock
    if address.kind == "unix":
        path = Path(address.path)
        with contextlib.suppress(FileNotFoundError):
            if stat.S_ISSOCK(path.stat().st_mode):
                path.unlink()  # a stale socket from an earlier run
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.bind(str(path))
            if b.uds_mode is not None:
                os.chmod(path, b.uds_mode)
            sock.listen(b.backlog)
        except OSError as exc:
            sock.close()
            raise ConfigError(f"bind: cannot listen on {address}: {exc.strerror or exc}") from exc
        return sock
    infos = socket.getaddrinfo(
        address.host, address.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )
    family, socktype, proto, _, sockaddr = infos[0]
    sock = socket.socket(family, socktype, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(sockaddr)
        sock.listen(b.backlog)
    except OSError as exc:
        sock.close()
        raise ConfigError(f"bind: cannot listen on {address}: {exc.strerror or exc}") from exc
    return sock


def open_listeners(config: Config) -> list[socket.socket]:
    """Every configured socket, bound and listening (systemd's, if it passed any, instead)."""
    inherited = systemd_sockets()
    if inherited:
        return inherited
    sockets: list[socket.socket] = []
    try:
        for address in configured_addresses(config):
            sockets.append(bind_address(address, config, reuse_port=config.bind.reuse_port))
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    for sock in sockets:
        sock.setblocking(False)
    return sockets


def describe_socket(sock: socket.socket, scheme: str) -> str:
    name = sock.getsockname()
    if sock.family == socket.AF_UNIX:
        return f"unix:{name}"
    host, port = name[0], name[1]
    if sock.family == socket.AF_INET6:
        host = f"[{host}]"
    return f"{scheme}://{host}:{port}"
