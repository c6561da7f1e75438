"""Gas detector rules: gas.lel_high, gas.detector_fault, gas.detector_offline."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cityops.base.thresholds import GasThresholds
from streams.models import GasDetectorReading, Severity, iso_z
from streams.rules.context import RuleContext
from streams.rules.entity import State
from streams.rules.lifecycle import AlertBook, Subject
from streams.rules.offline import Heartbeat
from streams.rules.timeutil import from_ms

LEL_HIGH = "gas.lel_high"
FAULT = "gas.detector_fault"
OFFLINE = "gas.detector_offline"
ENTITY_TYPE = "gas_detector"


def _subject(event: GasDetectorReading) -> Subject:
    """What this entity's alerts are about, built only when a rule fires (a Subject per
    reading was ~1.3 % of the megacity processing, py-spy, 2026-12-01)."""
    return Subject(ENTITY_TYPE, event.detector_id, event.district, event.lat, event.lon)


def _checks(
    book: AlertBook,
    event: GasDetectorReading,
    at: int,
    th: GasThresholds,
    prev: Mapping[str, Any],
    ctx: RuleContext,
    new: State,
) -> None:
    new["below"] = _lel_high(book, event, at, th, prev.get("below", 0))
    _fault(book, event, at)


def _lel_high(
    book: AlertBook,
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
                _subject(event),
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


def _fault(book: AlertBook, event: GasDetectorReading, at: int) -> None:
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
        _subject(event),
        at,
        value=None,
        threshold=None,
        summary=(
            f"Gas detector {event.detector_id} ({event.site_type}, {event.district}) "
            f"reports status {event.status}: its readings cannot be trusted"
        ),
    )


def _offline_summary(state: State, th: GasThresholds) -> str:
    return (
        f"No reading from gas detector {state['id']} in {state['district']} for "
        f"{th.offline_heartbeats} heartbeats ({th.offline_s:g} s); "
        f"last at {iso_z(from_ms(state['ts']))}"
    )


DEVICE = Heartbeat("gas", ENTITY_TYPE, OFFLINE, "Gas detector", _checks, _offline_summary)
evaluate = DEVICE.evaluate
offline = DEVICE.offline
