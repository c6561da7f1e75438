"""streetlight.circuit_outage: a large share of one circuit's lights dark at once.

The circuit's state maps each light seen on it to 1 (dark while it should be
lit) or 0, so the share is over the circuit's known lights. A circuit is judged
only once it has been known for `circuit_settle_s` (one report interval), so a
worker starting up does not call an outage on the first few lights it hears of.
The state changes (and needs writing) only when a light's flag changes, a light
joins or leaves, or the alert changes: most reports leave it as it was.
"""

from __future__ import annotations

from typing import Any

from streams.models import Alert
from streams.rules.context import RuleContext
from streams.rules.entity import State
from streams.rules.lifecycle import Subject
from streams.rules.timeutil import seconds_ms

OUTAGE = "streetlight.circuit_outage"
ENTITY_TYPE = "circuit"


def evaluate(
    state: State | None,
    circuit_id: str,
    light_id: str,
    out: bool | None,
    at_ms: int,
    district: str,
    ctx: RuleContext,
) -> tuple[State | None, list[Alert]]:
    """Record light `light_id` as dark (`out`), lit, or gone from the circuit (None).

    Returns the very same `state` object when nothing changed."""
    prev = state or {}
    th = ctx.thresholds.streetlight
    # the circuit's clock: the newest report it has seen, so a resolution is never
    # stamped before the alert started
    at = max(at_ms, prev.get("ts", at_ms))
    first = prev.get("first", at)
    lights: dict[str, int] = prev.get("lights", {})
    # Copy the circuit's light map only when this report changes it: most do not,
    # and the copy per streetlight event was the circuit rule's largest cost.
    # `changed` rather than comparing the maps afterwards: `==` walks all ~40
    # entries of a circuit on every streetlight event (circuit.evaluate was 7 % of
    # the megacity processing, py-spy on `python -m streams.perf`).
    changed = "lights" not in prev
    if out is None:
        if light_id in lights:
            lights = {k: v for k, v in lights.items() if k != light_id}
            changed = True
    elif lights.get(light_id) != int(out):
        lights = {**lights, light_id: int(out)}
        changed = True
    known = len(lights)
    dark = sum(lights.values())
    share = dark / known if known else 0.0
    settled = at - first >= seconds_ms(th.circuit_settle_s)
    fire = settled and known >= th.circuit_min_lights and share >= th.circuit_outage_ratio
    open_alerts = prev.get("alerts")
    clear = (
        not fire
        and open_alerts is not None
        and OUTAGE in open_alerts
        and share < th.circuit_clear_ratio
    )
    if not (fire or clear):
        # Nothing can fire or resolve (nearly every report): no alert book. Making
        # one per fact, and freeing it, was ~2.5 % of the stages' samples (py-spy,
        # 120 s of megacity, 2026-12-01); the state is as the book would leave it.
        if state is not None and not changed:
            return state, []
        alerts = open_alerts if type(open_alerts) is dict else dict(open_alerts or {})
        return _state(prev, circuit_id, at, first, district, lights, alerts), []
    book = ctx.book(open_alerts)
    if fire:
        book.fire(
            OUTAGE,
            "major",
            Subject(ENTITY_TYPE, circuit_id, district),
            at,
            value=round(share, 4),
            threshold=th.circuit_outage_ratio,
            summary=(
                f"{dark} of {known} streetlights on circuit {circuit_id} ({district}) are dark "
                f"({share:.0%}, >= {th.circuit_outage_ratio:.0%}): likely a cable or cabinet "
                "fault"
            ),
        )
    else:
        book.resolve(
            OUTAGE,
            at,
            value=round(share, 4),
            summary=f"Circuit {circuit_id} restored: {dark} of {known} lights dark",
        )
    if state is not None and not changed and not book.emitted:
        return state, []
    return _state(prev, circuit_id, at, first, district, lights, book.open), book.emitted


def _state(
    prev: State,
    circuit_id: str,
    at: int,
    first: int,
    district: str,
    lights: dict[str, int],
    alerts: dict[str, Any],
) -> State:
    return {
        **prev,
        "id": circuit_id,
        "ts": at,
        "first": first,
        "district": district,
        "lights": lights,
        "alerts": alerts,
    }
