"""Per-light rules: streetlight.dark and streetlight.day_burning.

The light's state also records what the group rules need from it: `out`
(dark while it should be lit, for streetlight.circuit_outage) and `contrib`
([expected lit, lit], for a district's lit rate). The engine passes changes of
those on to `circuit` and `lit_rate`.
"""

from __future__ import annotations

from streams.models import Alert, StreetlightStatus
from streams.rules.context import RuleContext
from streams.rules.entity import State, held_since, is_stale
from streams.rules.lifecycle import AlertBook, Subject
from streams.rules.timeutil import seconds_ms, to_ms

DARK = "streetlight.dark"
DAY_BURNING = "streetlight.day_burning"
ENTITY_TYPE = "streetlight"


def _subject(event: StreetlightStatus) -> Subject:
    """What this entity's alerts are about, built only when a rule fires (a Subject per
    reading was ~1.3 % of the megacity processing, py-spy, 2026-12-01)."""
    return Subject(ENTITY_TYPE, event.light_id, event.district, event.lat, event.lon)


def is_lit(event: StreetlightStatus) -> bool:
    # a fault of any kind (even comm) means nobody can vouch that it is lit
    return event.power_state in ("on", "dim") and event.fault is None


def evaluate(
    state: State | None, event: StreetlightStatus, ctx: RuleContext, *, at_ms: int | None = None
) -> tuple[State | None, list[Alert]]:
    # `at_ms`: the engine's `to_ms(event.ts)`, worked out once per event
    at = to_ms(event.ts) if at_ms is None else at_ms
    if is_stale(state, at):
        return state, []
    prev = state or {}
    book = ctx.book(prev.get("alerts"))
    night = ctx.is_dark(at, event.ts)
    lit = is_lit(event)
    out = night and not lit
    _dark(book, event, at, out=out, night=night)
    burn_since = _day_burning(book, event, at, night, prev.get("burn_since"), ctx)
    new: State = {
        **prev,
        "id": event.light_id,
        "ts": at,
        "district": event.district,
        "circuit": event.circuit_id,
        "out": out,
        "contrib": [int(night), int(night and lit)],
        "burn_since": burn_since,
        "alerts": book.open,
    }
    return new, book.emitted


def _dark(book: AlertBook, event: StreetlightStatus, at: int, *, out: bool, night: bool) -> None:
    if out:
        why = f"fault {event.fault}" if event.fault else f"power {event.power_state}"
        book.fire(
            DARK,
            "minor",
            _subject(event),
            at,
            value=event.power_w,
            threshold=None,
            summary=(
                f"Streetlight {event.light_id} (circuit {event.circuit_id}, {event.district}) "
                f"is dark while it should be lit: {why}"
            ),
        )
    elif DARK in book.open:
        reason = "is lit again" if night else "no longer needs to be lit (daylight)"
        book.resolve(
            DARK, at, value=event.power_w, summary=f"Streetlight {event.light_id} {reason}"
        )


def _day_burning(
    book: AlertBook,
    event: StreetlightStatus,
    at: int,
    night: bool,
    since: int | None,
    ctx: RuleContext,
) -> int | None:
    limit_s = ctx.thresholds.streetlight.day_burning_s
    burning = not night and event.power_state in ("on", "dim")
    since = held_since(since, burning, at)
    if since is None:
        if DAY_BURNING in book.open:
            why = "switched off" if not night else "night fell"
            book.resolve(DAY_BURNING, at, value=0.0, summary=f"Streetlight {event.light_id} {why}")
        return None
    minutes = (at - since) / 60_000
    if at - since > seconds_ms(limit_s):
        book.fire(
            DAY_BURNING,
            "info",
            _subject(event),
            at,
            value=round(minutes, 1),
            threshold=limit_s / 60,
            summary=(
                f"Streetlight {event.light_id} ({event.district}) has been {event.power_state} "
                f"in daylight for {minutes:.0f} min (> {limit_s / 60:g} min): wasted energy"
            ),
        )
    return since
