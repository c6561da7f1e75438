"""A small city day with known KPI answers, shared by the storage tests.

Day D = 2026-11-20 (UTC). The expected values below are worked out by hand
from the records, so a wrong view shows up as a wrong number.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from streams.models import (
    Alert,
    Event,
    FleetGpsFix,
    GasDetectorReading,
    HeatingStationReading,
    Rollup,
    StreetlightStatus,
)

D = datetime(2026, 11, 20, tzinfo=UTC)


def at(hour: int, minute: int = 0, second: int = 0, day: int = 0) -> datetime:
    return D + timedelta(days=day, hours=hour, minutes=minute, seconds=second)


def rollup(feed: str, district: str, start: datetime, **fields: Any) -> Rollup:
    return Rollup(
        feed=feed,  # type: ignore[arg-type]
        district=district,
        bucket=start,
        bucket_end=start + timedelta(minutes=1),
        **fields,
    )


def rollups() -> list[Rollup]:
    light = "streetlight"
    return [
        # streetlights, shinan: hour 10 = 300 expected / 293 lit; day D = 400 / 393.
        rollup(light, "shinan", at(10, 0), readings=100, lights_expected_lit=100, lights_lit=99),
        rollup(light, "shinan", at(10, 1), readings=100, lights_expected_lit=100, lights_lit=99),
        rollup(light, "shinan", at(10, 2), readings=100, lights_expected_lit=100, lights_lit=95),
        rollup(light, "shinan", at(11, 0), readings=100, lights_expected_lit=100, lights_lit=100),
        # the next day, a full night: 50 / 50
        rollup(
            light, "shinan", at(0, 0, day=1), readings=50, lights_expected_lit=50, lights_lit=50
        ),
        # gas, shinan, hour 10: known 100+100, online 98+96 -> 0.97; max LEL 30
        rollup(
            "gas",
            "shinan",
            at(10, 0),
            readings=100,
            detectors_reporting=98,
            detectors_known=100,
            detectors_online=98,
            lel_max_pct=12.5,
            detectors_alarming=0,
        ),
        rollup(
            "gas",
            "shinan",
            at(10, 1),
            readings=100,
            detectors_reporting=96,
            detectors_known=100,
            detectors_online=96,
            lel_max_pct=30.0,
            detectors_alarming=1,
        ),
        # heating, licang, hour 10: 10+10 reporting, 9+7 warm -> 0.8; supply mean 81
        rollup(
            "heating",
            "licang",
            at(10, 0),
            readings=10,
            stations_reporting=10,
            stations_warm=9,
            supply_temp_sum_c=800.0,
            return_temp_sum_c=500.0,
            indoor_temp_min_c=17.5,
        ),
        rollup(
            "heating",
            "licang",
            at(10, 1),
            readings=10,
            stations_reporting=10,
            stations_warm=7,
            supply_temp_sum_c=820.0,
            return_temp_sum_c=520.0,
            indoor_temp_min_c=18.2,
        ),
        # fleet, licheng, day D: kitchen 1.5 t, recyclable 0.2 t, other 4 t, hazardous 0.02 t
        rollup(
            "fleet",
            "licheng",
            at(8, 0),
            readings=6,
            trucks_active=2,
            km_travelled=1.5,
            load_kitchen_kg=1000.0,
            load_recyclable_kg=200.0,
            load_other_kg=3000.0,
            load_hazardous_kg=20.0,
        ),
        rollup(
            "fleet",
            "licheng",
            at(9, 30),
            readings=6,
            trucks_active=2,
            km_travelled=2.0,
            load_kitchen_kg=500.0,
            load_recyclable_kg=0.0,
            load_other_kg=1000.0,
        ),
    ]


def alert(
    rule: str,
    entity: str,
    district: str,
    started: datetime,
    state: str,
    updated: datetime,
    resolved: datetime | None = None,
) -> Alert:
    return Alert(
        alert_id=f"{rule}:{entity}:{int(started.timestamp() * 1000)}",
        rule=rule,
        severity="major",
        state=state,  # type: ignore[arg-type]
        entity_type=rule.split(".")[0],
        entity_id=entity,
        district=district,
        lat=36.06,
        lon=120.38,
        started_at=started,
        updated_at=updated,
        resolved_at=resolved,
        value=30.0,
        threshold=25.0,
        summary=f"{rule} on {entity}",
        runbook=f"runbooks/{rule}.md",
    )


def alerts() -> list[Alert]:
    """Lifecycle events, deliberately out of order (the resolved event comes first)."""
    lel, cold = "gas.lel_high", "heating.indoor_cold"
    return [
        alert(lel, "gd-1", "shinan", at(10), "resolved", at(10, 20), at(10, 20)),
        alert(lel, "gd-1", "shinan", at(10), "firing", at(10)),
        alert(lel, "gd-1", "shinan", at(10), "acknowledged", at(10, 5)),
        alert(lel, "gd-2", "shinan", at(11), "firing", at(11)),
        alert(cold, "hs-1", "licang", at(10), "firing", at(10)),
        alert(cold, "hs-1", "licang", at(10), "acknowledged", at(10, 1)),
        alert(cold, "hs-1", "licang", at(10), "resolved", at(10, 31), at(10, 31)),
    ]


def readings(base: datetime = D) -> list[Event]:
    """Two readings of one entity per feed, plus a second detector."""
    out: list[Event] = []
    for i in range(2):
        ts = base + timedelta(hours=10, seconds=60 * i)
        out += [
            GasDetectorReading(
                detector_id="gd-1",
                ts=ts,
                site_type="restaurant",
                district="shinan",
                lat=36.06,
                lon=120.38,
                lel_pct=3.0 + i,
                status="ok",
                battery_pct=90.0,
            ),
            GasDetectorReading(
                detector_id="gd-2",
                ts=ts,
                site_type="pipeline",
                district="shinan",
                lat=36.07,
                lon=120.39,
                lel_pct=0.0,
                status="ok",
                battery_pct=70.0,
            ),
            StreetlightStatus(
                light_id="sl-1",
                ts=ts,
                circuit_id="c-1",
                cabinet_id="cab-1",
                district="shinan",
                lat=36.06,
                lon=120.38,
                power_state="on",
                power_w=95.0,
                voltage_v=229.0,
                fault=None,
            ),
            HeatingStationReading(
                station_id="hs-1",
                enterprise_id="e-1",
                ts=ts,
                district="licang",
                lat=36.16,
                lon=120.43,
                supply_temp_c=80.0,
                return_temp_c=50.0,
                supply_pressure_mpa=0.8,
                return_pressure_mpa=0.3,
                flow_m3h=100.0,
                indoor_temp_c=19.0,
                outdoor_temp_c=-2.0,
            ),
            FleetGpsFix(
                truck_id="tr-1",
                ts=ts,
                route_id="r-1",
                district="licheng",
                lat=24.9,
                lon=118.6,
                speed_kmh=20.0,
                heading_deg=90.0,
                ignition=True,
                load_kg=1000.0 + i,
                waste_kind="kitchen",
            ),
        ]
    return out
