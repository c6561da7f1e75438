"""Sub-commands `record`, `replay` and `scenario` (registered by `cityops/cli.py`).

cityops record gas.detector.v1 alerts.v1 --out run.jsonl.gz --from-beginning --until-idle 5
cityops replay run.jsonl.gz --to-prefix copy. --speed 10
cityops scenario run gas_leak --check
cityops scenario list
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from cityops.base.settings import Settings, get_settings

if TYPE_CHECKING:  # the subparsers action is generic only to type checkers
    Sub: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]
    from cityops.scenarios.run import RunResult
    from sensors_sim.scenario import ResolvedScenario


def register(sub: Sub) -> None:
    _register_record(sub)
    _register_replay(sub)
    _register_scenario(sub)


# --- record -----------------------------------------------------------------------------


def _register_record(sub: Sub) -> None:
    p = sub.add_parser(
        "record",
        help="record Kafka topics to a gzip JSON Lines file (exact bytes, resumable)",
        description=(
            "Record TOPICs (bare names; the configured prefix is applied unless --raw-names) "
            "to FILE. Re-running with the same FILE continues after the recorded offsets."
        ),
    )
    p.add_argument("topics", nargs="+", metavar="TOPIC")
    p.add_argument("--out", required=True, type=Path, metavar="FILE", help="e.g. run.jsonl.gz")
    p.add_argument("--from-beginning", action="store_true", help="new partitions from offset 0")
    p.add_argument("--until-idle", type=float, metavar="S", help="stop after S s without messages")
    p.add_argument("--max", type=int, metavar="N", help="stop after N messages")
    p.add_argument("--raw-names", action="store_true", help="TOPICs are full names: no prefix")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(handler=_record)


def _bootstrap(settings: Settings, command: str) -> str:
    if not settings.kafka_bootstrap:
        raise SystemExit(
            f"cityops {command}: set CITYOPS_KAFKA_BOOTSTRAP (or run where `cityops up` runs)"
        )
    return settings.kafka_bootstrap


def _record(args: argparse.Namespace) -> int:
    from sensors_sim.record import RecordingError, RecordStats, record

    settings = get_settings()
    bootstrap = _bootstrap(settings, "record")
    names = {(t if args.raw_names else settings.topic(t)): t for t in args.topics}
    progress = _progress(args.no_progress)
    task = progress.add_task("recording", total=args.max)

    def show(stats: RecordStats) -> None:
        parts = " ".join(f"{t}={n}" for t, n in sorted(stats.per_topic.items()))
        progress.update(task, completed=stats.total, description=f"recording {parts}")

    try:
        with progress:
            stats = record(
                bootstrap,
                names,
                args.out,
                from_beginning=args.from_beginning,
                until_idle_s=args.until_idle,
                max_messages=args.max,
                on_progress=show,
            )
    except RecordingError as exc:
        print(f"cityops record: {exc}", file=sys.stderr)
        return 2
    resumed = f" (appended to {stats.resumed_from} earlier)" if stats.resumed_from else ""
    print(f"recorded {stats.total} messages to {args.out}{resumed}")
    return 0


# --- replay -----------------------------------------------------------------------------


def _register_replay(sub: Sub) -> None:
    p = sub.add_parser(
        "replay",
        help="replay recordings into Kafka (same bytes, keys, timestamps)",
        description=(
            "Replay FILEs into the recorded topics under the configured prefix, or under "
            "--to-prefix, renaming topics with --rename old=new. Speed 1 = the recorded "
            "pace, N = N times faster, max = as fast as possible."
        ),
    )
    p.add_argument("files", nargs="+", type=Path, metavar="FILE")
    p.add_argument("--to-prefix", metavar="P", help="target topic prefix (default: configured)")
    p.add_argument("--rename", action="append", default=[], metavar="OLD=NEW", help="repeatable")
    p.add_argument("--speed", default="max", help="1 | N | max (default: max)")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(handler=_replay)


def _replay(args: argparse.Namespace) -> int:
    from sensors_sim.record import RecordingError
    from sensors_sim.replay import Replayer, ReplayStats, TopicMap, parse_speed, plan

    settings = get_settings()
    bootstrap = _bootstrap(settings, "replay")
    try:
        speed = parse_speed(args.speed)
        renames = dict(_pair(r) for r in args.rename)
        the_plan = plan(args.files)
    except (ValueError, RecordingError, OSError) as exc:
        print(f"cityops replay: {exc}", file=sys.stderr)
        return 2
    prefix = settings.topic_prefix if args.to_prefix is None else args.to_prefix
    replayer = Replayer(
        bootstrap,
        the_plan,
        TopicMap(prefix, renames),
        speed=speed,
        create_partitions=settings.topic_partitions,
    )
    progress = _progress(args.no_progress, rate=True)
    pace = "max" if speed is None else f"x{speed:g}"
    task = progress.add_task(f"replay {pace}", total=the_plan.messages)

    def show(stats: ReplayStats) -> None:
        progress.update(task, completed=stats.sent)

    with progress:
        stats = asyncio.run(replayer.run(show))
    print(
        f"replayed {stats.sent} messages: "
        + ", ".join(f"{t}={n}" for t, n in sorted(stats.per_topic.items()))
    )
    return 0


def _pair(text: str) -> tuple[str, str]:
    old, sep, new = text.partition("=")
    if not sep or not old or not new:
        raise ValueError(f"--rename expects OLD=NEW, got {text!r}")
    return old, new


def _progress(disabled: bool, *, rate: bool = False) -> Progress:
    columns = [
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.speed:>8.0f} ev/s" if rate else ""),
        TimeElapsedColumn(),
    ]
    if rate:
        columns.append(TimeRemainingColumn())
    return Progress(
        *columns,
        console=Console(stderr=True),
        disable=disabled or not sys.stderr.isatty(),
        transient=False,
    )


# --- scenario -----------------------------------------------------------------------------


def _register_scenario(sub: Sub) -> None:
    p = sub.add_parser("scenario", help="scripted scenarios: run, check, list")
    ssub = p.add_subparsers(dest="scenario_command", required=True)
    run = ssub.add_parser(
        "run",
        help="run a scenario through the pipeline and show its alerts",
        description=(
            "Generate the scenario flat out, drive it through a pipeline and collect "
            "alerts.v1. With CITYOPS_KAFKA_BOOTSTRAP set the running pipeline's topics and "
            "worker are used; otherwise a private broker and worker are started (and "
            "stopped). --check exits 1 with a diff when the alerts differ from the "
            "expected ones."
        ),
    )
    run.add_argument("file", help="a scenario file, or the name of a shipped one")
    run.add_argument("--check", action="store_true", help="compare with the expected alerts")
    run.add_argument(
        "--worker",
        choices=("auto", "start", "running"),
        default="auto",
        help=(
            "start = own worker on fresh topics; running = the pipeline's worker; "
            "auto = running when CITYOPS_KAFKA_BOOTSTRAP is set, else start"
        ),
    )
    run.add_argument("--start", help="override the scenario's start (same forms)")
    run.add_argument("--idle-timeout", type=float, default=45.0, metavar="S")
    run.set_defaults(handler=_scenario_run)
    ls = ssub.add_parser("list", help="the shipped scenarios")
    ls.set_defaults(handler=_scenario_list)
    show = ssub.add_parser("show", help="a scenario's resolved start and expected alerts")
    show.add_argument("file")
    show.set_defaults(handler=_scenario_show)


def _scenario_list(args: argparse.Namespace) -> int:
    from sensors_sim.scenario import load_scenario, shipped

    for name in shipped():
        lines = load_scenario(name).description.strip().splitlines()
        print(f"{name:<28} {lines[0] if lines else ''}")
    return 0


def _scenario_show(args: argparse.Namespace) -> int:
    from sensors_sim.scenario import ScenarioError, load_scenario, resolve
    from sensors_sim.scenario_check import describe_expected

    try:
        resolved = resolve(load_scenario(args.file))
    except ScenarioError as exc:
        print(f"cityops scenario: {exc}", file=sys.stderr)
        return 2
    s = resolved.scenario
    print(
        f"{s.name}: profile {s.profile}, seed {s.seed}, {resolved.start.isoformat()} .. "
        f"{resolved.end.isoformat()}"
    )
    for spec in resolved.expected():
        print(f"  expect {spec.rule} {spec.entity}: {describe_expected(spec)}")
    return 0


def _scenario_run(args: argparse.Namespace) -> int:
    from cityops.scenarios.run import ScenarioRunError
    from sensors_sim.scenario import ScenarioError, load_scenario, resolve

    try:
        scenario = load_scenario(args.file)
        if args.start:
            scenario = scenario.model_copy(update={"start": args.start})
        resolved = resolve(scenario)
    except ScenarioError as exc:
        print(f"cityops scenario: {exc}", file=sys.stderr)
        return 2
    settings = get_settings()
    mode = args.worker
    if mode == "auto":
        mode = "running" if settings.kafka_bootstrap else "start"
    try:
        result = _run(resolved, settings, mode, args.idle_timeout)
    except (ScenarioRunError, ScenarioError) as exc:
        print(f"cityops scenario: {exc}", file=sys.stderr)
        return 2
    print(
        f"{result.name}: {sum(result.events.values())} events from "
        f"{resolved.start.isoformat()}, {len(result.alerts)} alert events"
        + ("" if result.caught_up else " (stopped on the idle timeout: may be incomplete)")
    )
    for a in result.alerts:
        when = a.updated_at.isoformat()
        print(f"  {when} {a.rule:<28} {a.entity_id:<20} {a.severity:<8} {a.state}")
    if not args.check:
        return 0
    report = result.check()
    print(report.format())
    return 0 if report.ok else 1


def _run(resolved: ResolvedScenario, settings: Settings, mode: str, idle_s: float) -> RunResult:
    from cityops.scenarios.run import drive, scenario_settings, worker_process
    from cityops.stack.broker import EmbeddedBroker

    if mode == "running":
        return asyncio.run(drive(resolved, settings, idle_s=idle_s))
    with tempfile.TemporaryDirectory(prefix="cityops-scenario-") as tmp:
        broker = None
        try:
            if not settings.kafka_bootstrap:
                broker = EmbeddedBroker(Path(tmp)).start()
                settings = settings.model_copy(update={"kafka_bootstrap": broker.bootstrap})
            own = scenario_settings(settings.model_copy(update={"state_dir": Path(tmp)}))
            with worker_process(own) as procs:
                return asyncio.run(drive(resolved, own, procs=procs, idle_s=idle_s))
        finally:
            if broker is not None:
                broker.stop()
