"""`cityops`: the one console script that fronts every job.

Each part registers its own sub-commands (`register(subparsers)` in its
`cli.py`), so this module stays a table of contents.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from cityops.base.settings import ConfigurationError

#: Modules that contribute sub-commands, in help order.
COMMAND_MODULES = (
    "cityops.stack.cli",  # up
    "sensors_sim.cli",  # simulate
    "cityops.scenarios.cli",  # record, replay, scenario
    "streams.cli",  # worker, alerts, schemas
    "sinks.cli",  # sink, db, notify
    "dashboards.cli",  # dashboards
    "cityops.status.cli",  # status
    "cityops.bench.cli",  # bench
    "cityops.report.cli",  # report
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cityops",
        description="CityOps: city telemetry -> Kafka -> stream worker -> TimescaleDB -> Grafana",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:  # a real import error inside the module
                raise
            continue
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        result = args.handler(args)
    except ConfigurationError as exc:
        print(f"cityops: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
