"""cityops/base/kafka_send.py: `BatchSender` partitions keyed records as the default
partitioner does, with its key cache full, cleared or cold."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiokafka.partitioner import DefaultPartitioner

from cityops.base import kafka_send
from cityops.base.kafka_send import BatchSender, Out


class _Batch:
    def __init__(self) -> None:
        self.records: list[tuple[bytes | None, bytes | None]] = []

    def append(self, key: bytes | None, value: bytes | None, timestamp: None) -> object:
        self.records.append((key, value))
        return object()


class _Producer:
    """The producer calls of `BatchSender`; a sent batch is kept, not sent."""

    def __init__(self, partitions: dict[str, set[int]]) -> None:
        self.by_topic = partitions
        self.asked: list[str] = []
        self.sent: dict[tuple[str, int], list[tuple[bytes | None, bytes | None]]] = {}

    async def partitions_for(self, topic: str) -> set[int]:
        self.asked.append(topic)
        return self.by_topic[topic]

    def create_batch(self) -> _Batch:
        return _Batch()

    async def send_batch(self, batch: _Batch, topic: str, partition: int) -> asyncio.Future[Any]:
        self.sent.setdefault((topic, partition), []).extend(batch.records)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        future.set_result(None)
        return future


def _sent(producer: _Producer, sender: BatchSender, records: list[Out]) -> dict[Any, Any]:
    async def run() -> None:
        for send in await sender.sends(records):
            await send()

    producer.sent = {}
    asyncio.run(run())
    return producer.sent


@pytest.mark.parametrize("cache_keys", [3, 100_000])
def test_keyed_records_go_where_the_default_partitioner_puts_them(
    monkeypatch: pytest.MonkeyPatch, cache_keys: int
) -> None:
    monkeypatch.setattr(kafka_send, "PARTITION_CACHE_KEYS", cache_keys)
    producer = _Producer({"facts": {0, 1, 2, 3}, "one": {0}})
    sender = BatchSender(producer)  # type: ignore[arg-type]
    keys = [f"circuit-{i % 17}".encode() for i in range(200)]
    records = [Out("facts", k, b"v%d" % i) for i, k in enumerate(keys)]
    records += [Out("one", b"x", b"y"), Out("facts", b"k", b"pinned", 2)]
    default = DefaultPartitioner()
    want: dict[tuple[str, int], list[tuple[bytes | None, bytes | None]]] = {}
    for rec in records:
        p = rec.partition
        if p is None:
            p = 0 if rec.topic == "one" else default(rec.key, [0, 1, 2, 3], [0, 1, 2, 3])
        want.setdefault((rec.topic, p), []).append((rec.key, rec.value))
    assert len(want) > 2, "the keys must spread over several partitions"
    for _ in range(2):  # cold, then with the cache filled (or cleared) by the first
        assert _sent(producer, sender, records) == want
    assert len(sender.by_key["facts"]) <= cache_keys
    assert producer.asked == ["facts", "one"], "partitions are asked once per topic"
