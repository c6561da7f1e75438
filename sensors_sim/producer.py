"""The simulator's producer: records appended to whole Kafka record batches.

Why not `AIOKafkaProducer.send` per record: it costs ~16 µs of CPU per record
(futures, partitioning, the accumulator), against ~2 µs for appending to an
aiokafka `BatchBuilder` (docs/benchmarks.md, "Changelog design, measured").
At the megacity load (15k events/s) per-record sends took the simulator to
~0.5 of a core on a 2-core machine that the worker needs (the 600 s run in
docs/benchmarks.md).

One open batch per (topic, partition). `send` appends; a full batch goes at
once, and a ticker ships every open batch each `linger_s` (aiokafka's
`linger_ms`, done here because whole batches bypass aiokafka's own linger).
`flush` ships what is open and waits for every batch shipped so far: the
broker's acknowledgements, or the first delivery error, raised. Keys go to
partitions as aiokafka's default partitioner puts them (murmur2, as the Java
client; `cityops.base.kafka_send.KeyPartitioner` keeps each device's hash), so
keyed order per entity is the same as with per-record sends.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from typing import Any

from aiokafka import AIOKafkaProducer

from cityops.base.kafka_send import KeyPartitioner
from cityops.base.settings import SIM_LINGER_S

#: How long a record may wait in an open batch (aiokafka's `linger_ms`); the
#: measurements behind it are at `cityops.base.settings.SIM_LINGER_S`.
LINGER_S = SIM_LINGER_S
#: Largest record batch: 1 MiB (~4,000 megacity events) keeps produce requests few.
MAX_BATCH_BYTES = 1024 * 1024


class BatchingProducer:
    """`send` / `flush` over whole record batches of an `AIOKafkaProducer`."""

    def __init__(self, producer: AIOKafkaProducer, *, linger_s: float = LINGER_S) -> None:
        self.producer = producer
        self.linger_s = linger_s
        self._partitioner = KeyPartitioner()  # murmur2 as aiokafka's, hashes kept
        self._partitions: dict[str, list[int]] = {}
        self._open: dict[tuple[str, int], Any] = {}  # (topic, partition) -> BatchBuilder
        self._shipped: list[asyncio.Future[Any]] = []
        self._ticker: asyncio.Task[None] | None = None
        # (topic, partition) -> futures of `send_traced`, resolved by the open batch's ack
        self._traced: dict[tuple[str, int], list[asyncio.Future[float]]] = {}
        self._shipping = asyncio.Lock()

    async def start(self) -> None:
        await self.producer.start()
        self._ticker = asyncio.create_task(self._linger())

    async def stop(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None
        await self.producer.stop()

    async def send_traced(
        self, topic: str, value: bytes, key: bytes, *, timestamp_ms: int, at_once: bool
    ) -> asyncio.Future[float]:
        """`send`, and a future of the wall time (`time.time()`) the broker acknowledged
        the record's batch. `at_once`: ship the batch now instead of after the linger,
        as a real device sends a reading at once (the bench's probes; every other
        record keeps the cheap batching)."""
        await self.send(topic, value, key, timestamp_ms=timestamp_ms)
        partitions = self._partitions[topic]
        slot = (
            topic,
            partitions[0] if len(partitions) == 1 else self._partitioner(key, partitions),
        )
        acked: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._traced.setdefault(slot, []).append(acked)
        if at_once:
            await self._ship(slot)
            # aiokafka's sender task writes the request only while this loop awaits:
            # two turns take a shipped batch to the socket (cityops/base/kafka_loop.py)
            for _ in range(2):
                await asyncio.sleep(0)
        return acked

    async def send(self, topic: str, value: bytes, key: bytes, *, timestamp_ms: int) -> None:
        partitions = self._partitions.get(topic)
        if partitions is None:
            partitions = self._partitions[topic] = sorted(await self.producer.partitions_for(topic))
        partition = partitions[0] if len(partitions) == 1 else self._partitioner(key, partitions)
        slot = (topic, partition)
        builder = self._open.get(slot)
        if builder is None:
            builder = self._open[slot] = self.producer.create_batch()
        if builder.append(key=key, value=value, timestamp=timestamp_ms) is None:
            await self._ship(slot)  # full: send it, start the next one
            builder = self._open[slot] = self.producer.create_batch()
            # an empty batch takes any record; one the broker refuses fails `flush`
            builder.append(key=key, value=value, timestamp=timestamp_ms)

    async def flush(self) -> None:
        """Ship every open batch and wait until all shipped batches are acknowledged."""
        async with self._shipping:  # also waits for a ticker's ship in progress
            for slot in list(self._open):
                await self._ship_locked(slot)
            shipped, self._shipped = self._shipped, []
        await asyncio.gather(*shipped)

    async def _ship(self, slot: tuple[str, int]) -> None:
        # `send_batch` can wait (metadata, a full accumulator) while the ticker, a
        # full batch or `flush` ship too: the lock keeps batches of a partition
        # queued in the order they were opened, so records stay in order.
        async with self._shipping:
            await self._ship_locked(slot)

    async def _ship_locked(self, slot: tuple[str, int]) -> None:
        builder = self._open.pop(slot, None)
        traced = self._traced.pop(slot, ())
        if builder is not None and builder.record_count():
            topic, partition = slot
            delivery = await self.producer.send_batch(builder, topic, partition=partition)
            self._shipped.append(delivery)
            for acked in traced:
                delivery.add_done_callback(functools.partial(_acked, acked))
        else:
            for acked in traced:
                acked.cancel()

    async def _linger(self) -> None:
        while True:
            await asyncio.sleep(self.linger_s)
            for slot in list(self._open):
                await self._ship(slot)


def _acked(acked: asyncio.Future[float], delivery: asyncio.Future[Any]) -> None:
    if acked.done():
        return
    if delivery.cancelled():
        acked.cancel()
    elif (exc := delivery.exception()) is not None:
        acked.set_exception(exc)
    else:
        acked.set_result(time.time())


def batching_producer(
    bootstrap: str, client_id: str = "cityops-simulator", *, linger_s: float = LINGER_S
) -> BatchingProducer:
    return BatchingProducer(
        AIOKafkaProducer(
            bootstrap_servers=bootstrap,
            client_id=client_id,
            acks="all",
            max_batch_size=MAX_BATCH_BYTES,
            max_request_size=4 * MAX_BATCH_BYTES,
        ),
        linger_s=linger_s,
    )
