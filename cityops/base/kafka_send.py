"""The send side of the consume loop (`cityops.base.kafka_loop`): records as
record-batch sends, retried with capped backoff until the broker acknowledged.

Records go out as whole record batches per (topic, partition) (`BatchSender`),
not one `producer.send` future per record: 2.0 vs 16.3 us of CPU a record,
measured on Tansu (docs/benchmarks.md). `Deliveries` keeps every send started
since the last checkpoint and retries the refused ones, so the loop commits
offsets only once all of them are acknowledged (acks=all). `Backoff` is the one
retry delay of the loop and of handlers' own outputs (the sink's database, the
notifier's Alertmanager).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from aiokafka.partitioner import murmur2

log = logging.getLogger(__name__)

PRODUCER_BATCH_BYTES = 512 * 1024
PRODUCER_REQUEST_BYTES = 8 * 1024 * 1024
# `BatchSender` hands the producer whole record batches, so lingering batches
# nothing more: it only held a batch's outputs (its alerts) back, and its timer
# can fire only while the loop awaits, i.e. after the next batch's processing.
LINGER_MS = 0
# Retry delays: short first (a deadlock or a failover is over in well under a
# second), capped so a long outage is polled every 10 s.
BACKOFF_FIRST_S = 0.2
BACKOFF_MAX_S = 10.0


class Out(NamedTuple):
    """One record to produce (partition None = the default partitioner, by key)."""

    topic: str
    key: bytes | None
    value: bytes | None
    partition: int | None = None


def new_producer(bootstrap: str, client_id: str) -> AIOKafkaProducer:
    """The loop's producer: acks=all, batches as `BatchSender` builds them."""
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        client_id=client_id,
        acks="all",
        linger_ms=LINGER_MS,
        max_batch_size=PRODUCER_BATCH_BYTES,
        max_request_size=PRODUCER_REQUEST_BYTES,
    )


# A send that can be repeated: returns the future the broker's answer resolves.
Send = Callable[[], Awaitable["asyncio.Future[Any]"]]


# Keys whose hash `KeyPartitioner` keeps before it starts over: more than
# megacity's ~400k devices (the simulator keys by device).
PARTITIONER_KEYS = 1 << 19


class KeyPartitioner:
    """aiokafka's `DefaultPartitioner` (murmur2 of the key, as the Java client; a
    random partition for no key), each key's hash remembered (bounded: cleared
    when full). aiokafka's murmur2 is pure Python: ~2.2 us a key, ~2 % of the
    running worker's samples and ~1/6 of the simulator's CPU per event (py-spy
    and timeit, megacity, 2026-12-01), and a producer's keys repeat (devices,
    circuits, districts)."""

    def __init__(self, max_keys: int = PARTITIONER_KEYS) -> None:
        self.max_keys = max_keys
        self.hashes: dict[bytes, int] = {}

    def __call__(self, key: bytes | None, partitions: list[int]) -> int:
        """The partition of `key` among `partitions` (sorted by id)."""
        if key is None:
            return int(random.choice(partitions))
        h = self.hashes.get(key)
        if h is None:
            if len(self.hashes) >= self.max_keys:
                self.hashes.clear()
            h = self.hashes[key] = murmur2(key) & 0x7FFFFFFF
        return partitions[h % len(partitions)]


class BatchSender:
    """Records as repeatable record-batch sends, one batch per (topic, partition) run."""

    def __init__(
        self,
        producer: AIOKafkaProducer,
        urgent: AIOKafkaProducer | None = None,
        urgent_topics: frozenset[str] = frozenset(),
    ) -> None:
        """`urgent`: a second producer for the records of `urgent_topics` (the worker's
        alerts). aiokafka keeps one produce request in flight per broker, and the
        broker here is one node: an alert's batch waited behind the request before it
        (repartition records, a checkpoint's changelog of several MB) and its answer,
        which the loop reads only after the CPU-bound work that follows. Measured by
        a consumer of alerts.v1 in its own process (megacity, 15,000 events/s):
        alerts reached the broker 0.02-0.37 s after the worker stamped them
        (docs/benchmarks.md, "Third sitting", h14). Its own connection sends at once."""
        self.producer = producer
        self.urgent = urgent
        self.urgent_topics = urgent_topics if urgent is not None else frozenset()
        self.partitioner = KeyPartitioner()
        self.partitions: dict[str, list[int]] = {}

    async def sends(self, records: list[Out]) -> list[Send]:
        grouped: dict[tuple[str, int], list[Out]] = {}
        for rec in records:
            partition = rec.partition
            if partition is None:
                parts = self.partitions.get(rec.topic)
                if parts is None:
                    parts = self.partitions[rec.topic] = sorted(
                        await self.producer.partitions_for(rec.topic)
                    )
                partition = parts[0] if len(parts) == 1 else self.partitioner(rec.key, parts)
            run = grouped.get((rec.topic, partition))
            if run is None:
                run = grouped[rec.topic, partition] = []
            run.append(rec)
        if self.urgent_topics and not self.urgent_topics.isdisjoint(t for t, _ in grouped):
            # urgent runs first: started (and so on their way) before the others
            first = [(tp, r) for tp, r in grouped.items() if tp[0] in self.urgent_topics]
            rest = [(tp, r) for tp, r in grouped.items() if tp[0] not in self.urgent_topics]
            return [self._send(t, p, recs) for (t, p), recs in (*first, *rest)]
        return [self._send(t, p, recs) for (t, p), recs in grouped.items()]

    def _send(self, topic: str, partition: int, records: list[Out]) -> Send:
        producer = self.producer
        if self.urgent is not None and topic in self.urgent_topics:
            producer = self.urgent

        async def send() -> Any:
            futures = []
            builder = producer.create_batch()
            for rec in records:
                if builder.append(key=rec.key, value=rec.value, timestamp=None) is None:
                    futures.append(await producer.send_batch(builder, topic, partition=partition))
                    builder = producer.create_batch()
                    builder.append(key=rec.key, value=rec.value, timestamp=None)
            futures.append(await producer.send_batch(builder, topic, partition=partition))
            return futures[0] if len(futures) == 1 else asyncio.gather(*futures)

        return send


class Backoff:
    """Capped exponential retry delays that wake early on stop: the loop's refused
    sends, and a handler's own outputs in its checkpoint (the sink's database, the
    notifier's Alertmanager)."""

    def __init__(
        self, stop: asyncio.Event, first_s: float = BACKOFF_FIRST_S, max_s: float = BACKOFF_MAX_S
    ) -> None:
        self.stop = stop
        self.delay = first_s
        self.max_s = max_s

    async def wait(self) -> bool:
        """Sleep the current delay (woken early by stop), then double it (capped);
        True when stop is set."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stop.wait(), self.delay)
        self.delay = min(self.delay * 2, self.max_s)
        return self.stop.is_set()


class Deliveries:
    """Sends started since the last checkpoint, and their retry until acknowledged."""

    def __init__(self, stop: asyncio.Event) -> None:
        self.stop = stop
        self.started: list[tuple[Send, asyncio.Future[Any]]] = []

    async def start(self, sends: list[Send]) -> None:
        for send in sends:
            try:
                future = await send()
            except KafkaError as exc:
                log.warning("send failed (%s: %s)", type(exc).__name__, exc)
                future = _failed_future(exc)
            self.started.append((send, future))

    async def settle(self) -> bool:
        """Wait for every started send; retry refused ones. False when stopped first."""
        backoff = Backoff(self.stop)
        while self.started:
            todo, self.started = self.started, []
            results = await asyncio.gather(*(f for _, f in todo), return_exceptions=True)
            failed = [
                s for (s, _), r in zip(todo, results, strict=True) if isinstance(r, BaseException)
            ]
            if not failed:
                return True
            log.warning(
                "%d of %d sends not acknowledged; retrying in %.1f s, offsets not committed",
                len(failed),
                len(todo),
                backoff.delay,
            )
            if self.stop.is_set():
                return False
            await backoff.wait()
            await self.start(failed)
        return True


def _failed_future(exc: BaseException) -> asyncio.Future[Any]:
    future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    future.set_exception(exc)
    return future
