"""``forno lab``: the concurrency lab in the terminal (``forno`` with no app serves the page)."""

from __future__ import annotations

import asyncio
import sys

import click

from forno.lab.lanes import BY_ID, MAX_DELAY, MAX_USERS, MIN_DELAY, LaneError, LaneServers, Params
from forno.lab.session import BadRun, run_lab
from forno.lab.terminal import render
from forno.lab.timeline import LaneResult

EXIT_INTERRUPTED = 130


async def _run(lanes: list[str], params: Params) -> list[LaneResult]:
    servers = LaneServers()
    try:
        return await run_lab(servers, lanes, params)
    finally:
        await asyncio.to_thread(servers.stop)


@click.command(
    name="lab",
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110},
)
@click.option(
    "--users",
    type=click.IntRange(1, MAX_USERS),
    default=3,
    show_default=True,
    help="Simulated users: each sends one request to every lane, all at once.",
)
@click.option(
    "--delay",
    type=click.FloatRange(MIN_DELAY, MAX_DELAY),
    default=1.0,
    show_default=True,
    help="Seconds the slow endpoint takes.",
)
@click.option(
    "--lanes",
    default=",".join(BY_ID),
    show_default=True,
    help="Comma-separated lanes to run.",
)
@click.option(
    "--threads",
    type=click.IntRange(1, MAX_USERS),
    default=None,
    help="Threads of the 'WSGI, N threads' lane  [default: --users].",
)
@click.option(
    "--workers",
    type=click.IntRange(1, MAX_USERS),
    default=None,
    help="Worker processes of the 'WSGI, N processes' lane  [default: --users].",
)
@click.option(
    "--width", type=click.IntRange(10, 400), default=60, show_default=True, help="Bar columns."
)
def lab(
    users: int, delay: float, lanes: str, threads: int | None, workers: int | None, width: int
) -> None:
    """Three users, one slow endpoint, six ways to serve it: WSGI threads and processes, an
    event loop, and time.sleep in async def. Every lane is a real forno on 127.0.0.1."""
    chosen = [lane.strip() for lane in lanes.split(",") if lane.strip()]
    params = Params(users=users, delay=delay, threads=threads or users, workers=workers or users)
    try:
        results = asyncio.run(_run(chosen, params))
    except BadRun as exc:
        raise click.UsageError(str(exc)) from None
    except LaneError as exc:
        click.echo(f"forno lab: error: {exc}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(EXIT_INTERRUPTED)
    encoding = (sys.stdout.encoding or "ascii").lower()
    click.echo(render(results, width, ascii_only="utf" not in encoding), nl=False)
    if any(result.total is None for result in results):
        sys.exit(1)


def main(argv: list[str]) -> None:
    lab.main(args=argv, prog_name="forno lab")
