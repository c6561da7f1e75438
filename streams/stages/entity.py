"""The entity stage: partitioned like the feeds (key = entity id).

Per partition: validation (with `key_mismatch`), the per-entity rules, offline
timers and their watermark, and the *partial* 1-minute roll-ups of the entities
that hash to it. What depends on several partitions leaves as records:

- each light report's dark flag for its circuit (`LightFact`) to the
  by-circuit repartition topic, key = circuit id;
- each closed partial roll-up to the by-district repartition topic, key = district;
- watermark markers to *every* partition of those two topics, so the merging
  stages know how far this partition has got: `{"src": p, "wm": ms}` (the
  streetlight watermark: no fact at or after it will be earlier) and
  `{"src": p, "closed": {feed: ms}}` (windows ending at or before it were sent).

Event time is the partition's own: the rules' watermark (`wm:<feed>` in the
partition's state) moves with this partition's events, so no other partition's
speed changes what fires here, and busy partitions fire their own offline alerts
whatever an idle one does (tests/streams/test_stages.py). The one exception is
peer time: a partition that has declared a feed idle (below) takes that feed's
newest event time from the other partitions (`<app>-entity-feed-time`, each
partition's newest per feed, every 5 s of it), so the offline timers of a silent
partition fire while the rest of its feed flows, on the same due times as on one
partition. A whole feed stopping moves no time anywhere: that is
`pipeline.feed_silent` (processing time).

Idleness towards the merging stages is this partition's to declare, since only
it can tell "nothing arrives" from "not processed yet" (`streams.stages.gate`):
a feed of which it has received nothing for `idle_s` of processing time gets an
idle marker `{"src": p, "idle": [feed, ...]}` on both repartition topics, and its
next input of that feed an `{"src": p, "active": [feed]}` before anything else.

Facts carry the partition watermark at their event (`at` clamped up to it), and a
sequence number kept in the partition's state: a partition re-processed after a
crash sends the same facts with the same numbers, and the receivers drop repeats.
The numbers run per stream of records whose order does not depend on how the input
was cut into batches: one for the light facts (one per streetlight event, in input
order) and one per feed for the partial roll-ups (in (bucket, district) order). One
counter for both numbered them in batch order (a batch's facts, then its partials):
re-processed in other batches after a crash, a partial never sent before could take
a number the district stage had already accepted and be dropped as a repeat (short
roll-ups; seed 10 crashing every 5 steps of `tests.fixtures.topology`: 150 of them).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, MutableMapping, Sequence
from dataclasses import KW_ONLY, dataclass
from datetime import datetime, timedelta
from typing import ClassVar

import orjson

from cityops.base.thresholds import Thresholds
from streams import topics
from streams.pipeline import Output, Processor, RawMessage
from streams.plain import decode_plain
from streams.rules.city import CityContext
from streams.rules.engine import RuleEngine
from streams.rules.timeutil import to_ms
from streams.stages import snapshot
from streams.stages.base import Record, StageOutput, StageTopics
from streams.state import BufferedJsonStore
from streams.validation import Rejection, check_key, decode_within
from streams.windows import RollupWindows
from streams.windows.gas import GasAggregator

log = logging.getLogger(__name__)

MARK_KEY = b"~mark"
# Windows are stored whole (pickled) at most once per this many events of the
# partition, not at every checkpoint: on megacity one partition's windows take
# ~1.5 MB and ~1 s to store (measured), so a restore replays up to this many
# source records into the windows instead (~5 us each: decode and add).
SNAPSHOT_EVERY = 100_000
# {"seq": light facts' number, "partial_seq": {feed: n}, "wm": sent streetlight mark,
#  "closed": {feed: ms}, ...}
_META = "~entity"
# Peer time: a partition tells the others its newest event time of a feed when it has
# moved this far since it last did (the offline timers' granularity is
# `engine.timer_bucket_s`, 5 s): P - 1 small records per 5 s of event time and feed.
PEER_TIME_STEP_MS = 5_000
_FEEDS = (*topics.FEED_TOPICS, topics.ALERTS_ACK)
_ORDER = {name: i for i, name in enumerate(_FEEDS)}
_FEED_NAMES = frozenset(topics.FEED_NAME.values())


@dataclass(eq=False)
class EntityStage:
    name: ClassVar[str] = "entity"
    names: StageTopics
    thresholds: Thresholds
    city: CityContext
    _: KW_ONLY
    clock: Callable[[], datetime]
    max_age: timedelta
    max_future: timedelta
    runbook_base_url: str
    idle_s: float
    monotonic: Callable[[], float] = time.monotonic

    def __post_init__(self) -> None:
        self.inputs = (*(self.names.topic(t) for t in _FEEDS), self.names.feed_time)
        self.changelog = self.names.changelog(self.name)

    def task(self, partition: int, state: MutableMapping[bytes, bytes]) -> EntityTask:
        return EntityTask(self, partition, state)


class EntityTask:
    def __init__(
        self, stage: EntityStage, partition: int, state: MutableMapping[bytes, bytes]
    ) -> None:
        self.stage = stage
        self.partition = partition
        self.state = state
        self.store = BufferedJsonStore(state)
        self.engine = RuleEngine(
            stage.thresholds,
            stage.city,
            self.store,
            runbook_base_url=stage.runbook_base_url,
            group_rules=False,
        )
        windows = snapshot.load(state, stage.city) or RollupWindows(stage.city)
        gas = windows.aggregators[topics.GAS_DETECTOR]
        assert isinstance(gas, GasAggregator)
        gas.track_online_ends()
        self.gas: GasAggregator = gas
        self.processor = Processor(
            self.engine,
            windows,
            clock=stage.clock,
            max_age=stage.max_age,
            max_future=stage.max_future,
            partitioned=True,
        )
        self.meta = self.store.get(_META) or {"seq": 0, "wm": None, "closed": {}}
        # source topic -> next offset: processed so far / first seen / at the snapshot
        self.offsets: dict[str, int] = self.meta.setdefault("offsets", {})
        self.first: dict[str, int] = self.meta.setdefault("first", {})
        self.windows_changed = False
        self.since_snapshot = 0
        # a runtime may set `snapshots.runner` (encoding off its thread)
        self.snapshots = snapshot.Snapshots(state, stage.city, partition)
        # processing time of each feed's last input, and the feeds declared idle
        # (not stored: a restarted task gives every feed `idle_s` again)
        self.heard: dict[str, float] = {}
        self.idle: set[str] = set()
        self.resume()
        at = self.meta.get("windows_at")
        self._replay: dict[str, tuple[int, int]] | None = None
        if at is not None:
            gap = {
                t: (at.get(t, self.first.get(t, end)), end)
                for t, end in self.offsets.items()
                if at.get(t, self.first.get(t, end)) < end
            }
            self._replay = gap or None

    # --- StageTask ---
    def process(self, messages: Sequence[RawMessage]) -> StageOutput:
        by_topic: dict[str, list[RawMessage]] = {}
        peer_time = self.stage.names.feed_time
        for msg in messages:
            if msg.source_topic == peer_time:
                self._peer(msg)
            else:
                by_topic.setdefault(msg.topic, []).append(msg)
        result = StageOutput()
        self._heard(by_topic, result)
        for bare in sorted(by_topic, key=_ORDER.__getitem__):
            batch = by_topic[bare]
            source = batch[0].source_topic
            self.first.setdefault(source, batch[0].offset)
            if batch[0].offset > self.offsets.get(source, batch[0].offset):
                # Offsets committed past the stored state (issue 13: Faust's flush).
                log.warning(
                    "partition %d: %s@%d..%d never processed (committed past the state)",
                    self.partition,
                    source,
                    self.offsets[source],
                    batch[0].offset - 1,
                )
            self.offsets[source] = batch[-1].offset + 1
            if bare == topics.ALERTS_ACK:
                result.out.extend_from(self.processor.handle_keyed_acks(batch))
                continue
            out = self.processor.handle_feed(batch)
            self.windows_changed = True
            self.since_snapshot += len(batch)
            result.out.extend_from(out, rollups=False)
            self._facts(result)
            self._partials(out, result)
        self._markers(result)
        self._tell_peers(result, by_topic)
        return result

    def tick(self) -> StageOutput:
        # escalation's processing-time fallback for a silent feed (Processor.tick)
        result = StageOutput(out=self.processor.tick())
        now = self.stage.monotonic()
        quiet = sorted(
            topics.FEED_NAME[bare]
            for bare, heard in self.heard.items()
            if bare not in self.idle and now - heard > self.stage.idle_s
        )
        if quiet:
            self.idle.update(bare for bare in self.heard if topics.FEED_NAME[bare] in quiet)
            self._broadcast(result, {"src": self.partition, "idle": quiet})
        self._catch_up(result)
        return result

    def resume(self) -> None:
        """After a rebalance (and at start): the time partitions spent moving or being
        restored was no silence of their feeds, so every feed's clock starts now."""
        now = self.stage.monotonic()
        self.heard = dict.fromkeys(topics.FEED_TOPICS, now)

    def flush(self) -> None:
        due = self.windows_changed and (
            "windows_at" not in self.meta or self.since_snapshot >= SNAPSHOT_EVERY
        )
        if self.snapshots.flush(self.processor.windows, self.offsets, self.meta, due):
            self.windows_changed = False
            self.since_snapshot = 0
        self.store[_META] = self.meta
        self.store.flush()

    def close(self) -> None:
        """The task is dropped (its partition restored elsewhere or again)."""
        self.snapshots.close()

    def replay_range(self) -> dict[str, tuple[int, int]] | None:
        """Source records [from, to) per topic that the restored windows have not seen
        (they are stored every `SNAPSHOT_EVERY` events, the rules at every checkpoint);
        the runtime hands them to `replay` before any new record."""
        return self._replay

    def replay(self, messages: Sequence[RawMessage]) -> None:
        """Feed already-processed records to the windows only: the rules and the outputs
        have seen them (and the partials they closed were sent and acknowledged)."""
        processor, windows = self.processor, self.processor.windows
        now = self.stage.clock()
        oldest, newest = now - self.stage.max_age, now + self.stage.max_future
        scratch = Output()
        for msg in messages:
            if msg.topic not in topics.FEED_NAME:
                continue
            try:
                # the plainly valid path first, as in processing (`streams.plain`): the
                # same events, ~1.4 instead of ~2-3 µs per record of a restore's replay
                event = decode_plain(msg.topic, msg.value, oldest, newest) or decode_within(
                    msg.topic, msg.value, oldest, newest, self.stage.max_age
                )
                if isinstance(event, Rejection) or check_key(event, msg.key) is not None:
                    continue
                windows.add(msg.topic, event)
                processor._close_after(msg.topic, event.ts, scratch)
            except Exception:  # as in processing: one message never stops the stream
                log.exception(
                    "replaying %s@%d into the windows failed", msg.source_topic, msg.offset
                )
        scratch.rollups.clear()
        self.gas.take_online_ends()  # those partials were sent before the crash
        self._replay = None
        self.windows_changed = True

    # --- inside ---
    def _heard(self, by_topic: dict[str, list[RawMessage]], result: StageOutput) -> None:
        """Input of a feed: its clock restarts, and a feed declared idle is active again
        (said before this batch's facts and partials leave)."""
        now = self.stage.monotonic()
        back: list[str] = []
        for bare in by_topic:
            if bare in self.heard:
                self.heard[bare] = now
                if bare in self.idle:
                    self.idle.discard(bare)
                    back.append(topics.FEED_NAME[bare])
        if back:
            self._broadcast(result, {"src": self.partition, "active": sorted(back)})

    def _broadcast(self, result: StageOutput, marker: dict[str, object]) -> None:
        """One marker to every partition of both repartition topics."""
        names = self.stage.names
        value = orjson.dumps(marker)
        for topic in (names.by_circuit, names.by_district):
            for q in range(names.partitions):
                result.records.append(Record(topic, MARK_KEY, value, q))

    # --- peer time (issue 13, item 2) ---
    def _tell_peers(self, result: StageOutput, by_topic: dict[str, list[RawMessage]]) -> None:
        """This partition's newest event time of the feeds it had input of, to every
        other partition, whenever it moved `PEER_TIME_STEP_MS` since last said."""
        names, p = self.stage.names, self.partition
        if names.partitions == 1:
            return
        told: dict[str, int] = self.meta.setdefault("told", {})
        moved: dict[str, int] = {}
        for bare in by_topic:
            feed = topics.FEED_NAME.get(bare)
            newest = None if feed is None else self.engine.newest(feed)
            if (
                feed is not None
                and newest is not None
                and newest >= told.get(feed, 0) + PEER_TIME_STEP_MS
            ):
                told[feed] = moved[feed] = newest
        if moved:
            value = orjson.dumps({"src": p, "newest": moved})
            for q in range(names.partitions):
                if q != p:
                    result.records.append(Record(names.feed_time, MARK_KEY, value, q))

    def _peer(self, msg: RawMessage) -> None:
        """Another partition's newest event times (kept: the latest per feed and source)."""
        try:
            body = orjson.loads(msg.value or b"")
            src = str(int(body["src"]))
            peers: dict[str, dict[str, int]] = self.meta.setdefault("peers", {})
            for feed, newest in body["newest"].items():
                if feed in _FEED_NAMES and int(newest) > peers.get(feed, {}).get(src, 0):
                    peers.setdefault(feed, {})[src] = int(newest)
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
            log.warning("dropped a malformed feed-time marker at %d", msg.offset)

    def _catch_up(self, result: StageOutput) -> None:
        """A feed this partition has declared idle (nothing of it for `idle_s` while
        running) takes the feed's time from the other partitions: their newest event
        time, as one worker reading every partition would have it. Its offline timers
        then fire (and escalations fall due) as on one partition, on the same due times,
        so the same alert ids; when its input comes back, its own events go on from there
        (later than that time, or late as on one partition). See docs/ARCHITECTURE.md,
        "Idle partitions"."""
        peers: dict[str, dict[str, int]] = self.meta.get("peers", {})
        for bare in sorted(self.idle):
            feed = topics.FEED_NAME[bare]
            times = peers.get(feed)
            if not times:
                continue
            newest = max(times.values())
            own = self.engine.newest(feed)
            if own is not None and newest <= own:
                continue
            alerts = self.engine.catch_up(feed, newest)
            if alerts:
                result.out.alerts += alerts

    def _facts(self, result: StageOutput) -> None:
        facts = self.engine.facts
        if not facts:
            return
        self.engine.facts = []
        topic, p = self.stage.names.by_circuit, self.partition
        # one fact per streetlight event (a third of megacity's): the counter in a local
        seq, dumps, append = int(self.meta["seq"]), orjson.dumps, result.records.append
        for fact in facts:
            seq += 1
            value = dumps({"src": p, "seq": seq, "fact": list(fact)})
            append(Record(topic, fact.circuit_id.encode(), value))
        self.meta["seq"] = seq

    def _partials(self, out: Output, result: StageOutput) -> None:
        topic, p = self.stage.names.by_district, self.partition
        online_ends = self.gas.take_online_ends()
        numbers: dict[str, int] = self.meta.setdefault("partial_seq", {})
        for rollup in out.rollups:
            seq = numbers[rollup.feed] = numbers.get(rollup.feed, 0) + 1
            body = {"src": p, "seq": seq, "rollup": rollup.model_dump(mode="json")}
            if rollup.feed == "gas":
                # what this partition adds to the district's later minutes in which
                # it has no reading of it (streams.stages.district, "Sparse districts")
                ends = online_ends.get((rollup.district, rollup.bucket), {})
                body["online_ends"] = {str(end): n for end, n in sorted(ends.items())}
            value = orjson.dumps(body)
            result.records.append(Record(topic, rollup.district.encode(), value))

    def _markers(self, result: StageOutput) -> None:
        names, p = self.stage.names, self.partition
        wm = self.engine.watermark("streetlight")
        if wm is not None and wm != self.meta["wm"]:
            self.meta["wm"] = wm
            value = orjson.dumps({"src": p, "wm": wm})
            for q in range(names.partitions):
                result.records.append(Record(names.by_circuit, MARK_KEY, value, q))
        windows = self.processor.windows
        closed = {
            topics.FEED_NAME[t]: to_ms(c) for t, c in windows.closed_until.items() if c is not None
        }
        if closed != self.meta["closed"]:
            self.meta["closed"] = closed
            value = orjson.dumps({"src": p, "closed": closed})
            for q in range(names.partitions):
                result.records.append(Record(names.by_district, MARK_KEY, value, q))
