"""Garbage truck rules: fleet.off_route, fleet.geofence_violation, fleet.idle,
fleet.speeding."""

from __future__ import annotations

from cityops.base.thresholds import FleetThresholds
from streams.models import Alert, FleetGpsFix
from streams.rules.context import RuleContext
from streams.rules.entity import State, held_since, is_stale
from streams.rules.lifecycle import AlertBook, Subject
from streams.rules.timeutil import seconds_ms, to_ms

OFF_ROUTE = "fleet.off_route"
GEOFENCE = "fleet.geofence_violation"
IDLE = "fleet.idle"
SPEEDING = "fleet.speeding"
ENTITY_TYPE = "truck"


def _subject(event: FleetGpsFix) -> Subject:
    """What this entity's alerts are about, built only when a rule fires (a Subject per
    reading was ~1.3 % of the megacity processing, py-spy, 2026-12-01)."""
    return Subject(ENTITY_TYPE, event.truck_id, event.district, event.lat, event.lon)


def evaluate(
    state: State | None, event: FleetGpsFix, ctx: RuleContext, *, at_ms: int | None = None
) -> tuple[State | None, list[Alert]]:
    # `at_ms`: the engine's `to_ms(event.ts)`, worked out once per event
    at = to_ms(event.ts) if at_ms is None else at_ms
    if is_stale(state, at):
        return state, []
    prev = state or {}
    th = ctx.thresholds.fleet
    book = ctx.book(prev.get("alerts"))
    _speeding(book, event, at, th)
    off_since = _off_route(book, event, at, th, prev.get("off_since"), ctx)
    idle_since = _idle(book, event, at, th, prev.get("idle_since"))
    zone, zone_load = _geofence(book, event, at, th, prev, ctx)
    new: State = {
        **prev,
        "id": event.truck_id,
        "ts": at,
        "off_since": off_since,
        "idle_since": idle_since,
        "zone": zone,
        "zone_load": zone_load,
        "load": event.load_kg,
        "alerts": book.open,
    }
    return new, book.emitted


def _speeding(book: AlertBook, event: FleetGpsFix, at: int, th: FleetThresholds) -> None:
    speed = event.speed_kmh
    if speed > th.speeding_kmh:
        book.fire(
            SPEEDING,
            "warning",
            _subject(event),
            at,
            value=speed,
            threshold=th.speeding_kmh,
            summary=(
                f"Truck {event.truck_id} (route {event.route_id}, {event.district}) at "
                f"{speed:g} km/h, over the {th.speeding_kmh:g} km/h city limit"
            ),
        )
    elif SPEEDING in book.open and speed < th.speeding_clear_kmh:
        book.resolve(
            SPEEDING,
            at,
            value=speed,
            summary=f"Truck {event.truck_id} back under {th.speeding_clear_kmh:g} km/h",
        )


def _off_route(
    book: AlertBook,
    event: FleetGpsFix,
    at: int,
    th: FleetThresholds,
    since: int | None,
    ctx: RuleContext,
) -> int | None:
    distance = ctx.city.distance_to_route_m(event.route_id, event.lat, event.lon)
    if distance is None:
        # unknown route: nothing to judge against, and no half-measured duration kept
        return None
    if book.is_open(OFF_ROUTE):
        if distance <= th.off_route_clear_m:
            book.resolve(
                OFF_ROUTE,
                at,
                value=round(distance, 1),
                summary=f"Truck {event.truck_id} back on route {event.route_id}",
            )
            return None
        return since
    since = held_since(since, distance > th.off_route_m, at)
    if since is not None and at - since > seconds_ms(th.off_route_s):
        book.fire(
            OFF_ROUTE,
            "minor",
            _subject(event),
            at,
            value=round(distance, 1),
            threshold=th.off_route_m,
            summary=(
                f"Truck {event.truck_id} is {distance:.0f} m from its route {event.route_id} "
                f"({event.district}), more than {th.off_route_m:g} m for "
                f"{(at - since) / 1000:.0f} s"
            ),
        )
    return since


def _idle(
    book: AlertBook,
    event: FleetGpsFix,
    at: int,
    th: FleetThresholds,
    since: int | None,
) -> int | None:
    moving = not event.ignition or event.speed_kmh > th.moving_speed_kmh
    if moving:
        if IDLE in book.open:
            book.resolve(
                IDLE, at, value=event.speed_kmh, summary=f"Truck {event.truck_id} no longer idling"
            )
        return None
    stopped = event.speed_kmh <= th.stop_speed_kmh
    # between the stop and moving speeds (GPS jitter) an idle period neither starts nor ends
    if since is None and not stopped:
        return None
    since = held_since(since, True, at)
    assert since is not None
    if at - since > seconds_ms(th.idle_s):
        book.fire(
            IDLE,
            "info",
            _subject(event),
            at,
            value=round((at - since) / 60_000, 1),
            threshold=th.idle_s / 60,
            summary=(
                f"Truck {event.truck_id} ({event.district}) idling with the engine on for "
                f"{(at - since) / 60_000:.0f} min (> {th.idle_s / 60:g} min)"
            ),
        )
    return since


def _geofence(
    book: AlertBook,
    event: FleetGpsFix,
    at: int,
    th: FleetThresholds,
    prev: State,
    ctx: RuleContext,
) -> tuple[str | None, float | None]:
    """Returns the zone the truck is in and the most it carried while stopped there."""
    zone = ctx.city.no_dumping_zone_at(event.lat, event.lon)
    if zone is None:
        if GEOFENCE in book.open:
            book.resolve(
                GEOFENCE,
                at,
                value=event.load_kg,
                summary=f"Truck {event.truck_id} has left the no-dumping zone",
            )
        return None, None
    if event.speed_kmh > th.stop_speed_kmh:
        return zone, None
    # the load when the stop began (or the most since), so slow unloading adds up
    before = prev.get("zone_load") if prev.get("zone") == zone else None
    # a fix taken just before stopping counts as the load carried into the stop
    if before is None and prev.get("zone") == zone:
        before = prev.get("load")
    peak = max(event.load_kg, before) if before is not None else event.load_kg
    dropped = round(peak - event.load_kg, 3)
    if dropped > th.dump_drop_kg:
        book.fire(
            GEOFENCE,
            "critical",
            _subject(event),
            at,
            value=dropped,
            threshold=th.dump_drop_kg,
            summary=(
                f"Truck {event.truck_id} (route {event.route_id}) unloaded {dropped:g} kg of "
                f"{event.waste_kind} waste while stopped in no-dumping zone {zone} "
                f"({event.district})"
            ),
        )
    return zone, peak
