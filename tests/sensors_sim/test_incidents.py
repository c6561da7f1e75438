"""Each incident produces the raw signal its rule looks for (and says which alerts to expect)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from cityops.base.city.profiles import CityProfile, load_profile
from sensors_sim.incidents import (
    KINDS,
    ExpectedAlert,
    IncidentError,
    incident_from_dict,
)
from sensors_sim.simulation import Simulation
from sensors_sim.wire import SimEvent, to_ms
from streams import topics
from tests.fixtures.sim import Reading, by_entity, decode_all

NIGHT = datetime(2026, 11, 22, 14, 0, tzinfo=UTC)  # 22:00 local
DAY = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)  # 10:00 local
AT_S = 600  # every incident starts 10 minutes into the run
RULES = {
    "gas.lel_high", "gas.detector_fault", "gas.detector_offline", "streetlight.dark",
    "streetlight.circuit_outage", "streetlight.day_burning", "streetlight.lit_rate_low",
    "heating.indoor_cold", "heating.pressure_drop", "heating.supply_temp_low",
    "heating.station_offline", "fleet.off_route", "fleet.geofence_violation", "fleet.idle",
    "fleet.speeding",
}  # fmt: skip


@dataclass(frozen=True)
class Run:
    profile: CityProfile
    events: list[SimEvent]
    start_ms: int  # of the incident
    end_ms: int

    def of(self, topic: str, entity: str) -> list[Reading]:
        return by_entity(self.events, topic).get(entity, [])

    def during(self, topic: str, entity: str) -> list[Reading]:
        return [r for r in self.of(topic, entity) if self.start_ms <= r.ts_ms < self.end_ms]

    def after(self, topic: str, entity: str) -> list[Reading]:
        return [r for r in self.of(topic, entity) if r.ts_ms >= self.end_ms]


def longest(readings: list[Reading], cond: Callable[[dict[str, Any]], bool]) -> int:
    """Longest stretch (ms) of consecutive readings meeting `cond`."""
    best, since = 0, None
    for r in readings:
        if cond(r.data):
            since = r.ts_ms if since is None else since
            best = max(best, r.ts_ms - since)
        else:
            since = None
    return best


# --- checks, one per kind --------------------------------------------------------------
def gas_leak(run: Run) -> None:
    rs = run.during(topics.GAS_DETECTOR, "GD-centre-00001")
    lel = [r.data["lel_pct"] for r in rs]
    first_25 = next(i for i, v in enumerate(lel) if v >= 25)
    first_50 = next(i for i, v in enumerate(lel) if v >= 50)
    assert first_25 < first_50
    after = run.after(topics.GAS_DETECTOR, "GD-centre-00001")[:3]
    assert len(after) == 3 and all(r.data["lel_pct"] < 10 for r in after)


def detector_fault(run: Run) -> None:
    assert {r.data["status"] for r in run.during(topics.GAS_DETECTOR, "GD-centre-00002")} == {
        "fault"
    }
    assert run.during(topics.GAS_DETECTOR, "GD-centre-00002")[0].ts_ms == run.start_ms
    assert run.after(topics.GAS_DETECTOR, "GD-centre-00002")[0].data["status"] == "ok"


def detector_silent(run: Run) -> None:
    assert run.during(topics.GAS_DETECTOR, "GD-centre-00003") == []
    assert run.after(topics.GAS_DETECTOR, "GD-centre-00003")[0].ts_ms == run.end_ms


def lamp_dark(run: Run) -> None:
    rs = run.during(topics.STREETLIGHT_STATUS, "LT-centre-000001")
    assert rs and all(r.data["power_state"] == "off" and r.data["fault"] == "lamp" for r in rs)
    assert all(run.profile.is_dark(r.ts) for r in rs)
    assert run.after(topics.STREETLIGHT_STATUS, "LT-centre-000001")[0].data["power_state"] == "on"


def _circuit_dark_at_once(run: Run, lights: tuple[int, ...], fault: str | None) -> None:
    ids = [run.profile.lights.ids[i] for i in lights]
    for light in ids:
        first = run.during(topics.STREETLIGHT_STATUS, light)[0]
        assert first.ts_ms == run.start_ms  # the whole circuit reports at once
        assert first.data["power_state"] == "off"
        assert first.data["fault"] == fault
        assert first.data["voltage_v"] == 0.0


def cable_fault(run: Run) -> None:
    _circuit_dark_at_once(run, run.profile.index.circuit_lights["CC-centre-0002"], "cable")


def cabinet_storm(run: Run) -> None:
    _circuit_dark_at_once(run, run.profile.index.cabinet_lights["CB-north-001"], None)


def day_burning(run: Run) -> None:
    for i in run.profile.index.circuit_lights["CC-harbour-0001"]:
        rs = run.during(topics.STREETLIGHT_STATUS, run.profile.lights.ids[i])
        assert all(r.data["power_state"] == "on" and not run.profile.is_dark(r.ts) for r in rs)
        assert rs[-1].ts_ms - rs[0].ts_ms > 30 * 60_000


def burst_pipe(run: Run) -> None:
    rs = run.of(topics.HEATING_STATION, "HS-001-1")
    drops = [
        a.data["supply_pressure_mpa"] - b.data["supply_pressure_mpa"]
        for a in rs
        for b in rs
        if 0 < b.ts_ms - a.ts_ms <= 300_000
    ]
    assert max(drops) > 0.1
    assert run.after(topics.HEATING_STATION, "HS-001-1")[0].data["supply_pressure_mpa"] > 0.5


def cold_building(run: Run) -> None:
    rs = run.of(topics.HEATING_STATION, "HS-001-2")
    assert longest(rs, lambda d: d["indoor_temp_c"] < 18) > 30 * 60_000
    assert run.after(topics.HEATING_STATION, "HS-001-2")[0].data["indoor_temp_c"] >= 18.5


def _below_curve(run: Run, d: dict[str, Any]) -> bool:
    return bool(
        d["supply_temp_c"] < run.profile.min_supply_temp_c(d["enterprise_id"], d["outdoor_temp_c"])
    )


def supply_temp_low(run: Run) -> None:
    rs = run.during(topics.HEATING_STATION, "HS-002-1")
    assert rs and all(_below_curve(run, r.data) for r in rs)
    assert not _below_curve(run, run.after(topics.HEATING_STATION, "HS-002-1")[0].data)


def station_silent(run: Run) -> None:
    assert run.during(topics.HEATING_STATION, "HS-002-2") == []
    assert run.end_ms - run.start_ms > 5 * 60_000


def _district_stations(run: Run, district: str) -> list[list[Reading]]:
    ix = run.profile.index.district_stations[district]
    return [run.during(topics.HEATING_STATION, run.profile.stations.ids[i]) for i in ix]


def cold_snap(run: Run) -> None:
    for rs in _district_stations(run, "centre"):
        outdoor = [r.data["outdoor_temp_c"] for r in rs]
        assert max(outdoor) - min(outdoor) > 8
        assert not any(_below_curve(run, r.data) for r in rs)  # the stations keep up


def cold_snap_unfollowed(run: Run) -> None:
    for rs in _district_stations(run, "centre"):
        assert any(_below_curve(run, r.data) for r in rs)


def _route_m(run: Run, d: dict[str, Any]) -> float:
    far = run.profile.distance_to_route_m(d["route_id"], d["lat"], d["lon"])
    assert far is not None
    return far


def off_route(run: Run) -> None:
    rs = run.of(topics.FLEET_GPS, "TR-R001-1")
    assert longest(rs, lambda d: _route_m(run, d) > 300) > 120_000
    assert all(r.data["speed_kmh"] < 50 for r in rs)
    assert all(_route_m(run, r.data) < 50 for r in run.after(topics.FLEET_GPS, "TR-R001-1"))


def illegal_dumping(run: Run) -> None:
    rs = run.of(topics.FLEET_GPS, "TR-R002-1")
    inside = [
        r for r in rs if run.profile.no_dumping_zone_at(r.data["lat"], r.data["lon"]) is not None
    ]
    stopped = [r for r in inside if r.data["speed_kmh"] == 0]
    assert stopped[0].data["load_kg"] - stopped[-1].data["load_kg"] > 50
    assert all(_route_m(run, r.data) < 300 for r in rs)  # not off route as well
    assert longest(rs, lambda d: d["ignition"] and d["speed_kmh"] <= 2) < 600_000


def idling(run: Run) -> None:
    rs = run.of(topics.FLEET_GPS, "TR-R003-1")
    assert longest(rs, lambda d: d["ignition"] and d["speed_kmh"] == 0) > 600_000


def speeding(run: Run) -> None:
    rs = run.during(topics.FLEET_GPS, "TR-R003-2")
    assert rs
    assert all(r.data["speed_kmh"] > 50 for r in rs)
    assert all(_route_m(run, r.data) < 50 for r in rs)
    assert all(r.data["speed_kmh"] < 45 for r in run.after(topics.FLEET_GPS, "TR-R003-2"))


CASES: list[tuple[dict[str, Any], datetime, Callable[[Run], None]]] = [
    ({"kind": "gas_leak", "entity_id": "GD-centre-00001"}, DAY, gas_leak),
    ({"kind": "detector_fault", "entity_id": "GD-centre-00002"}, DAY, detector_fault),
    ({"kind": "detector_silent", "entity_id": "GD-centre-00003"}, DAY, detector_silent),
    ({"kind": "lamp_dark", "entity_id": "LT-centre-000001"}, NIGHT, lamp_dark),
    ({"kind": "cable_fault", "entity_id": "CC-centre-0002"}, NIGHT, cable_fault),
    ({"kind": "cabinet_storm", "entity_id": "CB-north-001"}, NIGHT, cabinet_storm),
    ({"kind": "day_burning", "entity_id": "CC-harbour-0001"}, DAY, day_burning),
    ({"kind": "burst_pipe", "entity_id": "HS-001-1"}, DAY, burst_pipe),
    ({"kind": "cold_building", "entity_id": "HS-001-2"}, DAY, cold_building),
    ({"kind": "supply_temp_low", "entity_id": "HS-002-1"}, DAY, supply_temp_low),
    ({"kind": "station_silent", "entity_id": "HS-002-2"}, DAY, station_silent),
    ({"kind": "cold_snap", "entity_id": "centre", "duration_s": 7200, "ramp_s": 1800}, DAY,
     cold_snap),
    ({"kind": "cold_snap", "entity_id": "centre", "duration_s": 7200, "ramp_s": 1800,
      "stations_keep_up": False}, DAY, cold_snap_unfollowed),
    ({"kind": "off_route", "entity_id": "TR-R001-1"}, DAY, off_route),
    ({"kind": "illegal_dumping", "entity_id": "TR-R002-1"}, DAY, illegal_dumping),
    ({"kind": "idling", "entity_id": "TR-R003-1"}, DAY, idling),
    ({"kind": "speeding", "entity_id": "TR-R003-2"}, DAY, speeding),
]  # fmt: skip


def test_every_kind_has_a_case() -> None:
    assert {c[0]["kind"] for c in CASES} == set(KINDS)


@pytest.mark.parametrize(
    ("spec", "start", "check"), CASES, ids=[f"{c[0]['kind']}-{c[2].__name__}" for c in CASES]
)
def test_incident_signal(
    spec: dict[str, Any], start: datetime, check: Callable[[Run], None]
) -> None:
    profile = load_profile("small")
    incident = incident_from_dict({**spec, "at_s": AT_S})
    sim = Simulation(profile, 42, start, [incident])
    ((_, begin, end),) = sim.windows
    assert begin == incident.start_time(start)
    # for illegal dumping the trip to the zone and back adds to the stop
    assert end == incident.end_time(start) or spec["kind"] == "illegal_dumping"
    events = list(sim.events_between(start, end + timedelta(minutes=40)))
    decode_all(events)  # perturbed events still validate
    check(Run(profile, events, to_ms(begin), to_ms(end)))
    expected = incident.expected_alerts(profile, start)
    assert all(isinstance(a, ExpectedAlert) and a.rule in RULES for a in expected)
    if check is not cold_snap:
        assert expected, "an incident that changes nothing should not be in the table"


def test_expected_alerts_of_a_cable_fault() -> None:
    p = load_profile("small")
    inc = incident_from_dict({"kind": "cable_fault", "entity_id": "CC-centre-0002", "at_s": 0})
    alerts = inc.expected_alerts(p, NIGHT)
    rules = {a.rule for a in alerts}
    assert rules == {"streetlight.dark", "streetlight.circuit_outage", "streetlight.lit_rate_low"}
    assert sum(a.rule == "streetlight.dark" for a in alerts) == 20
    assert inc.expected_alerts(p, DAY) == []  # lights are off by day anyway


def test_a_big_leak_escalates() -> None:
    p = load_profile("small")
    inc = incident_from_dict({"kind": "gas_leak", "entity_id": "GD-centre-00001", "at_s": 0})
    (alert,) = inc.expected_alerts(p, DAY)
    assert alert.severity == ("major", "critical")
    assert alert.states == ("firing", "resolved")
    small_leak = inc.model_copy(update={"peak_lel_pct": 30.0})
    assert small_leak.expected_alerts(p, DAY)[0].severity == "major"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"kind": "flood", "entity_id": "x", "at_s": 0}, "not one of"),
        ({"kind": "gas_leak", "entity_id": "x"}, "exactly one of at_s"),
        ({"kind": "gas_leak", "entity_id": "x", "at_s": 0, "lel": 3}, "lel: Extra inputs"),
        ({"kind": "speeding", "entity_id": "x", "at_s": 0, "speed_kmh": 30}, "greater than 50"),
        ({"kind": "idling", "entity_id": "a:b", "at_s": 0}, "entity_id"),
        ({"kind": "gas_leak", "entity_id": "x", "at_s": 0, "duration_s": 60}, "ramp_s"),
    ],
)
def test_invalid_specs_say_what_is_wrong(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(IncidentError, match=message):
        incident_from_dict(spec)


def test_start_may_be_absolute() -> None:
    inc = incident_from_dict(
        {"kind": "idling", "entity_id": "TR-R001-1", "start": "2026-11-22T10:00:00Z"}
    )
    assert inc.start_time(DAY) == datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def test_unknown_entities_are_refused() -> None:
    p = load_profile("small")
    for spec in (
        {"kind": "gas_leak", "entity_id": "GD-nowhere-1", "at_s": 0},
        {"kind": "cable_fault", "entity_id": "LT-centre-000001", "at_s": 0},  # a light
        {"kind": "speeding", "entity_id": "TR-none", "at_s": 0},
        {"kind": "cold_snap", "entity_id": "atlantis", "at_s": 0},
    ):
        with pytest.raises(IncidentError, match="no "):
            Simulation(p, 1, DAY, [incident_from_dict(spec)])


def test_overlapping_fleet_incidents_are_refused() -> None:
    p = load_profile("small")
    a = incident_from_dict({"kind": "idling", "entity_id": "TR-R001-1", "at_s": 0})
    b = incident_from_dict({"kind": "speeding", "entity_id": "TR-R001-1", "at_s": 60})
    with pytest.raises(IncidentError, match="must not overlap"):
        Simulation(p, 1, DAY, [a, b])
