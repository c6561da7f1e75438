"""The escalation due-time index of one rule-state store (DESIGN.md "Escalation").

An entity's escalation schedule lives in its own alert records (`esc`, `esc_at`:
`streams/rules/lifecycle.py`); this files the entity's store key under the bucket of
its earliest due escalation (`timers:esc.<feed>`, `timer:esc.<feed>:<bucket>`, the
same `timers` index the offline rules use) and the bucket in the entity state
(`esc_timer`), so firing reads only the buckets a clock has passed, never all
entities, and everything partitions and restores with the entity's state.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from streams import topics
from streams.models import Alert
from streams.rules import timers
from streams.rules.context import RuleContext
from streams.rules.entity import State

#: The escalation index of each feed (a `timers` index of store keys).
INDEX = {feed: f"esc.{feed}" for feed in topics.FEED_NAME.values()}


class Escalations:
    def __init__(self, store: MutableMapping[str, Any], ctx: RuleContext, bucket_ms: int) -> None:
        self.store = store
        self.ctx = ctx
        self.bucket_ms = bucket_ms
        # The earliest bucket per feed (None = none filed; absent = not known yet, read
        # from the store once): spares a store read per event, which
        # `test_an_event_does_not_touch_other_entities` budgets.
        self._due: dict[str, int | None] = {}

    def arm(self, feed: str, key: str, state: State) -> State:
        """File the entity under its earliest scheduled escalation (if not filed there)."""
        due = self.ctx.book(state.get("alerts")).next_escalation()
        if due is None:
            return state
        bucket = -(-due // self.bucket_ms) * self.bucket_ms
        if state.get("esc_timer") == bucket:
            return state
        # A filing under another bucket becomes stale (skipped when it fires).
        timers.arm(self.store, INDEX[feed], key, due, self.bucket_ms)
        if feed in self._due:
            known = self._due[feed]
            self._due[feed] = bucket if known is None else min(known, bucket)
        return {**state, "esc_timer": bucket}

    def fire(self, feed: str, clock_ms: int) -> list[Alert]:
        """Escalate every alert of `feed` due by `clock_ms` (a watermark, a fact's time,
        or the processing-time fallback's clock)."""
        index = INDEX.get(feed)
        if index is None:
            return []
        if feed in self._due:
            known = self._due[feed]
            if known is None or known > clock_ms:
                return []
        alerts: list[Alert] = []
        while (bucket := timers.next_due(self.store, index, clock_ms)) is not None:
            for key in timers.take(self.store, index, bucket):
                state = self.store.get(key)
                if state is None or state.get("esc_timer") != bucket:
                    continue  # re-filed or gone since: this entry is stale
                book = self.ctx.book(state.get("alerts"))
                for rule in list(book.open):
                    book.escalate(rule, clock_ms)
                state = self.arm(feed, key, {**state, "alerts": book.open, "esc_timer": None})
                self.store[key] = state
                alerts += book.emitted
        filed = self.store.get(f"timers:{index}")
        self._due[feed] = int(filed[0]) if filed else None
        return alerts
