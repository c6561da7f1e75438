"""The district stage: one `rollups.v1` record per (feed, district, minute), and
`streetlight.lit_rate_low` judged on the merged minute.

Input: the by-district repartition topic (partial roll-ups from every entity
partition, key = district, and closed-window markers) and `alerts.ack.v1` (key =
the alert's entity id: a lit-rate alert's entity is its district, so its
acknowledgement lands on the district's partition). Keyed by district rather than
(feed, district) for that reason: one partition then holds every feed of a
district and the district's lit-rate state.

A (feed, district, minute) is merged and emitted once every source partition has
closed that feed's windows past the minute (`streams.stages.gate`, one channel per
feed), in (bucket, feed, district) order; a partial arriving for a minute
already emitted (only possible after its source declared itself idle) is dropped
and counted.
The streetlight minute then feeds the district's lit-rate rule with its merged
counts, at the minute's last instant (the instant its darkness is judged at).

State per partition: `~merge` (gate, pending partials, what was emitted) and the
rule records `district-lit:<district>`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, MutableMapping, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson

from cityops.base.thresholds import Thresholds
from streams import topics
from streams.models import AlertAck, Rollup
from streams.pipeline import EscalationFallback, Output, RawMessage
from streams.rules.city import CityContext
from streams.rules.engine import RuleEngine
from streams.rules.lit_rate import LIT_RATE_LOW
from streams.rules.timeutil import to_ms
from streams.stages.base import StageOutput, StageTopics
from streams.stages.entity import MARK_KEY
from streams.stages.gate import Gate
from streams.stages.merge import finish, merge
from streams.state import BufferedJsonStore
from streams.validation import decode_model

log = logging.getLogger(__name__)


def _utcnow() -> datetime:
    return datetime.now(UTC)


_MERGE = "~merge"
_FEEDS = tuple(sorted(topics.FEED_NAME.values()))


class DistrictStage:
    name = "district"

    def __init__(
        self,
        names: StageTopics,
        thresholds: Thresholds,
        city: CityContext,
        *,
        runbook_base_url: str,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.names = names
        self.inputs = (names.by_district, names.topic(topics.ALERTS_ACK))
        self.changelog = names.changelog(self.name)
        self.thresholds = thresholds
        self.city = city
        self.runbook_base_url = runbook_base_url
        # the wall clock of escalation's processing-time fallback (tick)
        self.clock = clock or _utcnow

    def task(self, partition: int, state: MutableMapping[bytes, bytes]) -> DistrictTask:
        return DistrictTask(self, partition, state)


class DistrictTask:
    def __init__(
        self, stage: DistrictStage, partition: int, state: MutableMapping[bytes, bytes]
    ) -> None:
        self.stage = stage
        self.partition = partition
        self.store = BufferedJsonStore(state)
        self.engine = RuleEngine(
            stage.thresholds, stage.city, self.store, runbook_base_url=stage.runbook_base_url
        )
        saved = self.store.get(_MERGE) or {}
        self.gate = Gate(stage.names.partitions, saved)
        # "feed|district|bucket end ms" -> {source partition: partial}
        self.pending: dict[str, dict[str, dict[str, Any]]] = saved.get("pending", {})
        # feed -> every minute ending at or before this was emitted
        self.emitted: dict[str, int] = saved.get("emitted", {})
        self.late = int(saved.get("late", 0))
        self.changed = False
        self.fallback = EscalationFallback(self.engine)

    def process(self, messages: Sequence[RawMessage]) -> StageOutput:
        result = StageOutput()
        acks = self.stage.inputs[1]
        for msg in messages:
            if msg.source_topic == acks:
                result.out.extend_from(self._ack(msg))
            else:
                self._receive(msg)
        result.out.extend_from(self._release())
        return result

    def replay_range(self) -> dict[str, tuple[int, int]] | None:
        return None  # the whole state is in the changelog

    def replay(self, messages: Sequence[RawMessage]) -> None:
        raise NotImplementedError("nothing to replay")

    def tick(self) -> StageOutput:
        out = self._release()
        # escalation's processing-time fallback when no more facts come (Processor.tick)
        until = self.fallback.until(
            "streetlight", self.engine.escalation_clock("streetlight"), self.stage.clock()
        )
        if until is not None:
            out.alerts += self.engine.escalate_quiet("streetlight", until)
        return StageOutput(out=out)

    def flush(self) -> None:
        if self.changed:
            self.store[_MERGE] = {
                **self.gate.to_json(),
                "pending": self.pending,
                "emitted": self.emitted,
                "late": self.late,
            }
            self.changed = False
        self.store.flush()

    def _receive(self, msg: RawMessage) -> None:
        try:
            body = orjson.loads(msg.value or b"")
            src = int(body["src"])
            if msg.key == MARK_KEY:
                for feed in body.get("idle", ()):
                    self.gate.set_idle(feed, src)
                for feed in body.get("active", ()):
                    self.gate.set_active(feed, src)
                for feed, closed in body.get("closed", {}).items():
                    self.gate.mark(feed, src, int(closed))
            elif self.gate.accept(src, int(body["seq"])):
                part = body["rollup"]
                # the producer wrote it from a Rollup: parse only the one field needed
                end = to_ms(datetime.fromisoformat(part["bucket_end"]))
                if end <= self.emitted.get(part["feed"], 0):
                    self.late += 1
                    log.warning("a partial roll-up came after its minute was emitted: %s", part)
                else:
                    key = f"{part['feed']}|{part['district']}|{end}"
                    # kept per source and merged in source order at release: float
                    # sums then do not depend on the order the partials arrived in
                    self.pending.setdefault(key, {})[str(src)] = part
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
            log.warning("dropped a malformed record at %d", msg.offset)
            return
        self.changed = True

    def _release(self) -> Output:
        out = Output()
        if not self.pending:
            return out
        horizons = {feed: self.gate.horizon(feed) for feed in _FEEDS}
        ready: list[Rollup] = []
        for key in list(self.pending):
            feed, _district, bucket_end = key.split("|")
            horizon = horizons.get(feed)
            if horizon is not None and int(bucket_end) <= horizon:
                parts = self.pending.pop(key)
                merged: dict[str, Any] = {}
                for src in sorted(parts, key=int):
                    merge(merged, parts[src])
                ready.append(finish(merged))
        if not ready:
            return out
        self.changed = True
        ready.sort(key=lambda r: (r.bucket, r.feed, r.district))
        for rollup in ready:
            end = to_ms(rollup.bucket_end)
            if end > self.emitted.get(rollup.feed, 0):
                self.emitted[rollup.feed] = end
            out.rollups.append(rollup)
            if rollup.feed == "streetlight":
                out.alerts += self.engine.district_counts(
                    rollup.district,
                    rollup.lights_expected_lit or 0,
                    rollup.lights_lit or 0,
                    end - 1,
                )
        return out

    def _ack(self, msg: RawMessage) -> Output:
        ack = decode_model(AlertAck, msg.value) if msg.value is not None else None
        out = Output()
        if isinstance(ack, AlertAck) and ack.alert_id.startswith(f"{LIT_RATE_LOW}:"):
            out.alerts += self.engine.on_ack(ack)
        return out
