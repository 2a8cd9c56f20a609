"""Types of the ASGI and WSGI interfaces, shared by every layer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from types import TracebackType
from typing import Any, Protocol, TypeAlias

Scope: TypeAlias = MutableMapping[str, Any]
Message: TypeAlias = MutableMapping[str, Any]
Receive: TypeAlias = Callable[[], Awaitable[Message]]
Send: TypeAlias = Callable[[Message], Awaitable[None]]
ASGIApp: TypeAlias = Callable[[Scope, Receive, Send], Awaitable[None]]
ASGI2App: TypeAlias = Callable[[Scope], Callable[[Receive, Send], Awaitable[None]]]

Headers: TypeAlias = list[tuple[bytes, bytes]]

ExcInfo: TypeAlias = tuple[type[BaseException], BaseException, TracebackType | None]
Environ: TypeAlias = dict[str, Any]


class StartResponse(Protocol):
    def __call__(
        self,
        status: str,
        headers: list[tuple[str, str]],
        exc_info: ExcInfo | None = ...,
        /,
    ) -> Callable[[bytes], object]: ...


WSGIApp: TypeAlias = Callable[[Environ, StartResponse], Iterable[bytes]]
