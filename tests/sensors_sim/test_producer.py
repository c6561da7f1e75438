"""BatchingProducer against the real broker: linger, full batches, errors."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiokafka.errors import KafkaError

from sensors_sim.producer import BatchingProducer, batching_producer
from tests.fixtures.pipeline import read_topic


async def _ensure(bootstrap: str, topic: str) -> None:
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 1, 1)])
    finally:
        await admin.close()


@pytest.mark.integration
def test_the_ticker_ships_open_batches_without_a_flush(broker: Any, topic_prefix: str) -> None:
    topic = f"{topic_prefix}linger"

    async def scenario() -> None:
        await _ensure(broker.bootstrap, topic)
        producer = batching_producer(broker.bootstrap)
        await producer.start()
        try:
            for i in range(10):
                await producer.send(topic, b"v%d" % i, b"k%d" % i, timestamp_ms=1_000 + i)
            # no flush: only the linger ticker can have sent them
            for _ in range(200):
                await asyncio.sleep(0.05)
                if not producer._open:
                    break
            assert not producer._open, "the ticker never shipped the open batch"
            await producer.flush()
        finally:
            await producer.stop()

    asyncio.run(scenario())
    records = read_topic(broker.bootstrap, topic)
    assert [(r.key, r.value, r.timestamp) for r in records] == [
        (b"k%d" % i, b"v%d" % i, 1_000 + i) for i in range(10)
    ]


@pytest.mark.integration
def test_full_batches_go_out_whole_and_in_order(broker: Any, topic_prefix: str) -> None:
    topic = f"{topic_prefix}full"
    value = b"x" * 100_000  # ~10 per 1 MiB batch: 35 records fill 3 batches and start a 4th

    async def scenario() -> None:
        await _ensure(broker.bootstrap, topic)
        producer = BatchingProducer(batching_producer(broker.bootstrap).producer, linger_s=60)
        await producer.start()
        try:
            for i in range(35):
                await producer.send(topic, value, b"%d" % i, timestamp_ms=i)
            assert len(producer._shipped) == 3  # shipped when full, not by the ticker
            await producer.flush()
        finally:
            await producer.stop()

    asyncio.run(scenario())
    assert [r.key for r in read_topic(broker.bootstrap, topic)] == [b"%d" % i for i in range(35)]


class _Batch:
    def __init__(self) -> None:
        self.records: list[bytes] = []

    def append(self, *, key: bytes, value: bytes, timestamp: int) -> object:
        self.records.append(value)
        return object()

    def record_count(self) -> int:
        return len(self.records)


class _RefusingProducer:
    """An AIOKafkaProducer whose batches the broker refuses (Tansu accepts them all)."""

    async def partitions_for(self, topic: str) -> set[int]:
        return {0}

    def create_batch(self) -> _Batch:
        return _Batch()

    async def send_batch(self, builder: _Batch, topic: str, *, partition: int) -> Any:
        refused: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        refused.set_exception(KafkaError("refused"))
        return refused


def test_a_refused_delivery_fails_the_flush() -> None:
    async def scenario() -> None:
        producer = BatchingProducer(_RefusingProducer())  # type: ignore[arg-type]
        await producer.send("t", b"v", b"k", timestamp_ms=0)
        with pytest.raises(KafkaError, match="refused"):
            await producer.flush()
        assert not producer._shipped  # a later flush does not raise the same error again

    asyncio.run(scenario())


@pytest.mark.integration
def test_a_traced_record_at_once_leaves_without_the_linger(broker: Any, topic_prefix: str) -> None:
    topic = f"{topic_prefix}at-once"

    async def scenario() -> None:
        await _ensure(broker.bootstrap, topic)
        # a 60 s linger: only `at_once` can ship the record within the test
        producer = BatchingProducer(batching_producer(broker.bootstrap).producer, linger_s=60)
        await producer.start()
        try:
            await producer.send(topic, b"before", b"k", timestamp_ms=1)
            acked = await producer.send_traced(topic, b"probe", b"k", timestamp_ms=2, at_once=True)
            await producer.send(topic, b"after", b"k", timestamp_ms=3)
            at = await asyncio.wait_for(acked, 30)
            assert isinstance(at, float) and at > 0
            assert list(producer._open) == [(topic, 0)]  # "after" still lingers
            # traced without at_once: acknowledged when its batch goes (here: the flush)
            later = await producer.send_traced(topic, b"late", b"k", timestamp_ms=4, at_once=False)
            assert not later.done()
            await producer.flush()
            assert (await asyncio.wait_for(later, 30)) >= at
        finally:
            await producer.stop()

    asyncio.run(scenario())
    # the batch shipped at once held what was open before it: order per key kept
    values = [r.value for r in read_topic(broker.bootstrap, topic)]
    assert values == [b"before", b"probe", b"after", b"late"]


@pytest.mark.integration
def test_the_linger_comes_from_the_settings(broker: Any) -> None:
    from pydantic import ValidationError

    from cityops.base.settings import Settings
    from sensors_sim.simulate import kafka_producer

    async def build() -> float:
        producer = kafka_producer(broker.bootstrap, Settings(sim_linger_s=0.5).sim_linger_s)
        assert isinstance(producer, BatchingProducer)
        await producer.start()
        await producer.stop()
        return producer.linger_s

    assert asyncio.run(build()) == 0.5
    with pytest.raises(ValidationError, match="sim_linger_s"):
        Settings(sim_linger_s=10)
