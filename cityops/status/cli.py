"""`cityops status` on the command line: one frame (`--once`) or a live view."""

from __future__ import annotations

import argparse
import asyncio
import contextlib

import aiohttp
from rich.console import Console
from rich.live import Live

from cityops.base.settings import get_settings
from cityops.status.collect import StatusSources, collect
from cityops.status.render import render_status

# --------------------------------------------------------------------------- CLI


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "status",
        help="live terminal view of a running pipeline",
        description=(
            "Events/s per feed, dead letters, open alerts, per-district lit rate and heating "
            "compliance, consumer lag; from the processes' /metrics, the database (read-only) "
            "and Alertmanager."
        ),
    )
    parser.add_argument("--once", action="store_true", help="print one frame and exit")
    parser.add_argument(
        "--interval", type=float, default=2.0, metavar="SECONDS", help="refresh period"
    )
    parser.add_argument(
        "--metrics-url",
        action="append",
        default=[],
        metavar="URL",
        help="a /metrics endpoint to read (repeatable; default: the CITYOPS_METRICS_PORT_* ports)",
    )
    parser.add_argument("--no-db", action="store_true", help="do not read the database")
    parser.set_defaults(handler=_status)


async def run_status(
    sources: StatusSources,
    *,
    once: bool,
    interval: float,
    console: Console | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    console = console or Console()
    stop = stop or asyncio.Event()
    async with aiohttp.ClientSession() as session:
        if once:
            first = await collect(sources, session)
            if sources.metrics_urls and any(
                state == "ok"
                for name, state in first.sources.items()
                if name in sources.metrics_urls
            ):
                await asyncio.sleep(min(interval, 1.0))  # a second sample for the rates
                first = await collect(sources, session, previous=first)
            console.print(render_status(first))
            return
        previous = await collect(sources, session)
        with Live(render_status(previous), console=console, refresh_per_second=4) as live:
            while not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=interval)
                previous = await collect(sources, session, previous=previous)
                live.update(render_status(previous))


def _status(args: argparse.Namespace) -> int:
    settings = get_settings()
    sources = StatusSources.from_settings(
        settings, metrics_urls=args.metrics_url, use_database=not args.no_db
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_status(sources, once=args.once, interval=max(args.interval, 0.2)))
    return 0
