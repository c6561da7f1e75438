"""Firing an offline alert from a stored entity state (gas detectors, heating stations)."""

from __future__ import annotations

from streams.models import Alert
from streams.rules.context import RuleContext
from streams.rules.entity import State
from streams.rules.lifecycle import Subject


def fire_offline(
    state: State,
    due_ms: int,
    ctx: RuleContext,
    *,
    rule: str,
    entity_type: str,
    offline_s: float,
    summary: str,
) -> tuple[State, list[Alert]]:
    """The watermark passed `due_ms` with no newer reading: raise `rule` (warning)."""
    book = ctx.book(state.get("alerts"))
    subject = Subject(entity_type, state["id"], state["district"], state["lat"], state["lon"])
    book.fire(
        rule, "warning", subject, due_ms, value=offline_s, threshold=offline_s, summary=summary
    )
    return {**state, "alerts": book.open}, book.emitted
