"""forno's exception types. Imports nothing of forno's, so every layer may use it."""

from __future__ import annotations


class FornoError(Exception):
    """Base class of every error forno raises on purpose."""


class ConfigError(FornoError):
    """A setting has a bad value, an unknown name, or a file could not be read."""


class AppLoadError(FornoError):
    """The application import string did not resolve to a usable app."""


class LifespanStartupError(FornoError):
    """The app's lifespan startup failed; the server must not serve."""


class ProtocolError(FornoError):
    """The peer broke the protocol. ``status`` is the HTTP answer it deserves (0: just close)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class ASGIProtocolError(FornoError, RuntimeError):
    """The app misused the ASGI interface (messages out of order, bad types)."""


class ClientDisconnected(OSError):
    """Raised by ``send`` when the client has gone away, as the ASGI spec asks."""
