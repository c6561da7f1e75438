"""The worker's logic, free of I/O: raw messages in, records to send out.

The Faust agents (`streams.app`) only decode Kafka's envelope, call this, send
what it returns and count. Everything here runs in tests without a broker.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from streams import topics
from streams.models import Alert, AlertAck, DeadLetter, Event, Rollup
from streams.rules.engine import RuleEngine
from streams.validation import Rejection, decode, decode_model
from streams.windows import RollupWindows


@dataclass(frozen=True, slots=True)
class RawMessage:
    """One Kafka message as the agent received it."""

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


class Processor:
    def __init__(
        self,
        engine: RuleEngine,
        windows: RollupWindows,
        *,
        clock: Callable[[], datetime],
        max_age: timedelta,
        max_future: timedelta,
        window_lateness: timedelta = timedelta(seconds=10),
    ) -> None:
        self.engine = engine
        self.windows = windows
        self.clock = clock
        self.max_age = max_age
        self.max_future = max_future
        self.window_lateness = window_lateness
        self._max_ts: dict[str, datetime] = {}

    def handle_feed(self, messages: Iterable[RawMessage]) -> Output:
        out = Output()
        now = self.clock()
        touched: set[str] = set()
        for msg in messages:
            result = decode(
                msg.topic, msg.value, now, max_age=self.max_age, max_future=self.max_future
            )
            if isinstance(result, Rejection):
                out.deadletters.append(self._deadletter(result, msg, now))
                continue
            self._accept(msg.topic, result, out, now)
            touched.add(msg.topic)
        for feed in touched:
            out.rollups.extend(self.windows.close_until(self._max_ts[feed] - self.window_lateness))
        return out

    def _accept(self, feed: str, event: Event, out: Output, now: datetime) -> None:
        out.valid += 1
        out.latencies.append((topics.FEED_NAME[feed], (now - event.ts).total_seconds()))
        latest = self._max_ts.get(feed)
        if latest is None or event.ts > latest:
            self._max_ts[feed] = event.ts
        out.alerts.extend(self.engine.on_event(feed, event))
        self.windows.add(feed, event)

    def handle_acks(self, messages: Iterable[RawMessage]) -> Output:
        out = Output()
        now = self.clock()
        for msg in messages:
            if msg.value is None:
                out.deadletters.append(
                    self._deadletter(Rejection("invalid_json", "empty message"), msg, now)
                )
                continue
            result = decode_model(AlertAck, msg.value)
            if isinstance(result, Rejection):
                out.deadletters.append(self._deadletter(result, msg, now))
                continue
            assert isinstance(result, AlertAck)
            out.valid += 1
            out.alerts.extend(self.engine.on_ack(result))
        return out

    @staticmethod
    def _deadletter(rejection: Rejection, msg: RawMessage, now: datetime) -> DeadLetter:
        return rejection.to_deadletter(
            msg.value or b"", msg.key, msg.source_topic, msg.partition, msg.offset, now
        )
