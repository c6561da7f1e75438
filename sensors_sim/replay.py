"""`cityops replay`: recordings (`sensors_sim.record`) back into Kafka.

Each message goes out with its exact key, value and headers bytes and its original
Kafka timestamp, so event time and the consumers' view of the data are unchanged.
Order: a recording lists each partition in offset order; several files are merged by
timestamp (`heapq.merge` keeps every file's own order), and a message goes to its
recorded partition when the target topic has the recording's partition count (else
its key picks, as every producer's does), so per-key order is preserved.
Pace: `speed` 1 replays the recorded timestamp gaps in real time,
N is N times faster, `None` is as fast as possible.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import KW_ONLY, dataclass, field
from pathlib import Path

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from sensors_sim.record import RecordedMessage, read_recording

#: unacknowledged sends kept before waiting for them (bounds memory, surfaces errors)
_MAX_IN_FLIGHT = 20_000


@dataclass(frozen=True)
class TopicMap:
    """Bare recorded name -> target topic: `prefix` + (renamed name)."""

    prefix: str = ""
    renames: dict[str, str] = field(default_factory=dict)

    def target(self, bare: str) -> str:
        return self.prefix + self.renames.get(bare, bare)


@dataclass
class ReplayPlan:
    files: tuple[Path, ...]
    messages: int = 0
    first_ts: int | None = None
    last_ts: int | None = None
    #: bare topic -> partitions the recording uses (highest partition + 1)
    partitions: dict[str, int] = field(default_factory=dict)

    @property
    def span_s(self) -> float:
        if self.first_ts is None or self.last_ts is None:
            return 0.0
        return (self.last_ts - self.first_ts) / 1000


def plan(files: Sequence[Path]) -> ReplayPlan:
    """One pass over the files: counts and time span (for the progress bar and ETA)."""
    result = ReplayPlan(tuple(files))
    for path in files:
        for msg in read_recording(path):
            result.messages += 1
            ts = msg.timestamp
            result.first_ts = ts if result.first_ts is None else min(result.first_ts, ts)
            result.last_ts = ts if result.last_ts is None else max(result.last_ts, ts)
            known = result.partitions.get(msg.topic, 0)
            result.partitions[msg.topic] = max(known, msg.partition + 1)
    return result


def merged(files: Sequence[Path]) -> Iterator[RecordedMessage]:
    """All files' messages, merged by timestamp; each file keeps its own order."""
    return heapq.merge(*(read_recording(p) for p in files), key=lambda m: m.timestamp)


def parse_speed(text: str) -> float | None:
    """`max` -> None (no pacing); `1`, `10`, `0.5` -> that factor."""
    if text.strip().lower() == "max":
        return None
    try:
        speed = float(text)
    except ValueError:
        raise ValueError(f"speed must be a number or 'max', got {text!r}") from None
    if speed <= 0:
        raise ValueError(f"speed must be > 0, got {text!r}")
    return speed


@dataclass
class ReplayStats:
    sent: int = 0
    per_topic: dict[str, int] = field(default_factory=dict)


Progress = Callable[[ReplayStats], None]


@dataclass(eq=False)
class Replayer:
    bootstrap: str
    plan: ReplayPlan
    topic_map: TopicMap
    _: KW_ONLY
    speed: float | None = None
    create_partitions: int = 1
    stats: ReplayStats = field(default_factory=ReplayStats, init=False)

    async def run(self, on_progress: Progress | None = None) -> ReplayStats:
        partitions = await self._ensure_topics()
        producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap, acks="all", linger_ms=5, max_batch_size=256 * 1024
        )
        await producer.start()
        try:
            await self._send_all(producer, partitions, on_progress)
        finally:
            await producer.stop()
        return self.stats

    async def _ensure_topics(self) -> dict[str, int]:
        """Create missing targets with the recorded partition count; target -> partitions."""
        wanted = {
            self.topic_map.target(bare): max(n, self.create_partitions)
            for bare, n in self.plan.partitions.items()
        }
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap)
        await admin.start()
        try:
            existing = set(await admin.list_topics())
            missing = [NewTopic(t, n, 1) for t, n in wanted.items() if t not in existing]
            if missing:
                with contextlib.suppress(TopicAlreadyExistsError):
                    await admin.create_topics(missing)
            described = await admin.describe_topics(list(wanted))
        finally:
            await admin.close()
        return {d["topic"]: len(d.get("partitions") or ()) for d in described}

    async def _send_all(
        self, producer: AIOKafkaProducer, partitions: dict[str, int], on_progress: Progress | None
    ) -> None:
        in_flight: list[asyncio.Future[object]] = []
        first = self.plan.first_ts
        started = time.monotonic()
        newest: int | None = None
        last_report = 0.0
        for msg in merged(self.plan.files):
            # pace by the newest timestamp so far: a partition's own (possibly
            # non-monotonic) order is never rearranged to fit the clock
            newest = msg.timestamp if newest is None else max(newest, msg.timestamp)
            if self.speed is not None and first is not None:
                due = started + (newest - first) / 1000 / self.speed
                ahead = due - time.monotonic()
                if ahead > 0.002:
                    await asyncio.sleep(ahead)
            target = self.topic_map.target(msg.topic)
            # The recorded partition only where the target has the recording's partition
            # count (then it is the key's own); else the key picks, as the producers
            # do: the worker keeps an entity's state on its key's partition (issue 13).
            recorded = self.plan.partitions.get(msg.topic)
            same = recorded is not None and partitions.get(target) == recorded
            partition = msg.partition if same or msg.key is None else None
            if msg.partition >= partitions.get(target, 0):
                partition = None
            in_flight.append(
                await producer.send(
                    target,
                    msg.value,
                    key=msg.key,
                    partition=partition,
                    timestamp_ms=msg.timestamp,
                    headers=list(msg.headers) or None,
                )
            )
            self.stats.sent += 1
            self.stats.per_topic[target] = self.stats.per_topic.get(target, 0) + 1
            if len(in_flight) >= _MAX_IN_FLIGHT:
                await asyncio.gather(*in_flight)
                in_flight.clear()
            now = time.monotonic()
            if on_progress is not None and now - last_report >= 0.1:
                on_progress(self.stats)
                last_report = now
        await producer.flush()
        await asyncio.gather(*in_flight)
        if on_progress is not None:
            on_progress(self.stats)


def replay(
    bootstrap: str,
    files: Sequence[Path],
    topic_map: TopicMap,
    *,
    speed: float | None = None,
    create_partitions: int = 1,
    on_progress: Progress | None = None,
) -> ReplayStats:
    """Blocking wrapper: plan, then replay every file."""
    replayer = Replayer(
        bootstrap, plan(files), topic_map, speed=speed, create_partitions=create_partitions
    )
    return asyncio.run(replayer.run(on_progress))
