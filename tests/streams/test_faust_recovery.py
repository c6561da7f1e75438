"""The Faust runtime after a rebalance: table recovery restarted by a rebalance that
comes while it runs (`streams/faust_recovery.py`), and a stage task that drops the
records it has applied and reads back those it was not given (`streams/faust_stages.py`,
`Inputs`). Against the real broker: the records read back and the seek that fails
are the real ones."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import MutableMapping, Sequence
from types import SimpleNamespace
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka import TopicPartition as AioTP
from faust.tables.recovery import RebalanceAgain
from faust.tables.recovery import Recovery as FaustRecovery
from faust.types import TP

from cityops.stack.broker import EmbeddedBroker
from streams.faust_recovery import Recovery
from streams.faust_stages import StageRunner, read_ranges
from streams.faust_transport import App
from streams.pipeline import RawMessage
from streams.stages import StageOutput

pytestmark = pytest.mark.integration


def unique_topic(what: str) -> str:
    return f"t{os.getpid()}-{time.monotonic_ns()}.{what}"


async def produce(bootstrap: str, topic: str, n: int) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for i in range(n):
            await producer.send(topic, b"%d" % i, key=b"k", partition=0)
        await producer.flush()
    finally:
        await producer.stop()


class SeekingConsumer:
    """What Faust's aiokafka driver does in `seek_wait` (`_seek_wait`: aiokafka's
    `seek` per partition), over a real aiokafka consumer."""

    def __init__(self, consumer: AIOKafkaConsumer) -> None:
        self.consumer = consumer

    async def seek_wait(self, partitions: dict[TP, int]) -> None:
        for tp, offset in partitions.items():
            self.consumer.seek(AioTP(tp.topic, tp.partition), offset)


def test_a_rebalance_during_recovery_restarts_it_instead_of_seeking_nowhere(
    broker: EmbeddedBroker,
) -> None:
    """`Recovery.on_rebalance` gives a newly assigned changelog partition the offset
    None and sets `signal_recovery_start`; a recovery step that runs on before it
    sees the signal seeks to None, and aiokafka's ValueError is no `RebalanceAgain`."""
    topic = unique_topic("changelog")
    app = App(f"recovery{os.getpid()}", broker=f"kafka://{broker.bootstrap}", store="memory://")
    ours = app.tables.recovery
    assert isinstance(ours, Recovery)
    theirs = FaustRecovery(app, app.tables)
    tp = TP(topic, 0)

    async def seek(recovery: FaustRecovery) -> tuple[str, int]:
        await produce(broker.bootstrap, topic, 3)
        consumer = AIOKafkaConsumer(bootstrap_servers=broker.bootstrap)
        await consumer.start()
        # aiokafka's group-less coordinator raises CancelledError from `stop` if its
        # background task has not run once (seen with this consumer stopped at once).
        await asyncio.sleep(0)
        try:
            consumer.assign([AioTP(topic, 0)])
            consumer.seek(AioTP(topic, 0), 2)
            offsets: Any = {tp: None}  # the new assignment, its offset not built yet
            recovery.signal_recovery_start.set()  # the rebalance that brought it
            try:
                await recovery._seek_offsets(SeekingConsumer(consumer), {tp}, offsets, "active")
                outcome = "sought"
            except RebalanceAgain:
                outcome = "restarted"
            except ValueError as exc:
                outcome = f"ValueError: {exc}"
            return outcome, await consumer.position(AioTP(topic, 0))
        finally:
            await consumer.stop()

    assert asyncio.run(seek(theirs)) == ("ValueError: Offset must be a positive integer", 2)
    assert asyncio.run(seek(ours)) == ("restarted", 2)


def test_a_step_finished_as_the_rebalance_came_does_not_go_on() -> None:
    """The step completes, then the rebalance's listener sets the signal before the
    recovery task resumes: Faust's `_wait` returns and the next step runs on the new
    assignment's half-built offsets."""
    app = App(f"wait{os.getpid()}", broker="kafka://localhost:9", store="memory://")

    async def step_then_rebalance(recovery: FaustRecovery) -> str:
        loop = asyncio.get_running_loop()

        async def step() -> None:
            # lands after the step's completion wakes `wait_first`, before it resumes
            loop.call_soon(loop.call_soon, recovery.signal_recovery_start.set)

        try:
            await recovery._wait(step())
        except RebalanceAgain:
            return "restarted"
        return "went on" + (" (signal set)" if recovery.signal_recovery_start.is_set() else "")

    theirs = asyncio.run(step_then_rebalance(FaustRecovery(app, app.tables)))
    ours = asyncio.run(step_then_rebalance(Recovery(app, app.tables)))
    assert (theirs, ours) == ("went on (signal set)", "restarted")


# --- the stage task's input offsets ----------------------------------------------


class SeenTask:
    """A stage task that records which offsets it was given (state written in flush)."""

    def __init__(self, state: MutableMapping[bytes, bytes], seen: list[int]) -> None:
        self.state = state
        self.seen = seen

    def process(self, messages: Sequence[RawMessage]) -> StageOutput:
        self.seen += [m.offset for m in messages]
        return StageOutput()

    def replay_range(self) -> None:
        return None

    def replay(self, messages: Sequence[RawMessage]) -> None:
        raise AssertionError("nothing to replay")

    def tick(self) -> StageOutput:
        return StageOutput()

    def flush(self) -> None:
        self.state[b"count"] = b"%d" % len(self.seen)


class SeenStage:
    name = "seen"
    changelog = "seen-changelog"

    def __init__(self, topic: str) -> None:
        self.inputs = (topic,)
        self.seen: list[int] = []

    def task(self, partition: int, state: MutableMapping[bytes, bytes]) -> SeenTask:
        return SeenTask(state, self.seen)


class Table:
    """What `PartitionState` uses of a Faust table: the memory store's dict and
    `send_changelog` (here: nowhere; the dict is what a recovery restores)."""

    def __init__(self) -> None:
        self.data = SimpleNamespace(data={})

    def send_changelog(self, partition: int, key: bytes, value: bytes | None) -> None:
        pass

    def _verify_source_topic_partitions(self, topic: str) -> None:
        pass


def test_a_task_drops_what_it_applied_and_reads_back_what_it_was_not_given(
    broker: EmbeddedBroker,
) -> None:
    """After a rebalance Faust delivers from the committed offset (behind the state)
    and may skip records (a seek racing the resumed fetch): measured in the kill
    test's restarted worker, 5-251 records a partition delivered again."""
    topic = unique_topic("in")
    stage = SeenStage(topic)
    table = Table()

    async def no_output(result: StageOutput) -> None:
        pass

    async def read(p: int, ranges: dict[str, tuple[int, int]]) -> list[RawMessage]:
        return await read_ranges(broker.bootstrap, {}, p, ranges)

    def delivered(*offsets: int) -> list[Any]:
        return [
            SimpleNamespace(topic=topic, partition=0, offset=o, key=b"k", value=b"%d" % o)
            for o in offsets
        ]

    async def scenario() -> None:
        await produce(broker.bootstrap, topic, 10)
        runner = StageRunner(stage, table, {}, no_output, read)  # type: ignore[arg-type]
        await runner.run(delivered(0, 1, 2))
        runner.drop()  # a rebalance: the task is rebuilt from the table
        await runner.run(delivered(1, 2, 3))  # from the older committed offset 1
        await runner.run(delivered(7, 8))  # 4..6 never delivered
        runner.drop()
        await runner.run(delivered(8, 9, 9))

    asyncio.run(scenario())
    assert stage.seen == list(range(10))
    assert table.data.data[b"0/count"] == b"10"
