"""Logging set-up: the forno.error and forno.access loggers, or the user's own config."""

from __future__ import annotations

import configparser
import json
import logging
import logging.config
from pathlib import Path
from typing import Any

from forno.config import LogLevel, LogSettings
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


def default_config(settings: LogSettings) -> dict[str, Any]:
    level = _LEVELS[settings.log_level]
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "default": {
                "format": "%(asctime)s [%(process)d] %(levelname)s %(name)s: %(message)s",
            },
            "access": {"format": "%(asctime)s [%(process)d] %(message)s"},
        },
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
