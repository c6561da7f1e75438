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
from datetime import datetime
from typing import Any

from streams import topics
from streams.models import Rollup
from streams.pipeline import Output
from streams.rules.lit_rate import LIT_RATE_LOW
from streams.rules.timeutil import to_ms
from streams.stages.merge import finish, merge
from streams.stages.merging import MergingStage, MergingTask

log = logging.getLogger(__name__)


_MERGE = "~merge"
_FEEDS = tuple(sorted(topics.FEED_NAME.values()))


class DistrictTask(MergingTask):
    STATE_KEY = _MERGE
    ACK_RULE = LIT_RATE_LOW

    def load(self, saved: dict[str, Any]) -> None:
        # "feed|district|bucket end ms" -> {source partition: partial}
        self.pending: dict[str, dict[str, dict[str, Any]]] = saved.get("pending", {})
        # feed -> every minute ending at or before this was emitted
        self.emitted: dict[str, int] = saved.get("emitted", {})
        self.late = int(saved.get("late", 0))

    def saved(self) -> dict[str, Any]:
        return {"pending": self.pending, "emitted": self.emitted, "late": self.late}

    def _marker(self, body: dict[str, Any], src: int) -> None:
        for feed in body.get("idle", ()):
            self.gate.set_idle(feed, src)
        for feed in body.get("active", ()):
            self.gate.set_active(feed, src)
        for feed, closed in body.get("closed", {}).items():
            self.gate.mark(feed, src, int(closed))

    def _record(self, body: dict[str, Any], src: int) -> None:
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


class DistrictStage(MergingStage):
    name = "district"
    task_type = DistrictTask

    def repartition(self) -> str:
        return self.names.by_district
