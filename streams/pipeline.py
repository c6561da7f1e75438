"""The worker's logic, free of I/O: raw messages in, records to send out.

Both worker runtimes, the default `streams.direct` (aiokafka batches) and the
Faust agents of `streams.app`, only decode Kafka's envelope, call this, send what
it returns and count. Everything here runs in tests without a broker.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import KW_ONLY, dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple

from streams import topics
from streams.acklink import ack_entity, check_ack_key
from streams.models import Alert, AlertAck, DeadLetter, Rollup
from streams.plain import decode_plain
from streams.routing import with_routing_labels
from streams.rules.engine import RuleEngine
from streams.rules.timeutil import from_ms
from streams.validation import (
    INVALID_JSON,
    TS_OUT_OF_BOUNDS,
    Rejection,
    check_key,
    decode_model,
    decode_within,
)
from streams.windows import RollupWindows

log = logging.getLogger(__name__)

_FEED_NAME = topics.FEED_NAME

#: Reason code for a valid event the rules or windows failed on (a bug, not bad input).
PROCESSING_ERROR = "processing_error"


class RawMessage(NamedTuple):
    """One Kafka message as the agent received it.

    A named tuple (immutable, like the frozen slotted dataclass it was): built
    once per consumed record, in 0.18 us against the dataclass's 0.72 (its
    `__init__` sets each field through `object.__setattr__`; timeit, 2026-12-01).
    """

    topic: str  # the bare topic name from streams.topics (no prefix)
    source_topic: str  # the topic it was read from, as named in Kafka
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


@dataclass(slots=True)
class Output:
    """What one batch produced, in the order it must be sent."""

    deadletters: list[DeadLetter] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    rollups: list[Rollup] = field(default_factory=list)
    valid: int = 0
    # (feed, seconds from event time to processing) for the latency histogram
    latencies: list[tuple[str, float]] = field(default_factory=list)

    def extend_from(self, other: Output, *, rollups: bool = True) -> None:
        self.deadletters += other.deadletters
        self.alerts += other.alerts
        if rollups:
            self.rollups += other.rollups
        self.latencies += other.latencies
        self.valid += other.valid


class EscalationFallback:
    """When to judge escalations on processing time: a feed whose escalation clock (its
    watermark) has not moved for `escalation.fallback_idle_s` of wall-clock time has
    them judged on that clock plus the wall-clock time since it last moved, so an
    unacknowledged alert escalates even when its feed fell silent (a gateway outage),
    while replays and catch-ups (the clock moving) keep pure event time. The memory is
    deliberately not rule state: a restart only restarts the count."""

    def __init__(self, engine: RuleEngine) -> None:
        self.idle = timedelta(seconds=engine.ctx.thresholds.escalation.fallback_idle_s)
        self._seen: dict[str, tuple[int, datetime]] = {}  # feed -> (clock ms, seen moving)

    def until(self, feed: str, clock_ms: int | None, now: datetime) -> datetime | None:
        """The time to judge `feed`'s escalations on now, or None (not silent long enough)."""
        if clock_ms is None:
            return None
        seen = self._seen.get(feed)
        if seen is None or seen[0] != clock_ms:
            self._seen[feed] = (clock_ms, now)
            return None
        quiet = now - seen[1]
        return from_ms(clock_ms) + quiet if quiet >= self.idle else None


@dataclass(eq=False)
class Processor:
    engine: RuleEngine
    windows: RollupWindows
    _: KW_ONLY
    clock: Callable[[], datetime]
    max_age: timedelta
    max_future: timedelta
    #: The partitioned topology (streams/stages): dead-letter `key_mismatch`, and
    #: close windows after the event that passes their end rather than once per
    #: batch, so what a window holds never depends on where a batch was cut
    #: (results identical whichever worker, restart or batch size).
    partitioned: bool = False

    def __post_init__(self) -> None:
        # feed topic -> the event time at which its next window closes
        self._close_at: dict[str, datetime | None] = {}
        self._fallback = EscalationFallback(self.engine)

    def handle_feed(self, messages: Iterable[RawMessage]) -> Output:
        out = Output()
        now = self.clock()
        # The accepted event-time range, once per batch rather than two datetime
        # sums per event (`decode` would do them per call).
        oldest, newest, max_age = now - self.max_age, now + self.max_future, self.max_age
        touched: set[str] = set()
        partitioned = self.partitioned
        accepted: list[tuple[str, datetime]] = []  # (feed topic, event time)
        # What `_accept` and `_close_after` do, inlined with their lookups hoisted out
        # of the loop: two calls per event less (the loop's own time was ~5 % of the
        # megacity processing, py-spy, 2026-12-01).
        entry, add, close_at = self.engine.entry, self.windows.add, self._close_at
        # the engine's entry of the current run of one feed's events (a batch is one
        # feed's in the worker): the feed's lookups once per run, not per event
        run_topic, on_event = None, None
        valid = 0
        for msg in messages:
            # Nothing a message holds may stop the stream: anything unexpected
            # (a decoder corner case, a rule bug) dead-letters that one message.
            try:
                topic = msg.topic
                result = decode_plain(topic, msg.value, oldest, newest) or decode_within(
                    topic, msg.value, oldest, newest, max_age
                )
                if partitioned and not isinstance(result, Rejection):
                    result = check_key(result, msg.key) or result
                if isinstance(result, Rejection):
                    out.deadletters.append(self._deadletter(result, msg, now))
                    continue
                if topic != run_topic or on_event is None:
                    on_event = entry(topic, result)
                    run_topic = topic
                alerts = on_event(result)
                add(topic, result)
                if alerts:  # rare: spare the usual event a generator
                    out.alerts.extend(with_routing_labels(a, result) for a in alerts)
                valid += 1
                if partitioned:
                    due = close_at.get(topic)
                    if due is None or result.ts >= due:
                        self._close_after(topic, result.ts, out)
            except Exception as exc:
                out.deadletters.append(self._failed(exc, msg, now))
                continue
            accepted.append((topic, result.ts))
            touched.add(topic)
        out.valid += valid
        # Event time to the end of the batch's processing, when its outputs are
        # ready to be sent: one clock read per batch, not one per event.
        if accepted:
            done = self.clock()
            out.latencies = [
                (_FEED_NAME[feed], (done - ts).total_seconds()) for feed, ts in accepted
            ]
        # Close per feed: feeds are consumed by separate agents at different
        # speeds (a backlog after a restart), and one feed's progress must not
        # close another's windows early and drop its events as late.
        for feed in sorted(touched):
            try:
                out.rollups.extend(self.windows.close_ready(feed))
            except Exception:  # a roll-up bug loses that roll-up, never the stream
                log.exception("closing the %s windows failed", feed)
        return out

    def _close_after(self, feed: str, ts: datetime, out: Output) -> None:
        """Close the feed's windows as soon as this event's time passes their end."""
        due = self._close_at.get(feed)
        if due is not None and ts < due:
            return
        windows = self.windows
        out.rollups.extend(windows.close_ready(feed))
        closed = windows.closed_until.get(feed)
        self._close_at[feed] = (
            None if closed is None else closed + windows.window + windows.allowed_lateness
        )

    def handle_keyed_acks(self, messages: Iterable[RawMessage]) -> Output:
        """`handle_acks` of the acknowledgements keyed by their alert's entity id (the
        partitioning key of `alerts.ack.v1`); others are dead-lettered (`key_mismatch`)."""
        good: list[RawMessage] = []
        bad: list[DeadLetter] = []
        now = self.clock()
        for msg in messages:
            entity = ack_entity(msg.value)
            rejection = None if entity is None else check_ack_key(msg.key, entity)
            if rejection is None:
                good.append(msg)  # an undecodable ack is `handle_acks`' to reject
            else:
                bad.append(self._deadletter(rejection, msg, now))
        out = self.handle_acks(good)
        out.deadletters = bad + out.deadletters
        return out

    def handle_acks(self, messages: Iterable[RawMessage]) -> Output:
        out = Output()
        now = self.clock()
        for msg in messages:
            try:
                result = decode_model(AlertAck, msg.value) if msg.value is not None else None
                if result is None:
                    result = Rejection(INVALID_JSON, "empty message")
                elif isinstance(result, AlertAck) and not (
                    now - self.max_age <= result.at <= now + self.max_future
                ):
                    result = Rejection(TS_OUT_OF_BOUNDS, f"ack time {result.at.isoformat()}")
                if isinstance(result, Rejection):
                    out.deadletters.append(self._deadletter(result, msg, now))
                    continue
                assert isinstance(result, AlertAck)
                out.alerts.extend(self.engine.on_ack(result))
                out.valid += 1
            except Exception as exc:
                out.deadletters.append(self._failed(exc, msg, now))
        return out

    def tick(self) -> Output:
        """The processing-time fallback of escalation (`EscalationFallback`), called by
        the runtimes about once a second."""
        out = Output()
        now = self.clock()
        for feed in _FEED_NAME.values():
            until = self._fallback.until(feed, self.engine.escalation_clock(feed), now)
            if until is not None:
                out.alerts.extend(self.engine.escalate_quiet(feed, until))
        return out

    def _failed(self, exc: Exception, msg: RawMessage, now: datetime) -> DeadLetter:
        log.exception("processing failed for %s@%d", msg.source_topic, msg.offset)
        rejection = Rejection(PROCESSING_ERROR, f"{type(exc).__name__}: {exc}")
        return self._deadletter(rejection, msg, now)

    @staticmethod
    def _deadletter(rejection: Rejection, msg: RawMessage, now: datetime) -> DeadLetter:
        return rejection.to_deadletter(
            msg.value or b"", msg.key, msg.source_topic, msg.partition, msg.offset, now
        )
