"""The rule engine: routes events and acknowledgements to the pure rules and keeps
all their state in one mutable mapping (a dict in tests, the runtime's state table in
the worker: `streams.state`).

Store keys (all values plain JSON):
- `gas:<detector_id>`, `light:<light_id>`, `heating:<station_id>`, `truck:<truck_id>`:
  one entity's state and its open alerts;
- `circuit:<circuit_id>`, `district-lit:<district>`: the streetlight group rules;
- `wm:<feed>`: the feed's newest event time and watermark;
- `timers:<feed>`, `timer:<feed>:<bucket ms>`: the offline due-time index (`timers`,
  fired by `offline_timers`);
- `timers:esc.<feed>`, `timer:esc.<feed>:<bucket ms>`: the escalation due-time index, of
  the store keys above (an entity's escalation schedule lives in its own alert records,
  `esc_at`, and the key it is filed under in `esc_timer`, like `timer` for offline).

Escalations are judged on the watermark of the feed the entity belongs to, like the
offline timers; `escalate_quiet` is the processing-time fallback for a silent feed.

Each event costs a read and a write of its own entity key and of `wm:<feed>`;
streetlight events also touch their district, and read their circuit (written
only when a light's dark flag changes). Nothing scans all entities.
"""

from __future__ import annotations

from collections.abc import Iterable, MutableMapping, Sequence
from datetime import datetime
from functools import partial
from typing import Any, NamedTuple

from cityops.base.thresholds import Thresholds
from streams import topics
from streams.models import (
    Alert,
    AlertAck,
    Event,
    StreetlightStatus,
)
from streams.rules import catalog, circuit, lit_rate, streetlight
from streams.rules.city import CityContext
from streams.rules.context import RuleContext
from streams.rules.entity import is_stale
from streams.rules.escalation import Escalations
from streams.rules.feed_entry import Entry, build_entry
from streams.rules.lifecycle import parse_alert_id
from streams.rules.offline_timers import OfflineTimers, offline_rules
from streams.rules.timeutil import seconds_ms, to_ms

#: The watermark record of each feed, `wm:<feed>`, built once rather than per event.
_WM_KEYS = {feed: f"wm:{feed}" for feed in topics.FEED_NAME.values()}
_NO_CONTRIB = (0, 0)

#: Keys read far more often than written (a circuit by each of its lights, a
#: district, the feeds' watermarks and timer indexes), and bounded by the city's
#: size rather than its device count: the store may keep them decoded
#: (`BufferedJsonStore(keep_decoded=...)`).
GROUP_KEY_PREFIXES = (
    f"{catalog.CIRCUIT.store_prefix}:",
    f"{catalog.DISTRICT.store_prefix}:",
    "wm:",
    "timers:",
)


class LightFact(NamedTuple):
    """One light's dark flag for its circuit (`out` None = the light left the circuit)."""

    circuit_id: str
    light_id: str
    out: bool | None
    at: int
    district: str


class RuleEngine:
    def __init__(
        self,
        thresholds: Thresholds,
        city: CityContext,
        store: MutableMapping[str, Any],
        *,
        runbook_base_url: str,
        group_rules: bool = True,
    ) -> None:
        self.ctx = RuleContext(thresholds, city, runbook_base_url)
        self.store = store
        #: False in the partitioned topology (streams/stages): the circuit and
        #: district rules run in their own stages, keyed by circuit and district,
        #: so a light's report leaves a `LightFact` in `facts` instead of touching
        #: `circuit:`/`district-lit:` keys that other partitions share.
        self.group_rules = group_rules
        self.facts: list[LightFact] = []
        self._lateness_ms = seconds_ms(thresholds.engine.allowed_lateness_s)
        self._bucket_ms = max(1, seconds_ms(thresholds.engine.timer_bucket_s))
        self._escalations = Escalations(store, self.ctx, self._bucket_ms)
        # The circuit and district stages have no feed watermark: their facts and merged
        # roll-ups arrive in event-time order, released once every partition passed
        # them, so the newest one's time is their escalation clock (in memory: after a
        # restart it starts again with the next fact).
        self._group_at: int | None = None
        # Each feed's `wm:<feed>` record, this engine's own dict (read from the store
        # once, like the timers' earliest buckets): updated in place and written back
        # when it moves, instead of a store read in `watermark` and another plus a new
        # dict in `_advance_feed` per event (0.8 µs of a gas event, timeit, 2026-12-01).
        self._marks: dict[str, dict[str, Any]] = {}
        self._offline = offline_rules(thresholds)
        self._timers = OfflineTimers(self.ctx, self._bucket_ms, self._offline, self._escalations)
        self._entries: dict[str, Entry] = {}

    # --- public API ---

    def on_event(self, feed_topic: str, event: Event) -> list[Alert]:
        """Apply one valid reading of `feed_topic` (a bare name from `streams.topics`)."""
        return self._entry(feed_topic, event)(event)

    def entry(self, feed_topic: str, event: Event | None = None) -> Entry:
        """`on_event` of `feed_topic` as a function of the event alone, for a run of
        that feed's events (`streams.rules.feed_entry`: its lookups made once)."""
        if type(self).on_event is not RuleEngine.on_event:
            # a subclass's own `on_event` (a test's failing engine) is honoured
            return partial(self.on_event, feed_topic)
        return self._entry(feed_topic, event)

    def _entry(self, feed_topic: str, event: Event | None) -> Entry:
        found = self._entries.get(feed_topic)
        if found is None:
            if feed_topic not in topics.FEED_NAME:
                what = "None" if event is None else type(event).__name__
                raise ValueError(f"{what} is not an event of feed {feed_topic!r}")
            found = self._entries[feed_topic] = build_entry(self, feed_topic)
        return found

    def on_ack(self, ack: AlertAck) -> list[Alert]:
        """firing -> acknowledged (or -> resolved, for `action` resolve where the rule
        allows it); [] for an unknown, resolved or superseded alert."""
        parsed = parse_alert_id(ack.alert_id)
        if parsed is None:
            return []
        rule, entity_id, started_ms = parsed
        info = catalog.RULES.get(rule)
        if info is None:
            return []
        key = catalog.store_key(info, entity_id)
        state = self.store.get(key)
        if not state or rule not in state.get("alerts", {}):
            return []
        book = self.ctx.book(state["alerts"])
        if ack.action == "resolve":
            current = book.get(rule)
            if rule not in catalog.MANUAL_RESOLVE or current is None:
                return []
            if current["started"] != started_ms:
                return []  # another incarnation: the link was for an alert already gone
            note = f": {ack.note}" if ack.note else ""
            book.resolve(
                rule, to_ms(ack.at), value=None, summary=f"Resolved by hand by {ack.by}{note}"
            )
        else:
            book.acknowledge(rule, started_ms, to_ms(ack.at))
        if book.emitted:
            self.store[key] = {**state, "alerts": book.open}
        return book.emitted

    def advance(self, watermark: datetime) -> list[Alert]:
        """Move every feed's watermark to at least `watermark` (as given: no lateness is
        subtracted) and fire the offline timers it passes. For a worker whose feed has
        gone quiet, where event time alone would never move on."""
        alerts: list[Alert] = []
        for feed in self._offline:
            alerts += self._advance_feed(feed, watermark=to_ms(watermark))
        return alerts

    def catch_up(self, feed: str, newest_ms: int) -> list[Alert]:
        """Move the feed's newest event time to at least `newest_ms` (its watermark
        follows, lateness subtracted, as for an event at that time) and fire what that
        passes. For a partition of a feed that receives nothing while the feed's other
        partitions move on (`streams.stages.entity`, "peer time")."""
        return self._advance_feed(feed, max_ts=newest_ms)

    def newest(self, feed: str) -> int | None:
        """The feed's newest event time seen, in epoch ms (None before any)."""
        record = self._marks.get(feed) or self._mark_record(feed)
        return None if record is None or record["max_ts"] is None else int(record["max_ts"])

    def escalate_quiet(self, feed: str, until: datetime) -> list[Alert]:
        """The processing-time fallback: escalate what is due by `until` on a feed whose
        watermark has stopped (a silent feed), without moving the watermark itself (so
        offline timers and windows still wait for event time). The caller judges
        silence (`streams.pipeline.Processor.tick`)."""
        return self._escalations.fire(feed, to_ms(until))

    def watermark(self, feed: str) -> int | None:
        """The feed's watermark in epoch ms (None before its first event)."""
        record = self._marks.get(feed) or self._mark_record(feed)
        return None if record is None else int(record["watermark"])

    def _mark_record(self, feed: str) -> dict[str, Any] | None:
        """The feed's watermark record as stored (None before its first event), copied
        into `_marks`: the store's decoded value may be shared (`keep_decoded`)."""
        stored = self.store.get(_WM_KEYS.get(feed) or f"wm:{feed}")
        if stored is None:
            return None
        record = self._marks[feed] = dict(stored)
        return record

    # --- per feed (gas, heating and fleet: `streams.rules.feed_entry`) ---

    def _on_light(self, event: StreetlightStatus, at: int, mark: int | None) -> list[Alert]:
        """`mark`: the streetlight watermark before this event."""
        key = catalog.store_key(catalog.LIGHT, event.light_id)
        prev = self.store.get(key)
        if is_stale(prev, at):
            return []
        state, alerts = streetlight.evaluate(prev, event, self.ctx, at_ms=at)
        assert state is not None
        if alerts:
            state = self._escalations.arm("streetlight", key, state)
        self.store[key] = state
        old = prev or {}
        if not self.group_rules:
            # Clamped up to the partition's watermark: the circuit stage releases
            # facts in event-time order once every partition's watermark passed
            # them, so a fact must never be earlier than the watermark already sent.
            fact_at = at if mark is None or at >= mark else mark
            if old.get("circuit") not in (None, event.circuit_id):
                self.facts.append(
                    LightFact(old["circuit"], event.light_id, None, fact_at, old["district"])
                )
            self.facts.append(
                LightFact(event.circuit_id, event.light_id, state["out"], fact_at, event.district)
            )
            return alerts
        if old.get("circuit") not in (None, event.circuit_id):
            alerts += self._circuit(old["circuit"], event.light_id, None, at, old["district"])
        alerts += self._circuit(event.circuit_id, event.light_id, state["out"], at, event.district)
        # district: every report, because the lit-rate duration runs on the district's clock
        expected, lit = old.get("contrib", _NO_CONTRIB)
        if old.get("district") not in (None, event.district):
            alerts += self._district(old["district"], -expected, -lit, at)
            expected, lit = 0, 0
        new_expected, new_lit = state["contrib"]
        alerts += self._district(event.district, new_expected - expected, new_lit - lit, at)
        return alerts

    def circuit_fact(self, fact: LightFact) -> list[Alert]:
        """Apply one light fact to its circuit."""
        return self.circuit_facts((fact,))

    def circuit_facts(self, facts: Iterable[Sequence[Any]]) -> list[Alert]:
        """Apply light facts to their circuits in order, as `circuit_fact` one by one (the
        circuit stage's entry point: one call per release, not per fact): each a
        `LightFact` or a sequence of its fields in that order."""
        # A call per fact, a `LightFact` per fact and `_group_clock`'s call were ~1.5 %
        # of the stages' samples besides the rule itself (py-spy, 120 s of megacity).
        alerts: list[Alert] = []
        circuit_rule, escalations = self._circuit, self._escalations
        for circuit_id, light_id, out, at, district in facts:
            fired = circuit_rule(circuit_id, light_id, out, at, district)
            if fired:
                alerts += fired
            group_at = self._group_at
            if group_at is None or at > group_at:
                self._group_at = at
                escalated = escalations.fire("streetlight", at)
                if escalated:
                    alerts += escalated
        return alerts

    def _group_clock(self, at: int, alerts: list[Alert]) -> list[Alert]:
        """Move the group stages' escalation clock to `at`; fire what it passes."""
        if self._group_at is not None and at <= self._group_at:
            return alerts
        self._group_at = at
        escalated = self._escalations.fire("streetlight", at)
        return alerts + escalated if escalated else alerts

    def escalation_clock(self, feed: str) -> int | None:
        """What escalations of `feed` are judged on: its watermark, or in the circuit
        and district stages (no watermark) the newest fact's time."""
        mark = self.watermark(feed)
        if mark is None and feed == "streetlight":
            return self._group_at
        return mark

    def district_counts(self, district: str, expected: int, lit: int, at: int) -> list[Alert]:
        """Judge a district's lit rate on absolute counts (the district stage's entry
        point: one merged 1-minute roll-up)."""
        prev = self.store.get(catalog.store_key(catalog.DISTRICT, district)) or {}
        alerts = self._district(
            district, expected - prev.get("expected", 0), lit - prev.get("lit", 0), at
        )
        return self._group_clock(at, alerts)

    def _circuit(
        self, circuit_id: str, light_id: str, out: bool | None, at: int, district: str
    ) -> list[Alert]:
        key = catalog.store_key(catalog.CIRCUIT, circuit_id)
        prev = self.store.get(key)
        state, alerts = circuit.evaluate(prev, circuit_id, light_id, out, at, district, self.ctx)
        if alerts:
            assert state is not None
            state = self._escalations.arm("streetlight", key, state)
        if state is not prev:  # most reports change nothing: spare the changelog a write
            self.store[key] = state
        return alerts

    def _district(self, district: str, d_expected: int, d_lit: int, at: int) -> list[Alert]:
        key = catalog.store_key(catalog.DISTRICT, district)
        state, alerts = lit_rate.evaluate(
            self.store.get(key), district, d_expected, d_lit, at, self.ctx
        )
        if alerts:
            state = self._escalations.arm("streetlight", key, state)
        self.store[key] = state
        return alerts

    # --- watermarks and offline timers ---

    def _advance_feed(
        self, feed: str, *, max_ts: int | None = None, watermark: int | None = None
    ) -> list[Alert]:
        record = self._marks.get(feed) or self._mark_record(feed)
        old_newest, old_mark = (
            (None, None) if record is None else (record["max_ts"], record["watermark"])
        )
        # max() of the candidates that are set, without building lists per event
        newest = old_newest
        if max_ts is not None and (newest is None or max_ts > newest):
            newest = max_ts
        mark = old_mark
        if newest is not None:
            behind = newest - self._lateness_ms
            if mark is None or behind > mark:
                mark = behind
        if watermark is not None and (mark is None or watermark > mark):
            mark = watermark
        if mark is None:
            return []
        if newest != old_newest or mark != old_mark:
            if record is None:
                record = self._marks[feed] = {"max_ts": newest, "watermark": mark}
            else:
                record["max_ts"], record["watermark"] = newest, mark
            # written again after each change: the write is what marks the key changed
            self.store[_WM_KEYS.get(feed) or f"wm:{feed}"] = record
            escalated = self._escalations.fire(feed, mark)
            if escalated:
                return self._timers.fire(self.store, feed, mark) + escalated
        return self._timers.fire(self.store, feed, mark)
