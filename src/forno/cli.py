"""The ``forno`` command: flags generated from the settings; parsing only, then ``forno.api``."""

from __future__ import annotations

import os
import sys
import traceback
from pathlib import Path
from typing import Any

import click

from forno import __version__, api
from forno.config import GROUPS, SETTINGS, SettingInfo, describe, load_config
from forno.errors import (
    EXIT_APP_LOAD,
    EXIT_BOOT,
    EXIT_CONFIG,
    EXIT_OK,
    AppLoadError,
    ConfigError,
    LifespanStartupError,
)

_POSITIONAL = "app"

# Flags that are spellings of a setting rather than settings of their own: the flag's name ->
# (the setting, how one value becomes a value of it). `--uds PATH` is uvicorn's name for
# `--bind unix:PATH`, kept so commands carry over; it adds to --bind like another --bind.
_ALIASES: dict[str, tuple[str, str]] = {"uds": ("bind", "unix:{}")}


def _option(info: SettingInfo) -> click.Option:
    names = [info.flag]
    if info.short:
        names.append(info.short)
    help_text = f"{info.help}  [default: {describe(info.default)}; env {info.env}]"
    if info.kind is bool:
        return click.Option(
            [f"{info.flag}/--no-{info.flag[2:]}"], default=None, help=help_text, expose_value=True
        )
    metavar = info.name.upper()
    choices = getattr(info.kind, "__members__", None)
    if choices:
        metavar = "[" + "|".join(m.value for m in info.kind) + "]"
    return click.Option(
        names,
        type=str,
        default=None,
        multiple=info.many,
        metavar=metavar,
        help=help_text,
    )


class GroupedCommand(click.Command):
    """``--help`` lists the settings under one heading per group."""

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        by_name = {p.name: p for p in self.get_params(ctx)}
        general = [
            rec
            for p in self.get_params(ctx)
            if p.name not in SETTINGS
            and p.name not in _ALIASES
            and (rec := p.get_help_record(ctx)) is not None
        ]
        with formatter.section("General"):
            formatter.write_dl(general)
        for group, cls in GROUPS.items():
            records = []
            for info in SETTINGS.values():
                param = by_name.get(info.name)
                if info.group == group and param is not None:
                    record = param.get_help_record(ctx)
                    if record is not None:
                        records.append(record)
                for alias, (target, _form) in _ALIASES.items():
                    if target == info.name and info.group == group and alias in by_name:
                        record = by_name[alias].get_help_record(ctx)
                        if record is not None:
                            records.append(record)
            if records:
                with formatter.section((cls.__doc__ or group).strip().rstrip(".")):
                    formatter.write_dl(records)


def _fail(message: str, code: int) -> None:
    click.echo(f"forno: error: {message}", err=True)
    sys.exit(code)


def _callback(**values: Any) -> None:
    config_file: Path | None = values.pop("config_file")
    aliased = {alias: values.pop(alias) for alias in _ALIASES}
    flags: dict[str, Any] = {}
    for name, value in values.items():
        if value is None or (isinstance(value, tuple) and not value):
            continue
        flags[name] = list(value) if isinstance(value, tuple) else value
    for alias, given in aliased.items():
        target, form = _ALIASES[alias]
        if given:
            flags[target] = [*flags.get(target, []), *(form.format(v) for v in given)]
    try:
        config = load_config(flags, environ=os.environ, config_file=config_file)
    except ConfigError as exc:
        _fail(str(exc), EXIT_CONFIG)
        return
    try:
        api.run(config.app.app, config=config)
    except ConfigError as exc:
        _fail(str(exc), EXIT_CONFIG)
    except AppLoadError as exc:
        if config.log.traceback:
            traceback.print_exception(exc)
        cause = (
            " (run with --traceback for details)"
            if exc.__cause__ and not config.log.traceback
            else ""
        )
        _fail(f"{exc}{cause}", EXIT_APP_LOAD)
    except LifespanStartupError as exc:
        _fail(str(exc), EXIT_BOOT)
    except KeyboardInterrupt:
        sys.exit(EXIT_OK)


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        click.echo(f"forno {__version__}")
        ctx.exit(EXIT_OK)


def build_command() -> click.Command:
    params: list[click.Parameter] = [
        click.Argument([_POSITIONAL], required=False, default=None, metavar="[MODULE:APP]"),
        click.Option(
            ["--version"],
            is_flag=True,
            expose_value=False,
            is_eager=True,
            callback=_print_version,
            help="Print forno's version and exit.",
        ),
        click.Option(
            ["--config", "config_file"],
            type=click.Path(dir_okay=False, path_type=Path),
            default=None,
            help="TOML file with settings (env FORNO_CONFIG).",
        ),
    ]
    params += [_option(info) for name, info in SETTINGS.items() if name != _POSITIONAL]
    params.append(
        click.Option(
            ["--uds", "uds"],
            type=str,
            multiple=True,
            metavar="PATH",
            help="Listen on the Unix socket PATH: the same as --bind unix:PATH; repeatable.",
        )
    )
    return GroupedCommand(
        name="forno",
        params=params,
        callback=_callback,
        help=(
            "Serve a WSGI or ASGI app: forno module:app. Without an app, serves forno's demo, "
            "the concurrency lab (forno lab --help: the same in a terminal). "
            "Every flag is also a FORNO_* environment variable and a key of the --config file."
        ),
        context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110},
    )


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["lab"]:
        # `forno lab`: app import strings always contain a colon, so "lab" cannot be one.
        from forno.lab.cli import main as lab_main  # noqa: PLC0415  (only when asked for)

        lab_main(args[1:])
        return
    command = build_command()
    command.main(args=argv, prog_name="forno")
