"""ASGI scopes built from a parsed request head."""

from __future__ import annotations

from typing import Any

from forno.http.channel import RequestHead
from forno.http.request import decode_path
from forno.typing import Scope

ASGI_VERSION = {"version": "3.0", "spec_version": "2.4"}


def scope_paths(head: RequestHead) -> tuple[str, bytes]:
    """ASGI ``path`` and ``raw_path``: the proxy in front strips the mount point (root_path),
    and ASGI's paths include it again."""
    path = decode_path(head.raw_path)
    root_path = head.root_path
    if root_path:
        return root_path + path, root_path.encode("utf-8") + head.raw_path
    return path, head.raw_path


def http_scope(head: RequestHead, state: dict[str, Any] | None) -> Scope:
    path, raw_path = scope_paths(head)
    scope: Scope = {
        "type": "http",
        "asgi": ASGI_VERSION,
        "http_version": head.http_version,
        "method": head.method,
        "scheme": head.scheme,
        "path": path,
        "raw_path": raw_path,
        "query_string": head.query,
        "root_path": head.root_path,
        "headers": head.headers,
        "client": head.client,
        "server": head.server,
    }
    if state is not None:
        scope["state"] = state.copy()
    return scope
