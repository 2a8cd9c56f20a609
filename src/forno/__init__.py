"""forno: one fast, strict application server for WSGI and ASGI Python web apps."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from forno.config import Config, load_config

if TYPE_CHECKING:
    from forno.api import run, serve

__version__ = "0.1.0"
__all__ = ["Config", "__version__", "load_config", "run", "serve"]

# `run` and `serve` are imported on first use: `import forno.config` (the CLI, tools that only
# read settings, the supervisor before it forks) must not pay for the server, its event loop and
# the HTTP parser just because Python imports the package first.
_LAZY = frozenset({"run", "serve"})


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from forno import api  # noqa: PLC0415

        value = getattr(api, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _LAZY)
