from __future__ import annotations

from pathlib import Path

import pytest

from forno.config import (
    SETTINGS,
    Config,
    Interface,
    build_config,
    flatten,
    load_config,
    read_toml,
    settings_reference,
)
from forno.errors import ConfigError


def test_defaults_are_valid_and_frozen() -> None:
    config = load_config({}, environ={})
    assert config == Config()
    with pytest.raises(AttributeError):
        config.bind.port = 1  # type: ignore[misc]


def test_precedence_defaults_file_env_flags(tmp_path: Path) -> None:
    path = tmp_path / "forno.toml"
    path.write_text(
        "port = 7000\nthreads = 3\nroot_path = '/file'\n[http]\nkeep_alive_timeout = 9\n"
    )
    env = {"FORNO_PORT": "7100", "FORNO_ROOT_PATH": "/env"}
    config = load_config({"port": "7200"}, environ=env, config_file=path)
    assert config.bind.port == 7200  # flag
    assert config.app.root_path == "/env"  # env over file
    assert config.wsgi.threads == 3  # file over default
    assert config.http.keep_alive_timeout == 9.0  # table form
    assert config.http.header_timeout == 15.0  # default


def test_config_file_from_env(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("workers = 3\n")
    assert load_config({}, environ={"FORNO_CONFIG": str(path)}).workers.workers == 3


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"port": 70000}, "port: must be between 0 and 65535"),
        ({"port": "x"}, "port: expected an integer"),
        ({"portt": 1}, "portt: unknown setting"),
        ({"access_log": "maybe"}, "access_log: expected true or false"),
        ({"interface": "cgi"}, "interface: expected one of auto, asgi3, asgi2, wsgi"),
        ({"threads": 0}, "threads: must be between 1 and 1024"),
        ({"keep_alive_timeout": "-1"}, "keep_alive_timeout: must be a positive number"),
        ({"ssl_keyfile": "k.pem"}, "ssl_keyfile: needs ssl_certfile"),
        ({"ssl_cert_reqs": "required", "ssl_certfile": "c.pem"}, "ssl_cert_reqs: client"),
        ({"port": True}, "port: expected an integer"),
        ({"blocking_threshold": "0.001"}, "blocking_threshold: must be 0 .off. or at least"),
        ({"blocking_threshold": -1}, "blocking_threshold: must be 0 .off. or at least"),
        ({"wsgi_slow_request_threshold": -1}, "wsgi_slow_request_threshold: must be 0 .off."),
    ],
)
def test_bad_values_name_the_setting(values: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build_config(values)


def test_unknown_env_and_file_keys(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="FORNO_PROT: unknown setting"):
        load_config({}, environ={"FORNO_PROT": "1"})
    path = tmp_path / "bad.toml"
    path.write_text("[http]\nport = 1\n")
    with pytest.raises(ConfigError, match=r"http\.port: unknown setting"):
        read_toml(path)
    path.write_text("not toml = = =")
    with pytest.raises(ConfigError, match="not valid TOML"):
        read_toml(path)
    with pytest.raises(ConfigError, match="cannot read"):
        read_toml(tmp_path / "missing.toml")


def test_list_settings_from_strings_and_lists() -> None:
    config = build_config({"bind": "127.0.0.1:1, unix:/tmp/x", "fd": [3, "4"]})
    assert config.bind.bind == ("127.0.0.1:1", "unix:/tmp/x")
    assert config.bind.fd == (3, 4)


def test_replace_and_flatten_round_trip() -> None:
    config = build_config({"port": 1234})
    assert build_config(flatten(config)) == config
    changed = config.replace(interface="wsgi")
    assert changed.app.interface is Interface.WSGI
    assert config.app.interface is Interface.AUTO


def test_every_setting_documented_with_flag_and_env() -> None:
    reference = settings_reference()
    for name, info in SETTINGS.items():
        assert info.help
        assert f"`{name}`" in reference
        assert info.env == "FORNO_" + name.upper()
        assert info.flag.startswith("--") or name == "app"


def test_docs_settings_reference_is_current() -> None:
    docs = Path(__file__).resolve().parents[2] / "docs" / "settings.md"
    assert docs.read_text() == settings_reference(), "run: python -m forno.docs > docs/settings.md"
