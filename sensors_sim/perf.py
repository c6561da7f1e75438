"""Measure generation speed (events/s of JSON, no Kafka): `python -m sensors_sim.perf`."""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from cityops.base.city.profiles import PROFILES, load_profile
from sensors_sim.simulation import Simulation


def measure(profile: str, seconds: float, seed: int = 42) -> dict[str, float]:
    t = time.perf_counter()
    city = load_profile(profile)
    loaded = time.perf_counter() - t
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=seconds)
    t = time.perf_counter()
    sim = Simulation(city, seed, start)
    ready = time.perf_counter() - t
    t = time.perf_counter()
    events = size = 0
    for event in sim.events(seconds):
        events += 1
        size += len(event.value)
    took = time.perf_counter() - t
    return {
        "load_s": loaded,
        "init_s": ready,
        "events": events,
        "events_per_s": events / took,
        "mb_per_s": size / took / 1e6,
        "event_time_per_wall_s": seconds / took,
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--profile", choices=PROFILES, default="megacity")
    parser.add_argument("--seconds", type=float, default=120, help="event time to generate")
    args = parser.parse_args(argv)
    result = measure(args.profile, args.seconds)
    print(
        f"{args.profile}: load {result['load_s']:.2f} s, init {result['init_s']:.2f} s, "
        f"{result['events']:,.0f} events at {result['events_per_s']:,.0f} events/s "
        f"({result['mb_per_s']:.1f} MB/s of JSON, {result['event_time_per_wall_s']:.1f}x real time)"
    )


if __name__ == "__main__":
    main()
