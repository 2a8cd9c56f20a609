"""X-Forwarded-For / X-Forwarded-Proto from trusted proxies (``proxy_headers``)."""

from __future__ import annotations

from collections.abc import Iterable

_SCHEMES = {b"http": "http", b"https": "https", b"ws": "http", b"wss": "https"}


class TrustedProxies:
    """The peers whose forwarding headers are believed; ``*`` trusts every peer."""

    def __init__(self, addresses: Iterable[str]) -> None:
        hosts = {address.strip() for address in addresses if address.strip()}
        self.everyone = "*" in hosts
        self.hosts = frozenset(hosts - {"*"})

    def __contains__(self, host: str | None) -> bool:
        # A Unix-socket peer has no address: only a local proxy can reach it.
        return self.everyone or host is None or host in self.hosts


def forwarded(
    headers: list[tuple[bytes, bytes]],
    client: tuple[str, int] | None,
    scheme: str,
    trusted: TrustedProxies,
) -> tuple[tuple[str, int] | None, str]:
    """The real client and scheme, as told by a trusted proxy.

    X-Forwarded-For is read from the right: each proxy appends the address it saw, so the
    rightmost address that is not itself a trusted proxy is the client. Anything to its left
    was written by the client and is not believed.
    """
    forwarded_for: list[bytes] = []
    proto: bytes | None = None
    for name, value in headers:
        if name == b"x-forwarded-for":
            forwarded_for.extend(part.strip() for part in value.split(b","))
        elif name == b"x-forwarded-proto":
            proto = value.split(b",")[-1].strip().lower()
    if proto is not None and proto in _SCHEMES:
        scheme = _SCHEMES[proto]
    for entry in reversed(forwarded_for):
        host = entry.decode("latin-1")
        if not host:
            break
        client = (host, 0)
        if host not in trusted:
            break
    return client, scheme
