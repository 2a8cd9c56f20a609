"""The programmatic entry points: ``forno.run`` (blocking) and ``forno.serve`` (embedded)."""

from __future__ import annotations

import socket
from collections.abc import Awaitable
from typing import Any

from forno.config import Config, build_config
from forno.errors import ConfigError
from forno.loader import LoadedApp, detect_interface, load_app
from forno.logging import configure_logging
from forno.server.server import Server
from forno.server.worker import run_server


def make_config(config: Config | None, settings: dict[str, Any]) -> Config:
    if config is not None:
        return config.replace(**settings) if settings else config
    return build_config(settings)


def resolve_app(app: Any, config: Config) -> LoadedApp:
    """An import string (or None for the demo) is imported; an object is used as it is."""
    a = config.app
    if app is None or isinstance(app, str):
        return load_app(app or a.app, factory=a.factory, app_dir=a.app_dir, interface=a.interface)
    if a.factory:
        app = app()
    interface = a.interface if a.interface.value != "auto" else detect_interface(app)
    return LoadedApp(app, interface, getattr(app, "__qualname__", repr(app)))


def run(app: Any = None, *, config: Config | None = None, **settings: Any) -> None:
    """Serve ``app`` (an app object or ``"module:attr"``) until SIGINT/SIGTERM.

    ``settings`` are setting names from the settings reference (``port=8080, workers=2``).
    """
    if isinstance(app, str):
        settings.setdefault("app", app)
    cfg = make_config(config, settings)
    configure_logging(cfg.log)
    if cfg.workers.workers > 1 or cfg.workers.reload:
        from forno.supervisor import run_supervisor  # noqa: PLC0415

        if not isinstance(app, str | None):
            raise ConfigError("workers: more than one worker (or reload) needs an import string")
        raise SystemExit(run_supervisor(cfg))
    loaded = resolve_app(app, cfg)
    run_server(cfg, loaded)


async def serve(
    app: Any,
    config: Config | None = None,
    *,
    shutdown_trigger: Awaitable[Any] | None = None,
    sockets: list[socket.socket] | None = None,
    **settings: Any,
) -> None:
    """Serve ``app`` on the running event loop until ``shutdown_trigger`` completes.

    Signals are left to the caller. Logging is not configured: the host program owns it.
    One process, one server: worker processes and reload need ``forno.run`` or the command line.
    """
    cfg = make_config(config, settings)
    if cfg.workers.workers > 1 or cfg.workers.reload:
        # Forking from inside someone else's running event loop would copy that loop and every
        # task of the host program into each worker; refuse instead of silently serving one.
        raise ConfigError(
            "workers: forno.serve() runs one server on the caller's event loop; "
            "use forno.run() or the forno command for more than one worker or reload"
        )
    loaded = resolve_app(app, cfg)
    server = Server(cfg, loaded, sockets=sockets)
    await server.serve(shutdown_trigger)
