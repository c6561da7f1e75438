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

State per partition: `~merge` (gate, pending partials, what was emitted, each
source's latest gas partial per district: `_sparse`) and the rule records
`district-lit:<district>`.
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
        # district -> {source partition: [bucket end ms, known, online_ends]} of the
        # source's latest gas partial of the district (see `_sparse`)
        self.carry: dict[str, dict[str, list[Any]]] = saved.get("carry", {})

    def saved(self) -> dict[str, Any]:
        return {
            "pending": self.pending,
            "emitted": self.emitted,
            "late": self.late,
            "carry": self.carry,
        }

    def _marker(self, body: dict[str, Any], src: int) -> None:
        for feed in body.get("idle", ()):
            self.gate.set_idle(feed, src)
        for feed in body.get("active", ()):
            self.gate.set_active(feed, src)
        for feed, closed in body.get("closed", {}).items():
            self.gate.mark(feed, src, int(closed))

    def _stream(self, body: dict[str, Any]) -> str:
        # a source numbers each feed's partials on their own (streams.stages.entity)
        return str(body["rollup"]["feed"])

    def _record(self, body: dict[str, Any], src: int) -> None:
        part = body["rollup"]
        # the producer wrote it from a Rollup: parse only the one field needed
        end = to_ms(datetime.fromisoformat(part["bucket_end"]))
        if "online_ends" in body:
            part["online_ends"] = body["online_ends"]
        if end <= self.emitted.get(part["feed"], 0):
            self.late += 1
            log.warning("a partial roll-up came after its minute was emitted: %s", part)
            if part["feed"] == "gas":
                self._carry(str(src), end, part)  # still the source's latest
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
        keys: list[tuple[int, str, str]] = []
        for key in self.pending:
            feed, district, bucket_end = key.split("|")
            horizon = horizons.get(feed)
            if horizon is not None and int(bucket_end) <= horizon:
                keys.append((int(bucket_end), feed, district))
        if not keys:
            return out
        ready: list[Rollup] = []
        # in time order: a gas minute counts the sources' latest partials before it
        for end, feed, district in sorted(keys):
            parts = self.pending.pop(f"{feed}|{district}|{end}")
            merged: dict[str, Any] = {}
            for src in sorted(parts, key=int):
                merge(merged, parts[src])
            if feed == "gas":
                self._sparse(merged, district, end, parts)
            ready.append(finish(merged))
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

    def _sparse(
        self, merged: dict[str, Any], district: str, end: int, parts: dict[str, dict[str, Any]]
    ) -> None:
        """Sparse districts: a gas minute also counts the detectors of the district held
        by source partitions that had no reading of it in that minute (and so sent no
        partial). Such a source's detectors are the ones of its latest partial of the
        district: no new one can appear without a reading (which makes a partial); of
        them, known are all (known = ever seen before the end), online those whose last
        heartbeat is still within `ONLINE_WITHIN` of this minute's end, which that partial
        tells as `online_ends` (end ms -> detectors online up to that window end).
        Without this a merged minute missed them (issue 13, item 1; none on the `small`
        profile, where every partition has readings of every district every minute)."""
        carry = self.carry.setdefault(district, {})
        for src, part in parts.items():
            self._carry(src, end, part)
        for src, (_at, known, ends) in carry.items():
            if src in parts:
                continue
            merged["detectors_known"] = merged.get("detectors_known", 0) + known
            online = sum(n for until, n in ends.items() if int(until) >= end)
            merged["detectors_online"] = merged.get("detectors_online", 0) + online

    def _carry(self, src: str, end: int, part: dict[str, Any]) -> None:
        """Remember a source's gas partial of a district if it is its latest."""
        carry = self.carry.setdefault(part["district"], {})
        old = carry.get(src)
        if old is not None and old[0] >= end:
            return
        ends = {u: n for u, n in part.get("online_ends", {}).items() if int(u) > end}
        carry[src] = [end, int(part.get("detectors_known") or 0), ends]


class DistrictStage(MergingStage):
    name = "district"
    task_type = DistrictTask

    def repartition(self) -> str:
        return self.names.by_district
