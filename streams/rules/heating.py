"""Heating station rules: heating.indoor_cold, heating.pressure_drop,
heating.supply_temp_low and heating.station_offline."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cityops.base.thresholds import HeatingThresholds
from streams.models import HeatingStationReading, iso_z
from streams.rules.context import RuleContext
from streams.rules.entity import State, held_since
from streams.rules.lifecycle import AlertBook, Subject
from streams.rules.offline import Heartbeat
from streams.rules.timeutil import from_ms, seconds_ms

INDOOR_COLD = "heating.indoor_cold"
PRESSURE_DROP = "heating.pressure_drop"
SUPPLY_TEMP_LOW = "heating.supply_temp_low"
OFFLINE = "heating.station_offline"
ENTITY_TYPE = "heating_station"


def _subject(event: HeatingStationReading) -> Subject:
    """What this entity's alerts are about, built only when a rule fires (a Subject per
    reading was ~1.3 % of the megacity processing, py-spy, 2026-12-01)."""
    return Subject(ENTITY_TYPE, event.station_id, event.district, event.lat, event.lon)


def _checks(
    book: AlertBook,
    event: HeatingStationReading,
    at: int,
    th: HeatingThresholds,
    prev: Mapping[str, Any],
    ctx: RuleContext,
    new: State,
) -> None:
    new["cold_since"] = _indoor_cold(book, event, at, th, prev.get("cold_since"))
    new["pressures"], new["pressure_ref"] = _pressure_drop(
        book, event, at, th, prev.get("pressures", []), prev.get("pressure_ref")
    )
    _supply_temp_low(book, event, at, th, ctx)


def _indoor_cold(
    book: AlertBook,
    event: HeatingStationReading,
    at: int,
    th: HeatingThresholds,
    since: int | None,
) -> int | None:
    indoor = event.indoor_temp_c
    if book.is_open(INDOOR_COLD):
        if indoor >= th.indoor_clear_c:
            book.resolve(
                INDOOR_COLD,
                at,
                value=indoor,
                summary=f"Indoor temperature at station {event.station_id} back to {indoor:g} °C",
            )
            return None
        return since
    since = held_since(since, indoor < th.indoor_min_c, at)
    if since is not None and at - since >= seconds_ms(th.indoor_cold_s):
        book.fire(
            INDOOR_COLD,
            "major",
            _subject(event),
            at,
            value=indoor,
            threshold=th.indoor_min_c,
            summary=(
                f"Indoor temperature served by heating station {event.station_id} "
                f"({event.district}) has been below {th.indoor_min_c:g} °C for "
                f"{(at - since) / 60_000:.0f} min ({indoor:g} °C now)"
            ),
        )
    return since


def _pressure_drop(
    book: AlertBook,
    event: HeatingStationReading,
    at: int,
    th: HeatingThresholds,
    samples: list[list[float]],
    ref: float | None,
) -> tuple[list[list[float]], float | None]:
    """Given the stored samples and reference, returns the pressure samples of the window
    and the pre-drop reference pressure."""
    pressure = event.supply_pressure_mpa
    start = at - seconds_ms(th.pressure_window_s)
    samples = [s for s in samples if s[0] >= start] + [[at, pressure]]
    if book.is_open(PRESSURE_DROP):
        if ref is None or pressure >= ref - th.pressure_recover_mpa:
            book.resolve(
                PRESSURE_DROP,
                at,
                value=pressure,
                summary=(
                    f"Supply pressure at station {event.station_id} recovered to {pressure:g} MPa"
                ),
            )
            return samples, None
        return samples, ref
    peak = max(s[1] for s in samples)
    # rounded: 0.6 - 0.5 is 0.09999999999999998 in binary floating point
    drop = round(peak - pressure, 6)
    if drop > th.pressure_drop_mpa:
        book.fire(
            PRESSURE_DROP,
            "critical",
            _subject(event),
            at,
            value=drop,
            threshold=th.pressure_drop_mpa,
            summary=(
                f"Supply pressure at heating station {event.station_id} ({event.district}) fell "
                f"{drop:g} MPa within {th.pressure_window_s / 60:g} min ({peak:g} -> "
                f"{pressure:g} MPa): possible burst pipe"
            ),
        )
        return samples, peak
    return samples, None


def _supply_temp_low(
    book: AlertBook,
    event: HeatingStationReading,
    at: int,
    th: HeatingThresholds,
    ctx: RuleContext,
) -> None:
    curve = ctx.city.min_supply_temp_c(event.enterprise_id, event.outdoor_temp_c)
    supply = event.supply_temp_c
    if supply < curve:
        book.fire(
            SUPPLY_TEMP_LOW,
            "minor",
            _subject(event),
            at,
            value=supply,
            threshold=round(curve, 2),
            summary=(
                f"Supply temperature at heating station {event.station_id} "
                f"({event.enterprise_id}, {event.district}) is {supply:g} °C, below the "
                f"{curve:.1f} °C the curve asks for at {event.outdoor_temp_c:g} °C outdoors"
            ),
        )
    elif SUPPLY_TEMP_LOW in book.open and supply >= curve + th.supply_temp_margin_c:
        book.resolve(
            SUPPLY_TEMP_LOW,
            at,
            value=supply,
            summary=f"Supply temperature at station {event.station_id} back on the curve",
        )


def _offline_summary(state: State, th: HeatingThresholds) -> str:
    return (
        f"No data from heating station {state['id']} in {state['district']} for "
        f"{th.offline_s / 60:g} min; last at {iso_z(from_ms(state['ts']))}"
    )


DEVICE = Heartbeat("heating", ENTITY_TYPE, OFFLINE, "Heating station", _checks, _offline_summary)
evaluate = DEVICE.evaluate
offline = DEVICE.offline
