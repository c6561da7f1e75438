"""The offline rules' timers: when a device's last reading is older than its feed's
offline threshold by the watermark, its offline rule fires (`streams.rules.gas`,
`streams.rules.heating`).

The due times live in the rule state store's index (`streams.rules.timers`); this
class keeps that index's earliest bucket per feed in memory, as `Escalations` keeps
its own, and turns a watermark into the offline alerts it passes.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from cityops.base.thresholds import Thresholds
from streams.models import Alert
from streams.rules import catalog, gas, heating, timers
from streams.rules.context import RuleContext
from streams.rules.entity import State
from streams.rules.escalation import Escalations


@dataclass(frozen=True, slots=True)
class Offline:
    """An offline rule: fires `after_ms` past an entity's last reading."""

    info: catalog.RuleInfo
    after_ms: int
    fire: Callable[[State, int, RuleContext], tuple[State, list[Alert]]]


def offline_rules(thresholds: Thresholds) -> dict[str, Offline]:
    """The feeds with an offline rule, and the rule of each."""
    return {
        "gas": Offline(catalog.GAS, gas.DEVICE.offline_after_ms(thresholds), gas.offline),
        "heating": Offline(
            catalog.STATION, heating.DEVICE.offline_after_ms(thresholds), heating.offline
        ),
    }


class OfflineTimers:
    """The store is passed to each call, not kept: the engine's store may be replaced
    (a restarted engine resumes on its predecessor's table:
    `test_state_survives_a_new_engine_on_the_same_store`)."""

    def __init__(
        self,
        ctx: RuleContext,
        bucket_ms: int,
        rules: dict[str, Offline],
        escalations: Escalations,
    ) -> None:
        self.ctx = ctx
        self.bucket_ms = bucket_ms
        self.rules = rules
        self._escalations = escalations
        # The earliest offline bucket per feed (None = none filed; absent = not known
        # yet, read from the store once), kept as `Escalations` keeps its own: the
        # index `timers:<feed>` was read, and decoded from the table, for nearly every
        # gas and heating event only to find nothing due (93k decodes per minute of
        # megacity: a read counter on `cityops.bench.processing`, 2026-12-01).
        self._due: dict[str, int | None] = {}

    def arm(self, store: MutableMapping[str, Any], feed: str, entity_id: str, due_ms: int) -> int:
        """`timers.arm` for an offline timer, keeping the earliest bucket known."""
        bucket = timers.arm(store, feed, entity_id, due_ms, self.bucket_ms)
        if feed in self._due:
            known = self._due[feed]
            self._due[feed] = bucket if known is None else min(known, bucket)
        return bucket

    def fire(self, store: MutableMapping[str, Any], feed: str, watermark: int) -> list[Alert]:
        """Fire the offline rule of every device of `feed` whose due time the watermark
        passed (re-filing those that reported since they were filed)."""
        offline = self.rules.get(feed)
        if offline is None:
            return []
        if feed in self._due:
            known = self._due[feed]
            if known is None or known > watermark:
                return []
        alerts: list[Alert] = []
        while (bucket := timers.next_due(store, feed, watermark)) is not None:
            for entity_id in timers.take(store, feed, bucket):
                key = catalog.store_key(offline.info, entity_id)
                state = store.get(key)
                if state is None or state.get("timer") != bucket:
                    continue  # filed elsewhere since: this entry is stale
                due = state["ts"] + offline.after_ms
                if due <= watermark:
                    state, fired = offline.fire(state, due, self.ctx)
                    alerts += fired
                    # re-armed by its next reading, which also resolves the alert
                    state = {**state, "timer": None}
                    if fired:
                        state = self._escalations.arm(feed, key, state)
                else:
                    state = {**state, "timer": self.arm(store, feed, entity_id, due)}
                store[key] = state
        index = store.get(f"timers:{feed}")
        self._due[feed] = int(index[0]) if index else None
        return alerts
