"""`cityops bench failover`: the simulator's span keeps the rate for the whole run (pure)."""

from __future__ import annotations

import pytest

from cityops.base.city.profiles import load_profile
from cityops.base.settings import load_settings
from cityops.bench.failover import SIM_WALL_S, _sim_span_s
from cityops.bench.options import natural_rate


def test_the_simulator_span_lasts_the_wall_budget_at_the_rate() -> None:
    settings = load_settings(profile="small", _env_file=None)
    span = _sim_span_s(settings, 1000.0)
    # at 1,000 events/s the span's events take SIM_WALL_S, far beyond the one-hour
    # backfill a rate without a duration gets (~9 s of wall time on `small`)
    assert span * natural_rate(load_profile("small")) / 1000.0 == pytest.approx(SIM_WALL_S)
    assert span > 3600.0


def test_the_span_stays_inside_the_accepted_event_age() -> None:
    settings = load_settings(profile="small", max_event_age_s=86_400.0, _env_file=None)
    assert _sim_span_s(settings, 1000.0) == 43_200.0
