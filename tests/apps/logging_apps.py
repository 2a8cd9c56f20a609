"""Apps for the log tests: one that warns, one that fails, one that answers."""

from __future__ import annotations

import warnings
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class AppWarning(UserWarning):
    """Raised by /warn, so the test can find its own warning in the log."""


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return
    if scope["path"] == "/boom":
        raise RuntimeError("logging app failed on purpose")
    if scope["path"] == "/warn":
        warnings.warn("the logging app warns on purpose", AppWarning, stacklevel=1)
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})
