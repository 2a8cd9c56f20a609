from __future__ import annotations

import pytest

from forno.config import Interface
from forno.errors import AppLoadError
from forno.loader import detect_interface, load_app
from forno.server.access import escape
from forno.typing import Receive, Scope, Send


async def asgi3(scope: Scope, receive: Receive, send: Send) -> None:
    return None


def wsgi(environ: dict[str, object], start_response: object) -> list[bytes]:
    return []


class ASGI3Class:
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        return None


class ASGI2Class:
    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    async def __call__(self, receive: Receive, send: Send) -> None:
        return None


class WSGIClass:
    def __call__(self, environ: dict[str, object], start_response: object) -> list[bytes]:
        return []


@pytest.mark.parametrize(
    ("app", "interface"),
    [
        (asgi3, Interface.ASGI3),
        (ASGI3Class(), Interface.ASGI3),
        (ASGI2Class, Interface.ASGI2),
        (wsgi, Interface.WSGI),
        (WSGIClass(), Interface.WSGI),
    ],
)
def test_detect_interface(app: object, interface: Interface) -> None:
    assert detect_interface(app) is interface


def test_detect_rejects_other_callables() -> None:
    with pytest.raises(AppLoadError):
        detect_interface(lambda: None)


def test_load_demo_and_errors() -> None:
    loaded = load_app(None)
    assert loaded.interface is Interface.ASGI3
    with pytest.raises(AppLoadError, match="could not import module"):
        load_app("forno_no_such_module:app")
    with pytest.raises(AppLoadError, match="not found"):
        load_app("forno.demo:nothing")
    forced = load_app("forno.demo:app", interface=Interface.WSGI)
    assert forced.interface is Interface.WSGI


def test_escape_controls_quotes_and_c1() -> None:
    assert escape(b"a\x1b[31mb") == "a\\x1b[31mb"
    assert escape('q"\\') == 'q\\"\\\\'
    assert escape(b"\x9b\x7f\n") == "\\x9b\\x7f\\x0a"
    assert escape("plain/path?x=1") == "plain/path?x=1"
