"""fleet.off_route, fleet.geofence_violation, fleet.idle and fleet.speeding."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from streams.models import Event, FleetGpsFix
from tests.fixtures.city import lat_off_route
from tests.fixtures.events import at, truck
from tests.streams.rules.support import Digest, digest, feed, make_engine

OFF_ROUTE = "fleet.off_route"
GEOFENCE = "fleet.geofence_violation"
IDLE = "fleet.idle"
SPEEDING = "fleet.speeding"

IN_ZONE: dict[str, Any] = {"lat": 36.105, "lon": 120.205}
OUT_OF_ZONE: dict[str, Any] = {"lat": 36.12, "lon": 120.205}


def speed(seconds: float, kmh: float) -> FleetGpsFix:
    return truck(seconds=seconds, speed_kmh=kmh)


def away(seconds: float, metres: float, **kw: Any) -> FleetGpsFix:
    return truck(seconds=seconds, lat=lat_off_route(metres), **kw)


def stopped(seconds: float, **kw: Any) -> FleetGpsFix:
    return truck(seconds=seconds, speed_kmh=0.0, **kw)


def zone(seconds: float, load: float, kmh: float = 0.0) -> FleetGpsFix:
    return truck(seconds=seconds, speed_kmh=kmh, load_kg=load, **IN_ZONE)


CASES: list[tuple[str, str, Sequence[Event], list[Digest]]] = [
    (
        "speeding fires above 50 and resolves below 45",
        SPEEDING,
        [speed(0, 40), speed(10, 55), speed(20, 60), speed(30, 48), speed(40, 44)],
        [(SPEEDING, "firing", "warning", at(0, 10)), (SPEEDING, "resolved", "warning", at(0, 40))],
    ),
    (
        "speeding hovering at 50 does not flap",
        SPEEDING,
        [speed(s, 50.5 if s % 20 else 49.5) for s in range(0, 200, 10)],
        [(SPEEDING, "firing", "warning", at(0, 10))],
    ),
    ("speeding: exactly 50 is allowed", SPEEDING, [speed(0, 50)], []),
    (
        "speeding: late fast fix after resolution does not resurrect",
        SPEEDING,
        [speed(0, 60), speed(20, 30), speed(10, 60)],
        [(SPEEDING, "firing", "warning", at(0)), (SPEEDING, "resolved", "warning", at(0, 20))],
    ),
    (
        "speeding reordered: an older slow fix cannot resolve",
        SPEEDING,
        [speed(20, 60), speed(10, 30)],
        [(SPEEDING, "firing", "warning", at(0, 20))],
    ),
    (
        "off route fires after more than 2 min beyond 300 m, resolves within 250 m",
        OFF_ROUTE,
        [away(s, 400) for s in (0, 30, 60, 90, 120, 130)] + [away(140, 280), away(150, 200)],
        [
            (OFF_ROUTE, "firing", "minor", at(0, 130)),
            (OFF_ROUTE, "resolved", "minor", at(0, 150)),
        ],
    ),
    (
        "off route hovering at 300 m does not fire",
        OFF_ROUTE,
        [away(s, 301 if s % 60 else 299) for s in range(0, 600, 30)],
        [],
    ),
    (
        "off route reordered: a late earlier fix does not start the duration early",
        OFF_ROUTE,
        [away(60, 400), away(0, 400), away(150, 400), away(190, 400)],
        [(OFF_ROUTE, "firing", "minor", at(0, 190))],
    ),
    (
        "off route: late far fix after resolution does not resurrect",
        OFF_ROUTE,
        [away(0, 400), away(130, 400), away(200, 0), away(190, 400)],
        [(OFF_ROUTE, "firing", "minor", at(0, 130)), (OFF_ROUTE, "resolved", "minor", at(0, 200))],
    ),
    (
        "off route: an unknown route is not judged",
        OFF_ROUTE,
        [away(s, 5000, route_id="R9") for s in range(0, 600, 30)],
        [],
    ),
    (
        "idle fires after more than 10 min stopped with ignition on, resolves when moving",
        IDLE,
        [stopped(s) for s in range(0, 601, 60)] + [stopped(610), speed(620, 3), speed(630, 20)],
        [(IDLE, "firing", "info", at(0, 610)), (IDLE, "resolved", "info", at(0, 630))],
    ),
    (
        "idle: GPS jitter below 5 km/h neither starts nor ends idling",
        IDLE,
        [speed(0, 3)] + [speed(s, 1.5 if s % 120 else 3.5) for s in range(60, 800, 60)],
        [(IDLE, "firing", "info", at(0, 720))],
    ),
    (
        "idle: ignition off is parked, not idling",
        IDLE,
        [stopped(s, ignition=False) for s in range(0, 1800, 60)],
        [],
    ),
    (
        "idle reordered: a late earlier stop does not start the duration early",
        IDLE,
        [stopped(300), stopped(0), stopped(700), stopped(910)],
        [(IDLE, "firing", "info", at(0, 910))],
    ),
    (
        "geofence fires when the load drops while stopped in a no-dumping zone",
        GEOFENCE,
        [
            zone(0, 2000, kmh=20),
            zone(10, 2000),
            zone(20, 1990),
            zone(30, 1500),
            zone(40, 1400),
            truck(seconds=60, speed_kmh=30, **OUT_OF_ZONE),
        ],
        [
            (GEOFENCE, "firing", "critical", at(0, 30)),
            (GEOFENCE, "resolved", "critical", at(0, 60)),
        ],
    ),
    (
        "geofence: slow unloading adds up",
        GEOFENCE,
        [zone(0, 2000)] + [zone(s, 2000 - s) for s in range(10, 70, 10)],
        [(GEOFENCE, "firing", "critical", at(0, 60))],
    ),
    (
        "geofence: unloading outside a zone is fine",
        GEOFENCE,
        [stopped(0, load_kg=2000), stopped(10, load_kg=200)],
        [],
    ),
    (
        "geofence: loading inside a zone is fine",
        GEOFENCE,
        [zone(0, 1000), zone(10, 1500), zone(20, 1480)],
        [],
    ),
    (
        "geofence: load read while driving through is not a stop",
        GEOFENCE,
        [zone(0, 2000, kmh=20), zone(10, 1000, kmh=20)],
        [],
    ),
    (
        "geofence: a late in-zone drop after leaving does not resurrect",
        GEOFENCE,
        [zone(0, 2000), zone(10, 1000), truck(seconds=30, **OUT_OF_ZONE), zone(20, 500)],
        [
            (GEOFENCE, "firing", "critical", at(0, 10)),
            (GEOFENCE, "resolved", "critical", at(0, 30)),
        ],
    ),
]


@pytest.mark.parametrize(
    ("rule", "events", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_fleet_rule(rule: str, events: Sequence[Event], expected: list[Digest]) -> None:
    assert digest(feed(make_engine(), events), rule) == expected


@pytest.mark.parametrize("events", [c[2] for c in CASES], ids=[c[0] for c in CASES])
def test_duplicate_delivery_changes_nothing(events: Sequence[Event]) -> None:
    assert feed(make_engine(), [e for ev in events for e in (ev, ev)]) == feed(
        make_engine(), events
    )


def test_geofence_alert_names_zone_load_and_place() -> None:
    alerts = feed(make_engine(), [zone(0, 2000), zone(10, 1680)])
    (alert,) = [a for a in alerts if a.rule == GEOFENCE]
    assert (alert.value, alert.threshold) == (320, 50)
    assert (alert.lat, alert.lon, alert.entity_type) == (36.105, 120.205, "truck")
    assert "Z1" in alert.summary and "320 kg" in alert.summary
