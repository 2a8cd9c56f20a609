"""The single source of truth for forno's settings.

Every setting is a field of one of the small frozen dataclasses below, grouped into ``Config``.
The field's metadata (help text, choices, parser) generates the CLI flag, the ``FORNO_*``
environment variable, the TOML key and the settings reference in the docs. Precedence is
defaults < TOML file < environment < flags. Loading has no side effects beyond reading the file.

Setting names are unique across groups, so a TOML file may name them flat (``port = 8080``) or in
a table named after the group (``[bind] port = 8080``).
"""

from __future__ import annotations

import dataclasses
import enum
import os
import tomllib
import types
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from forno.errors import ConfigError

ENV_PREFIX = "FORNO_"
KiB = 1024
MiB = 1024 * KiB


class Interface(enum.StrEnum):
    AUTO = "auto"
    ASGI3 = "asgi3"
    ASGI2 = "asgi2"
    WSGI = "wsgi"


class LifespanMode(enum.StrEnum):
    AUTO = "auto"
    ON = "on"
    OFF = "off"


class LogLevel(enum.StrEnum):
    CRITICAL = "critical"
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"
    DEBUG = "debug"
    TRACE = "trace"


class LogFormat(enum.StrEnum):
    TEXT = "text"
    JSON = "json"


class ClientCertMode(enum.StrEnum):
    NONE = "none"
    OPTIONAL = "optional"
    REQUIRED = "required"


def setting(default: Any, help: str, *, flag: str | None = None, short: str | None = None) -> Any:
    """A config field with the metadata the CLI, env and docs generators read."""
    meta = {"help": help, "flag": flag, "short": short}
    if isinstance(default, list | dict | set):
        raise TypeError("mutable defaults are not allowed; use a tuple")
    return field(default=default, metadata=meta)


@dataclass(frozen=True, slots=True)
class AppSettings:
    """What to serve."""

    app: str | None = setting(
        None,
        "Import string `module:attribute` of the app; empty serves the built-in demo app.",
        flag="MODULE:APP",
    )
    factory: bool = setting(False, "Treat the app attribute as a factory that returns the app.")
    app_dir: Path | None = setting(None, "Directory put first on sys.path before importing.")
    interface: Interface = setting(Interface.AUTO, "App interface; auto detects it.")
    lifespan: LifespanMode = setting(
        LifespanMode.AUTO, "ASGI lifespan: auto runs it if the app supports it."
    )
    root_path: str = setting(
        "", "Mount path of the app behind a proxy (ASGI root_path, WSGI SCRIPT_NAME)."
    )


@dataclass(frozen=True, slots=True)
class BindSettings:
    """Where to listen."""

    host: str = setting("127.0.0.1", "Interface to bind (IPv4 or IPv6 address or name).")
    port: int = setting(8000, "TCP port to bind; 0 picks a free port.", short="-p")
    bind: tuple[str, ...] = setting(
        (), "Extra addresses, repeatable: HOST:PORT, [IPv6]:PORT or unix:/path. Replaces host/port."
    )
    fd: tuple[int, ...] = setting(
        (), "Serve an already bound socket by file descriptor; repeatable."
    )
    uds_mode: int | None = setting(None, "Permissions of created Unix sockets, octal (e.g. 0o660).")
    backlog: int = setting(2048, "Listen backlog of each socket.")
    reuse_port: bool = setting(False, "Give each worker its own SO_REUSEPORT socket (Linux).")


@dataclass(frozen=True, slots=True)
class TLSSettings:
    """HTTPS."""

    ssl_certfile: Path | None = setting(None, "PEM certificate chain; enables TLS.")
    ssl_keyfile: Path | None = setting(None, "PEM private key (may be in the certfile).")
    ssl_keyfile_password: str | None = setting(None, "Password of an encrypted key file.")
    ssl_ca_certs: Path | None = setting(None, "CA bundle used to verify client certificates.")
    ssl_cert_reqs: ClientCertMode = setting(ClientCertMode.NONE, "Client certificate requirement.")
    ssl_ciphers: str | None = setting(None, "OpenSSL cipher string (TLS 1.2 and below).")


@dataclass(frozen=True, slots=True)
class HTTPSettings:
    """HTTP behaviour and limits; every limit has a default that is safe on the open internet."""

    max_header_size: int = setting(
        32 * KiB, "Bytes allowed for the request line and headers together (431 beyond)."
    )
    max_header_count: int = setting(100, "Header fields allowed per request (431 beyond).")
    max_body_size: int = setting(
        64 * MiB, "Bytes allowed in one request body, also chunked (413 beyond); 0: no limit."
    )
    header_timeout: float = setting(
        15.0, "Seconds a client has to send a complete request head (408 beyond; slowloris)."
    )
    keep_alive_timeout: float = setting(5.0, "Seconds an idle keep-alive connection is kept.")
    max_requests_per_connection: int = setting(
        0, "Requests served on one connection before it is closed; 0: no limit."
    )
    max_connections: int = setting(
        10000, "Open connections per worker; beyond it new ones get a 503 and are closed."
    )
    max_in_flight: int = setting(
        10000,
        "Requests and WebSockets handled at once per worker (an app still running after its "
        "client left counts too); beyond it new ones get a 503.",
    )
    body_buffer_size: int = setting(
        256 * KiB, "Request body bytes buffered for the app before reading pauses."
    )
    write_buffer_size: int = setting(
        256 * KiB, "Response bytes buffered for a slow client before the app's send waits."
    )
    server_header: bool = setting(True, "Send a `Server: forno` header.")
    date_header: bool = setting(True, "Send a `Date` header.")
    graceful_timeout: float = setting(
        30.0, "Seconds in-flight requests get to finish on shutdown before they are cancelled."
    )
    proxy_headers: bool = setting(
        False, "Trust X-Forwarded-For/-Proto from forwarded_allow_ips for client and scheme."
    )
    forwarded_allow_ips: tuple[str, ...] = setting(
        ("127.0.0.1", "::1"), "Peers whose X-Forwarded-* headers are trusted; `*` trusts all."
    )


@dataclass(frozen=True, slots=True)
class WebSocketSettings:
    """WebSockets (ASGI apps)."""

    ws: bool = setting(True, "Accept WebSocket upgrades for ASGI apps.")
    ws_max_size: int = setting(16 * MiB, "Largest WebSocket message, after decompression (1009).")
    ws_max_queue: int = setting(32, "Received messages queued for the app before reading pauses.")
    ws_ping_interval: float = setting(20.0, "Seconds between keep-alive pings; 0 disables.")
    ws_ping_timeout: float = setting(20.0, "Seconds to wait for a pong before dropping the peer.")
    ws_per_message_deflate: bool = setting(True, "Negotiate permessage-deflate (RFC 7692).")


@dataclass(frozen=True, slots=True)
class WSGISettings:
    """WSGI apps."""

    threads: int = setting(
        8, "Threads that run the WSGI app per worker; bounds concurrent WSGI requests."
    )
    wsgi_slow_request_threshold: float = setting(
        0.0,
        "Log a WSGI request's thread stack once (forno.error, WARNING) when it runs longer than"
        " this many seconds. 0 (the default) disables it: long requests may be legitimate.",
    )


@dataclass(frozen=True, slots=True)
class WorkerSettings:
    """Processes."""

    workers: int = setting(
        1, "Worker processes; 1 serves in-process without a supervisor.", short="-w"
    )
    worker_timeout: float = setting(
        30.0, "Seconds without a heartbeat before a worker is killed and replaced."
    )
    max_requests: int = setting(0, "Requests a worker serves before it is recycled; 0: never.")
    max_requests_jitter: int = setting(0, "Random extra requests added to max_requests per worker.")
    max_worker_memory: int = setting(0, "RSS in MiB beyond which a worker is recycled; 0: never.")
    reload: bool = setting(False, "Restart workers when source files change (development).")
    reload_dirs: tuple[Path, ...] = setting((), "Directories watched by --reload; repeatable.")
    reload_include: tuple[str, ...] = setting(("*.py",), "Glob patterns that trigger a reload.")
    reload_exclude: tuple[str, ...] = setting(
        (".*", "*.pyc", "__pycache__", "*~"), "Glob patterns ignored by --reload."
    )
    pid: Path | None = setting(None, "Write the server's PID to this file.")


@dataclass(frozen=True, slots=True)
class LogSettings:
    """Logging."""

    log_level: LogLevel = setting(LogLevel.INFO, "Level of the forno.error logger.")
    log_format: LogFormat = setting(
        LogFormat.TEXT,
        "text: one human-readable line per record; json: one JSON object per line, for the"
        " error and access logs alike.",
    )
    access_log: bool = setting(True, "Log one line per request on forno.access.")
    log_config: Path | None = setting(
        None, "logging dictConfig file (.json, .yaml/.yml) or fileConfig (.ini)."
    )
    traceback: bool = setting(False, "Show full tracebacks for app load errors.")
    blocking_threshold: float = setting(
        0.1,
        "Warn (on forno.error, with the app's line) when the event loop does not turn for this"
        " many seconds, e.g. time.sleep in async def. At least 0.01; 0 disables the detector.",
    )


GROUPS: dict[str, type[Any]] = {
    "app": AppSettings,
    "bind": BindSettings,
    "tls": TLSSettings,
    "http": HTTPSettings,
    "websocket": WebSocketSettings,
    "wsgi": WSGISettings,
    "workers": WorkerSettings,
    "log": LogSettings,
}


@dataclass(frozen=True, slots=True)
class Config:
    """All of forno's settings."""

    app: AppSettings = field(default_factory=AppSettings)
    bind: BindSettings = field(default_factory=BindSettings)
    tls: TLSSettings = field(default_factory=TLSSettings)
    http: HTTPSettings = field(default_factory=HTTPSettings)
    websocket: WebSocketSettings = field(default_factory=WebSocketSettings)
    wsgi: WSGISettings = field(default_factory=WSGISettings)
    workers: WorkerSettings = field(default_factory=WorkerSettings)
    log: LogSettings = field(default_factory=LogSettings)

    def replace(self, **overrides: Any) -> Config:
        """A copy with settings changed by flat name, validated like any other source."""
        return build_config({**flatten(self), **overrides})


@dataclass(frozen=True, slots=True)
class SettingInfo:
    """One setting as the generators see it."""

    name: str
    group: str
    help: str
    default: Any
    kind: type[Any]
    optional: bool
    many: bool
    flag: str
    short: str | None

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.name.upper()

    def parse(self, raw: Any) -> Any:
        """Convert a value from a file, the environment or a flag; raise ConfigError."""
        return _parse_value(self, raw)


def _unwrap(annotation: Any) -> tuple[type[Any], bool, bool]:
    """(element type, optional, many) of a field annotation."""
    optional = False
    many = False
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        optional = True
        annotation = args[0]
        origin = typing.get_origin(annotation)
    if origin is tuple:
        many = True
        annotation = typing.get_args(annotation)[0]
    return annotation, optional, many


def _field_infos() -> Iterator[SettingInfo]:
    for group_name, group_cls in GROUPS.items():
        hints = typing.get_type_hints(group_cls)
        for f in dataclasses.fields(group_cls):
            kind, optional, many = _unwrap(hints[f.name])
            flag = f.metadata.get("flag") or "--" + f.name.replace("_", "-")
            yield SettingInfo(
                name=f.name,
                group=group_name,
                help=f.metadata["help"],
                default=f.default,
                kind=kind,
                optional=optional,
                many=many,
                flag=flag,
                short=f.metadata.get("short"),
            )


SETTINGS: dict[str, SettingInfo] = {info.name: info for info in _field_infos()}

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _parse_scalar(info: SettingInfo, raw: Any) -> Any:
    kind = info.kind
    if kind is bool:
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.strip().lower() in _TRUE | _FALSE:
            return raw.strip().lower() in _TRUE
        raise ConfigError(f"{info.name}: expected true or false, got {raw!r}")
    if kind is int:
        if isinstance(raw, bool):
            raise ConfigError(f"{info.name}: expected an integer, got {raw!r}")
        if isinstance(raw, int):
            return raw
        if isinstance(raw, str):
            try:
                return int(raw.strip(), 0)
            except ValueError:
                pass
        raise ConfigError(f"{info.name}: expected an integer, got {raw!r}")
    if kind is float:
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            return float(raw)
        if isinstance(raw, str):
            try:
                return float(raw.strip())
            except ValueError:
                pass
        raise ConfigError(f"{info.name}: expected a number, got {raw!r}")
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        choices = [m.value for m in kind]
        if isinstance(raw, str) and raw.strip().lower() in choices:
            return kind(raw.strip().lower())
        raise ConfigError(f"{info.name}: expected one of {', '.join(choices)}, got {raw!r}")
    if kind is Path:
        if isinstance(raw, str | os.PathLike):
            return Path(raw)
        raise ConfigError(f"{info.name}: expected a path, got {raw!r}")
    if kind is str:
        if isinstance(raw, str):
            return raw
        raise ConfigError(f"{info.name}: expected a string, got {raw!r}")
    raise ConfigError(f"{info.name}: unsupported setting type {kind!r}")  # pragma: no cover


def _parse_value(info: SettingInfo, raw: Any) -> Any:
    if raw is None or (info.optional and isinstance(raw, str) and raw == ""):
        if info.optional:
            return None
        raise ConfigError(f"{info.name}: a value is required")
    if info.many:
        if isinstance(raw, str):
            items: list[Any] = [part for part in raw.replace(",", " ").split() if part]
        elif isinstance(raw, list | tuple):
            items = list(raw)
        else:
            raise ConfigError(f"{info.name}: expected a list, got {raw!r}")
        return tuple(_parse_scalar(info, item) for item in items)
    return _parse_scalar(info, raw)


def _check(name: str, ok: bool, message: str) -> None:
    if not ok:
        raise ConfigError(f"{name}: {message}")


def _validate(config: Config) -> None:
    """Cross-field and range checks; each error names its setting."""
    b, h, w, ws, wk = config.bind, config.http, config.wsgi, config.websocket, config.workers
    _check("port", 0 <= b.port <= 65535, f"must be between 0 and 65535, got {b.port}")
    _check("backlog", b.backlog > 0, "must be positive")
    for fd in b.fd:
        _check("fd", fd >= 0, f"must be a file descriptor number, got {fd}")
    for address in b.bind:
        _check("bind", bool(address.strip()), "empty address")
    for name in ("max_header_size", "max_header_count", "max_connections", "max_in_flight"):
        _check(name, getattr(h, name) > 0, "must be positive")
    for name in ("body_buffer_size", "write_buffer_size"):
        _check(name, getattr(h, name) >= 1024, "must be at least 1024 bytes")
    for name in ("max_body_size", "max_requests_per_connection"):
        _check(name, getattr(h, name) >= 0, "must be 0 (no limit) or positive")
    for name in ("header_timeout", "keep_alive_timeout", "graceful_timeout"):
        _check(name, getattr(h, name) > 0, "must be a positive number of seconds")
    _check("threads", 1 <= w.threads <= 1024, f"must be between 1 and 1024, got {w.threads}")
    # Below 10 ms the heartbeat (two timer callbacks per threshold) would start to cost.
    _check(
        "blocking_threshold",
        config.log.blocking_threshold == 0 or config.log.blocking_threshold >= 0.01,
        "must be 0 (off) or at least 0.01 seconds",
    )
    _check(
        "wsgi_slow_request_threshold",
        w.wsgi_slow_request_threshold >= 0,
        "must be 0 (off) or a positive number of seconds",
    )
    _check("ws_max_size", ws.ws_max_size > 0, "must be positive")
    _check("ws_max_queue", ws.ws_max_queue > 0, "must be positive")
    _check("ws_ping_interval", ws.ws_ping_interval >= 0, "must be 0 (off) or positive")
    _check("ws_ping_timeout", ws.ws_ping_timeout > 0, "must be positive")
    _check("workers", 1 <= wk.workers <= 1024, f"must be between 1 and 1024, got {wk.workers}")
    _check("worker_timeout", wk.worker_timeout > 0, "must be positive")
    for name in ("max_requests", "max_requests_jitter", "max_worker_memory"):
        _check(name, getattr(wk, name) >= 0, "must be 0 (off) or positive")
    t = config.tls
    _check(
        "ssl_keyfile",
        t.ssl_keyfile is None or t.ssl_certfile is not None,
        "needs ssl_certfile as well",
    )
    _check(
        "ssl_cert_reqs",
        t.ssl_cert_reqs is ClientCertMode.NONE or t.ssl_ca_certs is not None,
        "client certificates need ssl_ca_certs",
    )
    _check(
        "uds_mode",
        b.uds_mode is None or 0 <= b.uds_mode <= 0o777,
        "must be an octal mode like 0o660",
    )


def build_config(values: Mapping[str, Any]) -> Config:
    """Build a validated Config from flat ``name -> value`` pairs (raw or parsed)."""
    per_group: dict[str, dict[str, Any]] = {name: {} for name in GROUPS}
    for name, raw in values.items():
        info = SETTINGS.get(name)
        if info is None:
            raise ConfigError(f"{name}: unknown setting")
        per_group[info.group][name] = info.parse(raw)
    config = Config(**{group: GROUPS[group](**kw) for group, kw in per_group.items()})
    _validate(config)
    return config


def flatten(config: Config) -> dict[str, Any]:
    """``name -> value`` for every setting of ``config``."""
    return {name: getattr(getattr(config, info.group), name) for name, info in SETTINGS.items()}


def read_toml(path: Path) -> dict[str, Any]:
    """Flat settings from a TOML file; tables named after groups are flattened."""
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except OSError as exc:
        raise ConfigError(f"config: cannot read {path}: {exc.strerror or exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config: {path} is not valid TOML: {exc}") from exc
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if key in GROUPS and isinstance(value, dict):
            for inner_key, inner_value in value.items():
                info = SETTINGS.get(inner_key)
                if info is None or info.group != key:
                    raise ConfigError(f"{key}.{inner_key}: unknown setting (in {path})")
                flat[inner_key] = inner_value
        elif key in SETTINGS:
            flat[key] = value
        else:
            raise ConfigError(f"{key}: unknown setting (in {path})")
    return flat


def read_env(environ: Mapping[str, str]) -> dict[str, str]:
    """Settings from ``FORNO_*`` variables; an unknown ``FORNO_`` name is an error."""
    found: dict[str, str] = {}
    for key, value in environ.items():
        if not key.startswith(ENV_PREFIX) or key == ENV_PREFIX + "CONFIG":
            continue
        name = key[len(ENV_PREFIX) :].lower()
        if name not in SETTINGS:
            raise ConfigError(f"{key}: unknown setting (environment variable)")
        found[name] = value
    return found


def load_config(
    flags: Mapping[str, Any] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    config_file: Path | None = None,
) -> Config:
    """Merge defaults < file < environment < flags into one validated Config.

    ``config_file`` falls back to ``FORNO_CONFIG`` from ``environ``.
    """
    env = os.environ if environ is None else environ
    if config_file is None and env.get(ENV_PREFIX + "CONFIG"):
        config_file = Path(env[ENV_PREFIX + "CONFIG"])
    merged: dict[str, Any] = {}
    if config_file is not None:
        merged.update(read_toml(config_file))
    merged.update(read_env(env))
    merged.update({k: v for k, v in (flags or {}).items() if v is not None})
    return build_config(merged)


def describe(value: Any) -> str:
    """A setting's value as the docs and --help show it."""
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, tuple):
        return ", ".join(describe(v) for v in value) or "(none)"
    if value is None:
        return "(unset)"
    if value == "":
        return '""'
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def settings_reference() -> str:
    """The Markdown settings reference, generated from the dataclasses."""
    lines = [
        "# Settings reference",
        "",
        "Generated from `forno.config` (`python -m forno.docs`).",
        "",
    ]
    lines.append(
        "Every setting is a CLI flag, a `FORNO_*` environment variable and a key in the TOML "
        "file given with `--config`. Precedence: defaults < file < environment < flags."
    )
    for group_name, group_cls in GROUPS.items():
        lines += ["", f"## {group_name}: {(group_cls.__doc__ or '').strip()}", ""]
        lines += ["| setting | flag | env | default | meaning |", "|---|---|---|---|---|"]
        for info in SETTINGS.values():
            if info.group != group_name:
                continue
            flag = info.flag if info.kind is not bool else f"{info.flag}/--no-{info.flag[2:]}"
            if not flag.startswith("--"):
                flag += " (argument)"
            lines.append(
                f"| `{info.name}` | `{flag}` | `{info.env}` | `{describe(info.default)}` "
                f"| {info.help} |"
            )
    return "\n".join(lines) + "\n"
