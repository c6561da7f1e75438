"""The generator: deterministic, valid against the models, and calm without incidents."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from cityops.base.city.profiles import PROFILES, load_profile
from sensors_sim.simulation import Simulation
from sensors_sim.wire import SimEvent, TsFormatter, to_ms
from streams import topics
from streams.models import iso_z
from tests.fixtures.sim import by_entity, calm_violations, decode_all

# 16:00 in Qingdao on 22 Nov 2026: dusk (~17:15 local) falls inside a two-hour run
DUSK_RUN = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
# 05:00 local: dawn (~06:14) falls inside a two-hour run
DAWN_RUN = datetime(2026, 11, 22, 21, 0, tzinfo=UTC)


def test_same_seed_and_start_give_the_same_bytes() -> None:
    p = load_profile("small")
    a = list(Simulation(p, 7, DUSK_RUN).events(1800))
    b = list(Simulation(p, 7, DUSK_RUN).events(1800))
    c = list(Simulation(p, 8, DUSK_RUN).events(1800))
    assert a == b
    assert len(a) > 1000
    assert [e.value for e in a] != [e.value for e in c]


def test_chunking_does_not_change_the_stream() -> None:
    sim = Simulation(load_profile("small"), 3, DUSK_RUN)
    whole = list(sim.events(1800))
    chunked: list[SimEvent] = []
    t = DUSK_RUN
    while t < DUSK_RUN + timedelta(seconds=1800):
        chunked += Simulation(load_profile("small"), 3, DUSK_RUN).events_between(
            t, t + timedelta(seconds=7 * 60 + 13)
        )
        t += timedelta(seconds=7 * 60 + 13)
    assert chunked[: len(whole)] == whole


def test_events_are_in_event_time_order_and_in_the_interval() -> None:
    events = list(Simulation(load_profile("small"), 1, DUSK_RUN).events(900))
    times = [e.ts_ms for e in events]
    assert times == sorted(times)
    assert times[0] >= to_ms(DUSK_RUN)
    assert times[-1] < to_ms(DUSK_RUN + timedelta(seconds=900))
    # one event per (entity, ts): the sink's primary keys
    assert len({(e.topic, e.key, e.ts_ms) for e in events}) == len(events)


def test_periods_follow_the_contract() -> None:
    events = list(Simulation(load_profile("small"), 1, DAWN_RUN - timedelta(hours=3)).events(1800))
    counts = Counter(e.topic for e in events)
    p = load_profile("small")
    assert counts[topics.GAS_DETECTOR] == len(p.detectors.ids) * 30  # every 60 s
    assert counts[topics.STREETLIGHT_STATUS] == len(p.lights.ids) * 6  # every 5 min, no switch
    assert counts[topics.HEATING_STATION] == len(p.stations.ids) * 30
    assert counts[topics.FLEET_GPS] == len(p.trucks.ids) * 180  # every 10 s


@pytest.mark.parametrize("name", PROFILES)
def test_every_event_validates(name: str) -> None:
    p = load_profile(name)
    seconds = 20 if name == "megacity" else 600
    events = list(Simulation(p, 11, DUSK_RUN).events(seconds))
    decoded = decode_all(events)
    assert len(decoded) == len(events)
    assert {e.topic for e in events} == set(topics.FEED_TOPICS)


def test_ts_formatter_matches_iso_z() -> None:
    fmt = TsFormatter()
    base = to_ms(DUSK_RUN)
    for offset in (0, 1, 999, 1000, 59_999, 86_399_999, 3_600_123):
        ms = base + offset
        assert fmt(ms) == iso_z(
            datetime.fromtimestamp(ms / 1000, UTC).replace(microsecond=(ms % 1000) * 1000)
        )


@pytest.mark.parametrize("start", [DUSK_RUN, DAWN_RUN], ids=["dusk", "dawn"])
def test_a_calm_run_meets_no_alert_condition(start: datetime) -> None:
    p = load_profile("small")
    events = list(Simulation(p, 42, start).events(2 * 3600))
    assert calm_violations(p, events) == []
    # and the run is not trivially calm: lights switch, trucks drive, stop and collect
    lights = by_entity(events, topics.STREETLIGHT_STATUS)
    states = {r.data["power_state"] for rs in lights.values() for r in rs}
    assert states == {"on", "off"}
    fixes = [r.data for rs in by_entity(events, topics.FLEET_GPS).values() for r in rs]
    assert any(f["speed_kmh"] > 10 for f in fixes)
    assert any(f["speed_kmh"] == 0 and f["ignition"] for f in fixes)
    assert max(f["load_kg"] for f in fixes) > 500


def test_lights_switch_on_before_dusk_and_off_after_dawn() -> None:
    p = load_profile("small")
    events = list(Simulation(p, 5, DAWN_RUN).events(2 * 3600))
    for rs in by_entity(events, topics.STREETLIGHT_STATUS).values():
        off = [r for r in rs if r.data["power_state"] == "off"]
        assert off, "every light switches off after dawn"
        assert not p.is_dark(off[0].ts)
