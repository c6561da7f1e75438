"""streetlight.lit_rate_low: a district's night lit rate below target for a while.

The district keeps two counters, lights expected lit and lights lit, summed
over each light's latest report (a light's report at night counts as expected;
lit if on or dim without fault). Lights send their change (delta) with every
report, so no light list is kept or scanned. The district's clock is the newest
report time; the rate is judged only while the city is dark.
"""

from __future__ import annotations

from streams.models import Alert
from streams.rules.context import RuleContext
from streams.rules.entity import State, held_since
from streams.rules.lifecycle import Subject
from streams.rules.timeutil import seconds_ms

LIT_RATE_LOW = "streetlight.lit_rate_low"
ENTITY_TYPE = "district"


def evaluate(
    state: State | None,
    district: str,
    delta_expected: int,
    delta_lit: int,
    at_ms: int,
    ctx: RuleContext,
) -> tuple[State, list[Alert]]:
    prev = state or {}
    th = ctx.thresholds.streetlight
    at = max(at_ms, prev.get("ts", at_ms))
    expected = prev.get("expected", 0) + delta_expected
    lit = prev.get("lit", 0) + delta_lit
    book = ctx.book(prev.get("alerts"))
    low_since = prev.get("low_since")
    night = ctx.is_dark(at)
    rate = lit / expected if expected >= th.lit_rate_min_lights else None
    if not night:
        low_since = None
        if LIT_RATE_LOW in book.open:
            book.resolve(
                LIT_RATE_LOW, at, value=rate, summary=f"Daylight in {district}: lit rate not judged"
            )
    elif rate is not None and book.is_open(LIT_RATE_LOW):
        if rate >= th.lit_rate_clear:
            low_since = None
            book.resolve(
                LIT_RATE_LOW,
                at,
                value=round(rate, 4),
                summary=f"Night lit rate in {district} back to {rate:.1%} ({lit}/{expected})",
            )
    elif rate is not None:
        low_since = held_since(low_since, rate < th.lit_rate_min, at)
        if low_since is not None and at - low_since >= seconds_ms(th.lit_rate_window_s):
            book.fire(
                LIT_RATE_LOW,
                "warning",
                Subject(ENTITY_TYPE, district, district),
                at,
                value=round(rate, 4),
                threshold=th.lit_rate_min,
                summary=(
                    f"Night lit rate in {district} is {rate:.1%} ({lit} of {expected} lights "
                    f"lit), below {th.lit_rate_min:.0%} for "
                    f"{(at - low_since) / 60_000:.0f} min"
                ),
            )
    new: State = {
        **prev,
        "id": district,
        "ts": at,
        "expected": expected,
        "lit": lit,
        "low_since": low_since,
        "alerts": book.open,
    }
    return new, book.emitted
