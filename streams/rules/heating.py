"""Heating station rules: heating.indoor_cold, heating.pressure_drop,
heating.supply_temp_low and heating.station_offline."""

from __future__ import annotations

from cityops.base.thresholds import HeatingThresholds
from streams.models import Alert, HeatingStationReading, iso_z
from streams.rules.context import RuleContext
from streams.rules.entity import State, held_since, is_stale
from streams.rules.lifecycle import AlertBook, Subject
from streams.rules.offline import fire_offline
from streams.rules.timeutil import from_ms, seconds_ms, to_ms

INDOOR_COLD = "heating.indoor_cold"
PRESSURE_DROP = "heating.pressure_drop"
SUPPLY_TEMP_LOW = "heating.supply_temp_low"
OFFLINE = "heating.station_offline"
ENTITY_TYPE = "heating_station"


def evaluate(
    state: State | None,
    event: HeatingStationReading,
    ctx: RuleContext,
    *,
    online: bool = True,
    at_ms: int | None = None,
) -> tuple[State | None, list[Alert]]:
    """`online`: whether the reading proves the device is reporting now; the engine passes
    False for a reading so late that the watermark is already past its own offline due
    time, so that it cannot resolve an offline alert only for it to fire again at once."""
    # `at_ms`: the engine's `to_ms(event.ts)`, worked out once per event
    at = to_ms(event.ts) if at_ms is None else at_ms
    if is_stale(state, at):
        return state, []
    prev = state or {}
    th = ctx.thresholds.heating
    book = ctx.book(prev.get("alerts"))
    subject = Subject(ENTITY_TYPE, event.station_id, event.district, event.lat, event.lon)
    if online and OFFLINE in book.open:
        book.resolve(
            OFFLINE,
            at,
            value=None,
            summary=f"Heating station {event.station_id} is reporting again",
        )
    cold_since = _indoor_cold(book, subject, event, at, th, prev.get("cold_since"))
    samples, ref = _pressure_drop(book, subject, event, at, th, prev)
    _supply_temp_low(book, subject, event, at, th, ctx)
    new: State = {
        **prev,
        "id": event.station_id,
        "ts": at,
        "district": event.district,
        "lat": event.lat,
        "lon": event.lon,
        "cold_since": cold_since,
        "pressures": samples,
        "pressure_ref": ref,
        "alerts": book.open,
    }
    return new, book.emitted


def _indoor_cold(
    book: AlertBook,
    subject: Subject,
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
            subject,
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
    subject: Subject,
    event: HeatingStationReading,
    at: int,
    th: HeatingThresholds,
    prev: State,
) -> tuple[list[list[float]], float | None]:
    """Returns the pressure samples of the window and the pre-drop reference pressure."""
    pressure = event.supply_pressure_mpa
    start = at - seconds_ms(th.pressure_window_s)
    samples = [s for s in prev.get("pressures", []) if s[0] >= start] + [[at, pressure]]
    ref: float | None = prev.get("pressure_ref")
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
            subject,
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
    subject: Subject,
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
            subject,
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


def offline_after_ms(th: HeatingThresholds) -> int:
    return seconds_ms(th.offline_s)


def offline(state: State, due_ms: int, ctx: RuleContext) -> tuple[State, list[Alert]]:
    """The watermark passed `due_ms` with no newer reading: the station is offline."""
    th = ctx.thresholds.heating
    return fire_offline(
        state,
        due_ms,
        ctx,
        rule=OFFLINE,
        entity_type=ENTITY_TYPE,
        offline_s=th.offline_s,
        summary=(
            f"No data from heating station {state['id']} in {state['district']} for "
            f"{th.offline_s / 60:g} min; last at {iso_z(from_ms(state['ts']))}"
        ),
    )
