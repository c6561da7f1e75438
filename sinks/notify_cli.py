"""`cityops notify`: run the Alertmanager notifier (sinks/notifier.py) until stopped."""

from __future__ import annotations

import argparse
import asyncio

from cityops.base.settings import get_settings, load_settings
from cityops.base.signals import stop_on_signals
from sinks.notifier import NotifierConfig, run_notifier


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "notify",
        help="push alerts.v1 to Alertmanager (on-call routing)",
        description=(
            "Consume alerts.v1 and keep Prometheus Alertmanager in step: firing alerts are "
            "pushed and re-sent, resolved ones ended. Offsets are committed only after "
            "Alertmanager accepted them. Needs CITYOPS_KAFKA_BOOTSTRAP and "
            "CITYOPS_ALERTMANAGER_URL."
        ),
    )
    parser.add_argument(
        "--alertmanager-url",
        default=None,
        help="http://host:port of Alertmanager (default: CITYOPS_ALERTMANAGER_URL)",
    )
    parser.add_argument(
        "--resend-interval",
        type=float,
        default=None,
        metavar="SECONDS",
        help="re-send firing alerts this often (default 60; keep below Alertmanager's timeouts)",
    )
    parser.set_defaults(handler=_notify)


def _notify(args: argparse.Namespace) -> int:
    settings = (
        load_settings(alertmanager_url=args.alertmanager_url)
        if args.alertmanager_url
        else get_settings()
    )
    overrides: dict[str, float] = {}
    if args.resend_interval is not None:
        overrides["resend_interval_s"] = args.resend_interval
    config = NotifierConfig.from_settings(settings, **overrides)

    async def main() -> None:
        with stop_on_signals() as stop:
            await run_notifier(settings, stop=stop, config=config)

    asyncio.run(main())
    return 0
