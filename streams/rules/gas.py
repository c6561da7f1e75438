"""Gas detector rules: gas.lel_high, gas.detector_fault, gas.detector_offline."""

from __future__ import annotations

from cityops.base.thresholds import GasThresholds
from streams.models import Alert, GasDetectorReading, Severity, iso_z
from streams.rules.context import RuleContext
from streams.rules.entity import State, is_stale
from streams.rules.lifecycle import AlertBook, Subject
from streams.rules.offline import fire_offline
from streams.rules.timeutil import from_ms, seconds_ms, to_ms

LEL_HIGH = "gas.lel_high"
FAULT = "gas.detector_fault"
OFFLINE = "gas.detector_offline"
ENTITY_TYPE = "gas_detector"


def evaluate(
    state: State | None,
    event: GasDetectorReading,
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
    th = ctx.thresholds.gas
    book = ctx.book(prev.get("alerts"))
    subject = Subject(ENTITY_TYPE, event.detector_id, event.district, event.lat, event.lon)
    if online and OFFLINE in book.open:
        book.resolve(
            OFFLINE, at, value=None, summary=f"Gas detector {event.detector_id} is reporting again"
        )
    below = _lel_high(book, subject, event, at, th, prev.get("below", 0))
    _fault(book, subject, event, at)
    new: State = {
        **prev,
        "id": event.detector_id,
        "ts": at,
        "district": event.district,
        "lat": event.lat,
        "lon": event.lon,
        "below": below,
        "alerts": book.open,
    }
    return new, book.emitted


def _lel_high(
    book: AlertBook,
    subject: Subject,
    event: GasDetectorReading,
    at: int,
    th: GasThresholds,
    below: int,
) -> int:
    """Fire or escalate on the alarm levels; returns the count of readings below clear."""
    lel = event.lel_pct
    level: Severity | None = None
    if lel >= th.lel_critical_pct:
        level = "critical"
    elif lel >= th.lel_major_pct:
        level = "major"
    current = book.get(LEL_HIGH)
    if level is not None:
        # never de-escalate: the alarm stays at its worst level until it clears
        if current is None or current["severity"] != "critical":
            limit = th.lel_critical_pct if level == "critical" else th.lel_major_pct
            book.fire(
                LEL_HIGH,
                level,
                subject,
                at,
                value=lel,
                threshold=limit,
                summary=(
                    f"Combustible gas at {lel:g}% LEL (alarm level "
                    f"{2 if level == 'critical' else 1}, >= {limit:g}%) at {event.site_type} "
                    f"detector {event.detector_id} in {event.district}"
                ),
            )
        return 0
    if current is None:
        return 0
    below = below + 1 if lel < th.lel_clear_pct else 0
    if below >= th.lel_clear_readings:
        book.resolve(
            LEL_HIGH,
            at,
            value=lel,
            summary=(
                f"Gas back below {th.lel_clear_pct:g}% LEL for {below} readings at detector "
                f"{event.detector_id} ({lel:g}% now)"
            ),
        )
        return 0
    return below


def _fault(book: AlertBook, subject: Subject, event: GasDetectorReading, at: int) -> None:
    if event.status == "ok":
        if FAULT in book.open:
            book.resolve(
                FAULT,
                at,
                value=None,
                summary=f"Gas detector {event.detector_id} status is ok again",
            )
        return
    book.fire(
        FAULT,
        "warning",
        subject,
        at,
        value=None,
        threshold=None,
        summary=(
            f"Gas detector {event.detector_id} ({event.site_type}, {event.district}) "
            f"reports status {event.status}: its readings cannot be trusted"
        ),
    )


def offline_after_ms(th: GasThresholds) -> int:
    return seconds_ms(th.offline_s)


def offline(state: State, due_ms: int, ctx: RuleContext) -> tuple[State, list[Alert]]:
    """The watermark passed `due_ms` with no newer reading: the detector is offline."""
    th = ctx.thresholds.gas
    return fire_offline(
        state,
        due_ms,
        ctx,
        rule=OFFLINE,
        entity_type=ENTITY_TYPE,
        offline_s=th.offline_s,
        summary=(
            f"No reading from gas detector {state['id']} in {state['district']} for "
            f"{th.offline_heartbeats} heartbeats ({th.offline_s:g} s); "
            f"last at {iso_z(from_ms(state['ts']))}"
        ),
    )
