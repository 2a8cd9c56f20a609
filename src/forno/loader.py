"""Import the app from ``module:attribute`` and find out which interface it speaks."""

from __future__ import annotations

import importlib
import inspect
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from forno.config import Interface
from forno.errors import AppLoadError
from forno.typing import ASGI2App, ASGIApp, Message, Receive, Scope, Send

DEMO_APP = "forno.demo:app"


@dataclass(frozen=True, slots=True)
class LoadedApp:
    app: Any
    interface: Interface
    import_string: str

    @property
    def asgi(self) -> ASGIApp:
        """The app as an ASGI 3 callable (ASGI 2 apps wrapped)."""
        if self.interface is Interface.ASGI2:
            return asgi2_to_3(self.app)
        return self.app  # type: ignore[no-any-return]


def import_from_string(import_string: str, app_dir: Path | None = None) -> Any:
    module_name, sep, attrs = import_string.partition(":")
    if not sep or not module_name or not attrs:
        raise AppLoadError(
            f"import string {import_string!r} must be in the form 'module:attribute'"
        )
    if app_dir is not None:
        directory = str(Path(app_dir).resolve())
        if directory not in sys.path:
            sys.path.insert(0, directory)
    elif "" not in sys.path and str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and (module_name == exc.name or module_name.startswith(exc.name + ".")):
            raise AppLoadError(f"could not import module {module_name!r}") from exc
        raise AppLoadError(f"importing {module_name!r} failed: {exc!r}") from exc
    except Exception as exc:
        raise AppLoadError(f"importing {module_name!r} failed: {exc!r}") from exc
    obj: Any = module
    for attr in attrs.split("."):
        try:
            obj = getattr(obj, attr)
        except AttributeError:
            raise AppLoadError(f"attribute {attrs!r} not found in module {module_name!r}") from None
    return obj


def _accepts_positional(func: Callable[..., Any], count: int) -> bool:
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):
        return False
    try:
        signature.bind(*([None] * count))
    except TypeError:
        return False
    return True


def detect_interface(app: Any) -> Interface:
    """ASGI 3 (``async (scope, receive, send)``), ASGI 2 (``(scope) -> async (receive, send)``)
    or WSGI (``(environ, start_response)``)."""
    if inspect.isclass(app):
        # A class is ASGI 2 when instantiating it with the scope gives the per-request app.
        call = getattr(app, "__call__", None)  # noqa: B004
        if call is not None and inspect.iscoroutinefunction(call):
            return Interface.ASGI2
    target = app
    call = getattr(app, "__call__", None)  # noqa: B004
    if not inspect.isfunction(app) and not inspect.ismethod(app) and call is not None:
        target = call
    if inspect.iscoroutinefunction(target) or inspect.iscoroutinefunction(app):
        return Interface.ASGI3
    if _accepts_positional(target, 3):
        return Interface.ASGI3
    if _accepts_positional(target, 2):
        return Interface.WSGI
    if _accepts_positional(target, 1):
        return Interface.ASGI2
    raise AppLoadError(f"{app!r} is neither an ASGI nor a WSGI application")


def load_app(
    import_string: str | None,
    *,
    factory: bool = False,
    app_dir: Path | None = None,
    interface: Interface = Interface.AUTO,
) -> LoadedApp:
    name = import_string or DEMO_APP
    obj = import_from_string(name, app_dir)
    if factory:
        if not callable(obj):
            raise AppLoadError(f"factory {name!r} is not callable")
        try:
            obj = obj()
        except Exception as exc:
            raise AppLoadError(f"app factory {name!r} raised {exc!r}") from exc
    if not callable(obj):
        raise AppLoadError(f"{name!r} is not callable (got {type(obj).__name__})")
    detected = detect_interface(obj) if interface is Interface.AUTO else interface
    return LoadedApp(obj, detected, name)


def asgi2_to_3(app: ASGI2App) -> ASGIApp:
    async def asgi3(scope: Scope, receive: Receive, send: Send) -> None:
        instance = app(scope)
        await instance(receive, send)

    return asgi3


__all__ = ["DEMO_APP", "LoadedApp", "Message", "detect_interface", "load_app"]
