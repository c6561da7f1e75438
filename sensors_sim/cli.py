"""`cityops simulate` (record, replay and scenario live in `cityops.scenarios.cli`).

cityops simulate --profile qingdao --duration 3600 --rate 5000
cityops simulate --incident '{"kind": "gas_leak", "entity_id": "GD-shinan-00001", "at_s": 60}'
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import signal
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from prometheus_client import CollectorRegistry

from cityops.base.city.profiles import PROFILES, UnknownProfileError, load_profile
from cityops.base.metrics import SimulatorMetrics, serve
from cityops.base.settings import get_settings
from sensors_sim.incidents import Incident, IncidentError, incident_from_dict
from sensors_sim.simulate import run_simulation


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "simulate",
        help="produce simulated city feeds to Kafka",
        description=(
            "Produce the four city feeds to Kafka. Rate 0 = real time (event time follows "
            "the clock); with a rate, event time runs faster and the run starts "
            "`duration` seconds in the past so that it ends now."
        ),
    )
    p.add_argument("--profile", choices=PROFILES, help="city profile (default: CITYOPS_PROFILE)")
    p.add_argument("--seed", type=int, help="random seed (default: CITYOPS_SEED)")
    p.add_argument(
        "--duration", type=float, help="seconds of event time (default: run until stopped)"
    )
    p.add_argument(
        "--rate",
        type=_rate,
        help="events/s, 'max' for flat out, 0 for real time (default: CITYOPS_SIM_RATE)",
    )
    p.add_argument("--start", type=_aware_datetime, help="event time of the start (RFC 3339)")
    p.add_argument(
        "--incident",
        action="append",
        default=[],
        metavar="JSON|FILE",
        help="an incident as JSON, or a JSON/YAML file of one or a list (repeatable)",
    )
    p.add_argument("--no-progress", action="store_true", help="no live counter")
    p.set_defaults(handler=_simulate)


def _rate(text: str) -> float:
    if text.lower() in ("max", "inf", "flat-out"):
        return math.inf
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError("rate must be >= 0 (0 = real time) or 'max'")
    return value


def _aware_datetime(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError("give a timezone, e.g. 2026-11-22T10:00:00Z")
    return value


def parse_incidents(items: list[str]) -> list[Incident]:
    """Each item is inline JSON (an object or a list) or a path to a JSON/YAML file."""
    out: list[Incident] = []
    for item in items:
        text = item.strip()
        if text.startswith(("{", "[")):
            data: Any = json.loads(text)
        else:
            path = Path(text)
            if not path.is_file():
                raise IncidentError(f"--incident {item!r}: neither JSON nor an existing file")
            data = yaml.safe_load(path.read_text(encoding="utf-8"))  # JSON is YAML too
        for entry in data if isinstance(data, list) else [data]:
            out.append(incident_from_dict(entry))
    return out


def _simulate(args: argparse.Namespace) -> int:
    settings = get_settings()
    try:
        profile = load_profile(args.profile or settings.profile)
        incidents = parse_incidents(args.incident)
    except (UnknownProfileError, IncidentError, json.JSONDecodeError, yaml.YAMLError) as exc:
        print(f"cityops simulate: {exc}", file=sys.stderr)
        return 2
    registry = CollectorRegistry()
    serve(registry, settings.metrics_port_simulator, settings.metrics_host)
    coro = run_simulation(
        settings,
        profile,
        seed=settings.seed if args.seed is None else args.seed,
        start=args.start,
        duration_s=args.duration,
        rate=settings.sim_rate if args.rate is None else args.rate,
        incidents=incidents,
        metrics=SimulatorMetrics(registry),
        progress=not args.no_progress and sys.stdout.isatty(),
    )
    try:
        counts = asyncio.run(_until_signal(coro))
    except (ValueError, IncidentError) as exc:
        print(f"cityops simulate: {exc}", file=sys.stderr)
        return 2
    if counts is not None:
        total = sum(counts.values())
        print(f"sent {total} events: " + ", ".join(f"{t}={n}" for t, n in counts.items()))
    return 0


async def _until_signal(coro: Any) -> dict[str, int] | None:
    """Run; SIGTERM/SIGINT cancel cleanly (the producer is flushed and stopped)."""
    task = asyncio.ensure_future(coro)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, task.cancel)
    try:
        result: dict[str, int] = await task
        return result
    except asyncio.CancelledError:
        return None
