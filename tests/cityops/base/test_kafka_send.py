"""cityops/base/kafka_send.py: `BatchSender` and `KeyPartitioner` put keyed records
where aiokafka's default partitioner does, with the kept hashes cold, full or cleared."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiokafka.partitioner import DefaultPartitioner

from cityops.base.kafka_send import BatchSender, KeyPartitioner, Out


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


def test_keyed_records_go_where_the_default_partitioner_puts_them() -> None:
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
    for _ in range(2):  # cold, then with the hashes kept
        assert _sent(producer, sender, records) == want
    assert producer.asked == ["facts", "one"], "partitions are asked once per topic"


@pytest.mark.parametrize("max_keys", [1, 5, 1000])
def test_key_partitioner_answers_as_the_default_one(max_keys: int) -> None:
    partitioner = KeyPartitioner(max_keys)
    default = DefaultPartitioner()
    keys = [f"gd-{i:06d}".encode() for i in range(300)] + [b"", b"\xff" * 9]
    for parts in ([0, 1, 2, 3], [0, 1, 2, 3, 4, 5, 6], [3, 5, 9]):
        for key in keys * 2:
            assert partitioner(key, parts) == default(key, parts, parts), (key, parts)
        assert len(partitioner.hashes) <= max_keys
    assert partitioner(None, [4, 7]) in (4, 7)


def test_urgent_topics_go_first_through_their_own_producer() -> None:
    main = _Producer({"facts": {0, 1}, "alerts": {0, 1}})
    urgent = _Producer({"facts": {0, 1}, "alerts": {0, 1}})
    sender = BatchSender(main, urgent, frozenset({"alerts"}))  # type: ignore[arg-type]
    records = [Out("facts", b"f%d" % i, b"v%d" % i) for i in range(20)]
    records += [Out("alerts", b"a%d" % i, b"alert%d" % i) for i in range(6)]
    order: list[str] = []

    async def run() -> None:
        for send in await sender.sends(records):
            before = sum(map(len, urgent.sent.values()))
            await send()
            order.append("urgent" if sum(map(len, urgent.sent.values())) > before else "main")

    asyncio.run(run())
    assert {t for t, _ in urgent.sent} == {"alerts"} and {t for t, _ in main.sent} == {"facts"}
    assert sorted(v or b"" for recs in urgent.sent.values() for _, v in recs) == sorted(
        b"alert%d" % i for i in range(6)
    )
    assert sum(map(len, main.sent.values())) == 20
    # every alert run is started before any other run
    assert order == sorted(order, key=lambda who: who != "urgent") and "main" in order


def test_without_an_urgent_producer_every_record_takes_the_one_producer() -> None:
    main = _Producer({"facts": {0}, "alerts": {0}})
    sender = BatchSender(main, None, frozenset({"alerts"}))  # type: ignore[arg-type]
    sent = _sent(main, sender, [Out("facts", b"k", b"f"), Out("alerts", b"k", b"a")])
    assert sent == {("facts", 0): [(b"k", b"f")], ("alerts", 0): [(b"k", b"a")]}
