"""The public face of the package: what ``import forno`` offers, and what it costs to import."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import forno
import forno.errors
from forno.errors import ConfigError


def test_all_is_pinned() -> None:
    # Adding or removing a public name is an API change: update this list on purpose.
    assert forno.__all__ == ["Config", "__version__", "load_config", "run", "serve"]
    for name in forno.__all__:
        assert getattr(forno, name) is not None
    assert set(forno.__all__) <= set(dir(forno))


def test_lazy_names_are_the_api_functions() -> None:
    import forno.api

    assert forno.run is forno.api.run
    assert forno.serve is forno.api.serve
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        forno.nope  # noqa: B018


def test_exported_error_types() -> None:
    public = {
        name: value
        for name, value in vars(forno.errors).items()
        if isinstance(value, type) and issubclass(value, BaseException)
    }
    assert set(public) == {
        "FornoError",
        "ConfigError",
        "AppLoadError",
        "LifespanStartupError",
        "ProtocolError",
        "ASGIProtocolError",
        "ClientDisconnected",
    }
    base = forno.errors.FornoError
    for name in ("ConfigError", "AppLoadError", "LifespanStartupError", "ProtocolError"):
        assert public[name].__mro__[1] is base
    assert issubclass(forno.errors.ASGIProtocolError, base)
    assert issubclass(forno.errors.ASGIProtocolError, RuntimeError)
    # The ASGI spec asks send() to raise an OSError subclass when the client is gone.
    assert issubclass(forno.errors.ClientDisconnected, OSError)
    assert not issubclass(forno.errors.ClientDisconnected, base)
    assert forno.errors.ProtocolError("x").status == 400


def assert_runs_in_a_fresh_process(code: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 0, result.stderr


def test_import_config_does_not_import_the_server() -> None:
    code = (
        "import forno.config, sys; "
        "loaded = [m for m in ('httptools', 'uvloop', 'forno.server', 'forno.api', 'asyncio') "
        "if m in sys.modules]; "
        "assert not loaded, loaded"
    )
    assert_runs_in_a_fresh_process(code)


def test_import_forno_then_run_and_serve_resolve_in_a_fresh_process() -> None:
    code = (
        "import sys, forno; assert 'forno.server' not in sys.modules; "
        "from forno import run, serve; import forno.api; "
        "assert run is forno.api.run and serve is forno.api.serve"
    )
    assert_runs_in_a_fresh_process(code)


@pytest.mark.parametrize("settings", [{"workers": 2}, {"reload": True}])
def test_serve_refuses_more_than_one_worker(settings: dict[str, object]) -> None:
    async def app(scope: object, receive: object, send: object) -> None:
        raise AssertionError("never called")

    async def main() -> None:
        await forno.serve(app, **settings)

    with pytest.raises(ConfigError, match=r"^workers: forno\.serve\(\) runs one server"):
        asyncio.run(main())


def test_version_is_written_once() -> None:
    # pyproject.toml reads the version from forno.__version__; it must not repeat it.
    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    assert "version" not in pyproject["project"]
    assert "version" in pyproject["project"]["dynamic"]
    assert pyproject["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "forno.__version__"}
