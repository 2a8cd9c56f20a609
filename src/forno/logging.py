"""Logging set-up: the forno.error and forno.access loggers, or the user's own config."""

from __future__ import annotations

import configparser
import json
import logging
import logging.config
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from forno.config import LogFormat, LogLevel, LogSettings
from forno.errors import ConfigError

TRACE = 5
logging.addLevelName(TRACE, "TRACE")

_LEVELS = {
    LogLevel.CRITICAL: logging.CRITICAL,
    LogLevel.ERROR: logging.ERROR,
    LogLevel.WARNING: logging.WARNING,
    LogLevel.INFO: logging.INFO,
    LogLevel.DEBUG: logging.DEBUG,
    LogLevel.TRACE: TRACE,
}


#: The access log's fields, in the order of the access logger's arguments (server/access.py
#: logs with exactly these, so the JSON formatter can name each one without parsing text).
ACCESS_FIELDS = (
    "client",
    "method",
    "target",
    "http_version",
    "status",
    "bytes",
    "user_agent",
    "duration_ms",
)


class JSONFormatter(logging.Formatter):
    """One JSON object per record and line: time, level, logger, pid, message, fields.

    Records of ``forno.access`` also carry the request's fields by name (ACCESS_FIELDS). The
    output is ASCII-only JSON, so whatever bytes a client or an app put in a header or a
    message, a line is one valid JSON document.
    """

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "pid": record.process,
            "message": record.getMessage(),
        }
        args = record.args
        is_access = record.name == "forno.access" and isinstance(args, tuple)
        if is_access and len(args) == len(ACCESS_FIELDS):  # type: ignore[arg-type]
            entry.update(zip(ACCESS_FIELDS, args, strict=True))  # type: ignore[arg-type]
            entry["duration_ms"] = round(float(entry["duration_ms"]), 3)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=True, default=str)


def _formatters(settings: LogSettings) -> dict[str, Any]:
    if settings.log_format is LogFormat.JSON:
        json_formatter = {"()": JSONFormatter}
        return {"default": json_formatter, "access": json_formatter}
    return {
        "default": {
            "format": "%(asctime)s [%(process)d] %(levelname)s %(name)s: %(message)s",
        },
        "access": {"format": "%(asctime)s [%(process)d] %(message)s"},
    }


def default_config(settings: LogSettings) -> dict[str, Any]:
    level = _LEVELS[settings.log_level]
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": _formatters(settings),
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "formatter": "default",
                "stream": "ext://sys.stderr",
            },
            "access": {
                "class": "logging.StreamHandler",
                "formatter": "access",
                "stream": "ext://sys.stdout",
            },
        },
        "loggers": {
            "forno": {"handlers": ["default"], "level": level, "propagate": False},
            "forno.error": {"level": level},
            "forno.access": {
                "handlers": ["access"],
                "level": logging.INFO if settings.access_log else logging.CRITICAL + 1,
                "propagate": False,
            },
            # logging.captureWarnings sends the app's warnings.warn here; without a handler of
            # its own they would reach only logging's last-resort handler, unformatted.
            "py.warnings": {"handlers": ["default"], "level": logging.WARNING, "propagate": False},
        },
    }


def load_file_config(path: Path) -> None:
    suffix = path.suffix.lower()
    try:
        if suffix == ".json":
            logging.config.dictConfig(json.loads(path.read_text()))
        elif suffix in (".yaml", ".yml"):
            try:
                import yaml  # noqa: PLC0415
            except ImportError:
                raise ConfigError(
                    "log_config: YAML needs PyYAML (pip install 'forno[yaml]')"
                ) from None
            logging.config.dictConfig(yaml.safe_load(path.read_text()))
        else:
            logging.config.fileConfig(str(path), disable_existing_loggers=False)
    except ConfigError:
        raise
    except (OSError, ValueError, TypeError, KeyError, configparser.Error) as exc:
        raise ConfigError(f"log_config: cannot apply {path}: {exc}") from exc


def configure_logging(settings: LogSettings) -> None:
    logging.config.dictConfig(default_config(settings))
    if settings.log_config is not None:
        load_file_config(settings.log_config)
    if not settings.access_log:
        logging.getLogger("forno.access").disabled = True
    logging.captureWarnings(True)
