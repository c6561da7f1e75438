"""Measure the worker's pure per-event processing (no Kafka): `python -m cityops.bench.processing`.

Generates `--seconds` of event time with `sensors_sim.simulation.Simulation`,
cuts it into the batches the direct worker would see (`streams.direct`: up to
`BATCH_MAX` records, per topic in offset order, feeds in `FEED_TOPICS` order),
and times only what `DirectWorker.process` does with them: `Processor.handle_feed`
per topic and one `BufferedJsonStore.flush` per batch into the worker's
`ChangeTrackingTable`. Generating events and building `RawMessage`s happen
outside the timed part, as does hashing.

`--topology stages` (the default) runs the worker as `streams.direct` does
since the scale-out split: the entity, circuit and district stages on one
partition, the entity stage's repartition records handed straight to the other
two (`cityops.bench.topology`), and every task flushed (rule state and the
pickled roll-up windows) after each batch, i.e. a checkpoint every 5,000 events
(the worker checkpoints every `CITYOPS_WORKER_COMMIT_INTERVAL_S`, 1 s: every
~3 batches at 15,000 events/s). `--topology monolith`: the one `Processor` of
before (the digest `streams.perf` printed).

CPU time (`time.process_time`), not wall time: the machine is shared, and the
worker is CPU-bound on one core (docs/benchmarks.md).

The SHA-256 digest covers every output in order (dead letters, alerts, roll-ups
and latencies of each handled topic, the internal records, then the batch's
state changes but the window snapshots, which have a digest of their own), so an
optimisation can be checked for identical output by comparing digests. It is
deterministic: the simulation starts at a fixed instant (`--start`; `now` gives
a start relative to the wall clock, as `sensors_sim.perf` does) and the
processor's clock is pinned just after the last event, so no event is too old
or in the future whatever the day.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import orjson

from cityops.base.city.profiles import PROFILES, CityProfile, load_profile
from cityops.base.settings import Settings
from cityops.bench.topology import RUNNERS
from sensors_sim.incidents import Incident, incident_from_dict
from sensors_sim.simulation import Simulation
from sensors_sim.wire import SimEvent, to_ms
from streams import topics
from streams.direct import BATCH_MAX, tune_gc
from streams.pipeline import Output, RawMessage

#: 73 s before civil dusk in the megacity (Asia/Shanghai, 2026-11-22, 09:19:13Z):
#: a run of two minutes or more crosses dusk, so the night rules run too.
DEFAULT_START = datetime(2026, 11, 22, 9, 18, tzinfo=UTC)
#: How far after the last event the processor's pinned clock stands.
CLOCK_MARGIN = timedelta(seconds=1)
SEED = 42


class Profiler(Protocol):
    """pyinstrument's `Profiler`, or anything that can be started and stopped."""

    def start(self) -> Any: ...

    def stop(self) -> Any: ...


@dataclass(slots=True)
class Result:
    events: int
    batches: int
    cpu_s: float
    gc_s: float  # of cpu_s: the garbage collector's share
    valid: int
    deadletters: int
    alerts: int
    rollups: int
    state_changes: int
    state_keys: int
    digest: str
    records: int = 0  # for the repartition topics (stages only)
    windows_digest: str = ""  # of the stages' roll-up window snapshots

    @property
    def events_per_s(self) -> float:
        return self.events / self.cpu_s if self.cpu_s else 0.0

    @property
    def us_per_event(self) -> float:
        return self.cpu_s / self.events * 1e6 if self.events else 0.0


def default_incidents(city: CityProfile) -> list[Incident]:
    """A little of everything, so the digest covers alerts and offline timers:
    1 % of detectors and stations fall silent after their first heartbeat, one
    gas leak, one cable fault, one burst pipe."""
    specs: list[dict[str, Any]] = []
    for kind, ids in (
        ("detector_silent", city.detectors.ids),
        ("station_silent", city.stations.ids),
    ):
        step = max(1, len(ids) // max(1, len(ids) // 100))
        specs += [
            {"kind": kind, "entity_id": i, "at_s": 65, "duration_s": 3600} for i in ids[::step]
        ]
    specs.append(
        {
            "kind": "gas_leak",
            "entity_id": city.detectors.ids[0],
            "at_s": 20,
            "ramp_s": 30,
            "decay_s": 60,
            "duration_s": 300,
        }
    )
    specs.append(
        {"kind": "cable_fault", "entity_id": city.lights.circuit[0], "at_s": 5, "duration_s": 900}
    )
    specs.append(
        {"kind": "burst_pipe", "entity_id": city.stations.ids[0], "at_s": 30, "duration_s": 600}
    )
    return [incident_from_dict(spec) for spec in specs]


def batches(
    events: Iterator[SimEvent], source: dict[str, str]
) -> Iterator[tuple[int, list[RawMessage]]]:
    """The events as getmany results (up to BATCH_MAX records, offsets per topic),
    each with the event time of its first event (epoch ms)."""
    offsets = dict.fromkeys(source, 0)
    batch: list[RawMessage] = []
    first_ms = 0
    for event in events:
        if not batch:
            first_ms = event.ts_ms
        offset = offsets[event.topic]
        offsets[event.topic] = offset + 1
        batch.append(
            RawMessage(event.topic, source[event.topic], 0, offset, event.key, event.value)
        )
        if len(batch) == BATCH_MAX:
            yield first_ms, batch
            batch = []
    if batch:
        yield first_ms, batch


def by_topic(batch: list[RawMessage]) -> list[list[RawMessage]]:
    """Per feed topic in FEED_TOPICS order, offset order within (as DirectWorker.process)."""
    groups: dict[str, list[RawMessage]] = {}
    for msg in batch:
        groups.setdefault(msg.topic, []).append(msg)
    return [groups[t] for t in topics.FEED_TOPICS if t in groups]


def _hash_output(h: Any, out: Output) -> None:
    for dl in out.deadletters:
        h.update(b"D" + dl.model_dump_json().encode())
    for alert in out.alerts:
        h.update(b"A" + alert.model_dump_json().encode())
    for rollup in out.rollups:
        h.update(b"R" + rollup.model_dump_json().encode())
    h.update(b"L" + orjson.dumps(out.latencies) + b"V%d" % out.valid)


def _hash_changes(h: Any, windows: Any, changes: dict[bytes, bytes | None]) -> None:
    """Rule state into `h`; the stages' pickled roll-up windows (`~windows`
    chunks, `streams.stages.snapshot`) into `windows`: their encoding may change
    while the outputs and the rule state stay byte-identical."""
    for key, value in changes.items():
        into = windows if b"~windows" in key else h
        into.update(b"S" + key + b"=" + (b"<deleted>" if value is None else value))


def measure(
    profile: str,
    seconds: float,
    *,
    start: datetime = DEFAULT_START,
    warmup: float = 0.0,
    incidents: bool = True,
    profiler: Profiler | None = None,
    worker_gc: bool = True,
    topology: str = "stages",
) -> Result:
    """Process `warmup` + `seconds` of event time; time only the last `seconds`
    (and profile only those batches when a `profiler` is given). `worker_gc`:
    with the direct worker's garbage collector thresholds (`tune_gc`), as the
    collector's work is part of the processing cost; restored afterwards."""
    previous = tune_gc() if worker_gc else gc.get_threshold()
    try:
        return _measure(profile, seconds, start, warmup, incidents, profiler, topology)
    finally:
        gc.set_threshold(*previous)


class _GcClock:
    """A `gc.callbacks` entry: CPU time of the collections run while `timing`."""

    def __init__(self) -> None:
        self.timing = False
        self.timed_s = 0.0
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.process_time()
        elif self.timing:
            self.timed_s += time.process_time() - self._started


def _measure(
    profile: str,
    seconds: float,
    start: datetime,
    warmup: float,
    incidents: bool,
    profiler: Profiler | None,
    topology: str,
) -> Result:
    city = load_profile(profile)
    settings = Settings(_env_file=None, profile=profile)  # type: ignore[call-arg]
    end = start + timedelta(seconds=warmup + seconds)
    pinned = end + CLOCK_MARGIN
    runner = RUNNERS[topology](settings, lambda: pinned)
    sim = Simulation(city, SEED, start, default_incidents(city) if incidents else ())
    source = {t: settings.topic(t) for t in topics.FEED_TOPICS}
    timed_from_ms = to_ms(start + timedelta(seconds=warmup))
    h = hashlib.sha256()
    snap = hashlib.sha256()
    result = Result(0, 0, 0.0, 0.0, 0, 0, 0, 0, 0, 0, "", 0)
    clock = time.process_time
    collector = _GcClock()
    gc.callbacks.append(collector)
    try:
        for first_ms, batch in batches(sim.events_between(start, end), source):
            groups = by_topic(batch)
            timed = collector.timing = first_ms >= timed_from_ms
            if timed and profiler is not None:
                profiler.start()
            t0 = clock()
            outs, records = runner.process(groups)
            runner.flush()
            took = clock() - t0
            collector.timing = False
            if timed and profiler is not None:
                profiler.stop()
            if timed:
                result.cpu_s += took
                result.events += len(batch)
                result.batches += 1
            for out in outs:
                _hash_output(h, out)
                result.valid += out.valid
                result.deadletters += len(out.deadletters)
                result.alerts += len(out.alerts)
                result.rollups += len(out.rollups)
            for r in records:
                h.update(
                    b"K%s/%d/" % (r.topic.encode(), -1 if r.partition is None else r.partition)
                )
                h.update(r.key + b"=" + r.value)
            result.records += len(records)
            changes = runner.take_changes()
            _hash_changes(h, snap, changes)
            result.state_changes += len(changes)
    finally:
        gc.callbacks.remove(collector)
    result.gc_s = collector.timed_s
    result.state_keys = runner.state_keys()
    result.digest = h.hexdigest()
    result.windows_digest = snap.hexdigest()
    return result


def _start(value: str) -> datetime | None:
    if value == "now":
        return None
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise argparse.ArgumentTypeError("--start needs a UTC offset (or `now`)")
    return parsed


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=PROFILES, default="megacity")
    parser.add_argument("--seconds", type=float, default=60, help="event time to time")
    parser.add_argument(
        "--warmup", type=float, default=0, help="event time processed first, untimed"
    )
    parser.add_argument(
        "--start",
        type=_start,
        default=DEFAULT_START,
        help=f"simulation start, RFC 3339 or `now` (default {DEFAULT_START.isoformat()})",
    )
    parser.add_argument("--no-incidents", action="store_true", help="the plain simulation")
    parser.add_argument(
        "--topology",
        choices=RUNNERS,
        default="stages",
        help="the worker's three stages (default), or the one-processor shape of before",
    )
    parser.add_argument(
        "--default-gc",
        action="store_true",
        help="CPython's default GC thresholds instead of the direct worker's",
    )
    parser.add_argument(
        "--pyinstrument",
        metavar="HTML",
        help="profile the timed part with pyinstrument (if installed), print it, save HTML",
    )
    args = parser.parse_args(argv)
    start = args.start
    if start is None:  # a start relative to now, as sensors_sim.perf: not reproducible
        total = args.warmup + args.seconds
        start = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=total + 60)
    profiler: Any = None
    if args.pyinstrument:
        from pyinstrument import Profiler as Pyinstrument  # a local tool, not a dependency

        profiler = Pyinstrument(interval=0.001)
    r = measure(
        args.profile,
        args.seconds,
        start=start,
        warmup=args.warmup,
        incidents=not args.no_incidents,
        profiler=profiler,
        worker_gc=not args.default_gc,
        topology=args.topology,
    )
    if profiler is not None:
        print(profiler.output_text(unicode=True, show_all=False))
        with open(args.pyinstrument, "w", encoding="utf-8") as f:
            f.write(profiler.output_html())
    print(
        f"{args.profile} ({args.topology}): {r.events:,} events in {r.batches} batches, "
        f"{r.cpu_s:.2f} s CPU: "
        f"{r.events_per_s:,.0f} events/s, {r.us_per_event:.1f} µs/event "
        f"(garbage collector {r.gc_s:.2f} s)\n"
        f"  valid {r.valid:,}, dead letters {r.deadletters:,}, alerts {r.alerts:,}, "
        f"roll-ups {r.rollups:,}, state changes {r.state_changes:,}, "
        f"state keys {r.state_keys:,}, internal records {r.records:,}\n"
        f"  digest {r.digest}\n"
        f"  windows snapshot digest {r.windows_digest}"
    )


if __name__ == "__main__":
    main()
