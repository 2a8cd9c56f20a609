"""forno's exception types. Imports nothing of forno's, so every layer may use it."""

from __future__ import annotations

# Exit codes of the forno command and its supervisor. Distinct codes for "the app cannot be
# imported" and "the app cannot start" let the supervisor stop instead of respawning forever.
EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CONFIG = 2  # a setting is invalid
EXIT_APP_LOAD = 3  # the app could not be imported: respawning cannot help
EXIT_BOOT = 4  # the worker could not start serving (lifespan startup failed, bind failed)
BOOT_EXIT_CODES = (EXIT_APP_LOAD, EXIT_BOOT)


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
