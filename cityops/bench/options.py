"""What a bench run is asked to do, and the event-time plan it derives from that."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import get_args

from cityops.base.city.profiles import CityProfile
from cityops.base.settings import Settings

#: Flat-out runs plan this much event time per wall second (more than any run reaches;
#: the simulator simply ends later than planned event time when it is slower).
MAX_RATE_PLAN = 40_000.0

#: The worker runtimes `--runtime` chooses from (CITYOPS_WORKER_RUNTIME's values).
RUNTIMES: tuple[str, ...] = get_args(Settings.model_fields["worker_runtime"].annotation)


@dataclass(frozen=True)
class BenchOptions:
    profile: str = "megacity"
    duration_s: float = 60.0
    rate: float = 15_000.0  # math.inf = flat out
    probes: int = 5
    sample_s: float = 2.0
    drain_s: float = 60.0
    seed: int = 42
    # event seconds of megacity for the machine-speed probe recorded with the figures
    speed_event_s: float = 10.0


def natural_rate(city: CityProfile) -> float:
    """Events per second of event time (heartbeats only; DESIGN.md report intervals)."""
    return (
        len(city.detectors.ids) / 60
        + len(city.lights.ids) / 300
        + len(city.stations.ids) / 60
        + len(city.trucks.ids) / 10
    )


def plan(city: CityProfile, options: BenchOptions) -> tuple[float, float]:
    """(event-time span in s, events/s to produce) for the wall duration."""
    rate = MAX_RATE_PLAN if math.isinf(options.rate) else options.rate
    span = options.duration_s * rate / natural_rate(city)
    return span, options.rate
