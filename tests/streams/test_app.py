"""The worker against the real broker, and the Faust runtime (`streams/app.py`,
`streams/faust_transport.py`).

Both runtimes: bad input is dead-lettered with the right reason and never stops
the worker; valid input raises alerts.

Issue 13, item 6: after a `kill -9` and restart, Faust's committed offsets
advanced one record per commit interval (duplicate offsets from a gap merged
into the acked list), and Tansu's short ListOffsets answer ended table recovery
before the last changelog batch was applied. Unit tests pin the commit logic
on the state observed in the failing run; the integration tests kill a real
Faust worker on a real Tansu broker mid-run and restart it.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import signal
import threading
import time
from collections.abc import Iterator, MutableMapping, Sequence
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from faust.transport import consumer as faust_consumer
from faust.types import TP
from intervaltree import IntervalTree

from cityops.base.city.profiles import load_profile
from cityops.base.kafka_admin import committed_offsets, ensure_topics
from cityops.base.settings import Settings
from cityops.stack.broker import EmbeddedBroker
from cityops.stack.process import ManagedProcess
from cityops.stack.up import cityops_argv
from sensors_sim.simulation import Simulation
from streams import topics
from streams.faust_stages import PartitionState, StageRunner
from streams.faust_transport import App, Consumer, merge_gaps, next_commit_offset, true_log_ends
from streams.models import Alert, DeadLetter, iso_z
from streams.pipeline import RawMessage
from streams.stages import StageOutput
from tests.fixtures.incidents import (
    DURATION_S,
    Outcome,
    every_rule_incidents,
    expected_outcome,
    morning_start,
    outcome_of,
)
from tests.fixtures.pipeline import (
    log_tail,
    produce,
    read_topic,
    running_pipeline,
    wait_until,
)
from tests.fixtures.scale_out import _alerts as scaled_alerts
from tests.fixtures.scale_out import _scaled as scaled
from tests.fixtures.scale_out import transitions
from tests.fixtures.stack import env_for
from tests.test_scale_out import test_a_killed_single_worker_loses_no_window as single_killed
from tests.test_scale_out import (
    test_two_workers_killed_replaced_and_stopped_change_no_alert as two_workers_disturbed,
)


def gas_event(detector_id: str, ts: datetime, lel: float, **changes: object) -> dict[str, object]:
    event: dict[str, object] = {
        "detector_id": detector_id,
        "ts": iso_z(ts),
        "site_type": "restaurant",
        "district": "central",
        "lat": 36.06,
        "lon": 120.38,
        "lel_pct": lel,
        "status": "ok",
        "battery_pct": 90.0,
    }
    event.update(changes)
    return event


MALFORMED: list[tuple[bytes, str]] = [
    (b"\xff\xfe not utf-8", "undecodable"),
    (b"{not json", "invalid_json"),
    (b"[]", "not_an_object"),
    (b'{"detector_id": "GD-X"}', "missing_field"),
]


@pytest.mark.integration
@pytest.mark.parametrize("runtime", ["direct", "faust"])
def test_worker_dead_letters_bad_input_and_keeps_going(
    stack_settings: Settings, created_topics: list[str], runtime: str
) -> None:
    stack_settings = stack_settings.model_copy(update={"worker_runtime": runtime})
    now = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
    bad = [(b"GD-X", raw) for raw, _ in MALFORMED]
    bad.append((b"GD-Y", orjson.dumps(gas_event("GD-Y", now, 500.0))))  # out of range
    bad.append((b"GD-Z", orjson.dumps(gas_event("GD-Z", now - timedelta(days=30), 1.0))))
    reasons = [r for _, r in MALFORMED] + ["out_of_range", "ts_out_of_bounds"]
    # A leak after the bad input: the worker must still be alive to see it.
    good = [
        (b"GD-1", orjson.dumps(gas_event("GD-1", now + timedelta(seconds=60 * i), lel)))
        for i, lel in enumerate([1.0, 30.0, 55.0])
    ]
    with running_pipeline(stack_settings, parts=("worker",)) as procs:
        asyncio.run(produce(stack_settings, [(topics.GAS_DETECTOR, k, v) for k, v in bad + good]))
        deadletters = wait_until(
            lambda: read_topic(
                stack_settings.kafka_bootstrap or "", stack_settings.topic(topics.DEADLETTER)
            ),
            lambda recs: len(recs) >= len(bad),
            timeout=90,
            what="dead letters",
            procs=procs,
        )
        alerts = wait_until(
            lambda: read_topic(
                stack_settings.kafka_bootstrap or "", stack_settings.topic(topics.ALERTS)
            ),
            lambda recs: len(recs) >= 2,
            timeout=60,
            what="alerts",
            procs=procs,
        )
        assert procs["worker"].poll() is None, "the worker must survive bad input"

    letters = [DeadLetter.model_validate_json(r.value) for r in deadletters]
    assert sorted(d.reason for d in letters) == sorted(reasons)
    originals = {base64.b64decode(d.original_b64) for d in letters}
    assert originals == {value for _, value in bad}
    for d in letters:
        assert d.topic == stack_settings.topic(topics.GAS_DETECTOR)
        assert d.offset >= 0 and d.partition >= 0 and d.message

    fired = [Alert.model_validate_json(r.value) for r in alerts]
    lel = [a for a in fired if a.rule == "gas.lel_high"]
    assert [(a.state, a.severity) for a in lel] == [("firing", "major"), ("firing", "critical")]
    assert all(a.entity_id == "GD-1" for a in lel)


TP0 = TP("gas.detector.v1", 0)


def consumer_state(acked: list[int], gap: list[tuple[int, int]], committed: int) -> Any:
    """What `Consumer._new_offset` reads, as seen in the failing run."""
    return SimpleNamespace(
        _acked={TP0: list(acked)},
        _acked_index={TP0: set(acked)},
        _gap={TP0: IntervalTree.from_tuples(gap)},
        _committed_offset={TP0: committed},
    )


# Observed after a restart (gas feed): 3766..4963 processed and acked, and a
# gap 3767..3782 from `perform_seek` resetting the read offset after the
# stream partitions had been resumed (`faust/tables/recovery.py`).
OBSERVED = (list(range(3766, 4964)), [(3767, 3783)], 3766)


def test_a_gap_over_acked_offsets_commits_the_whole_acked_run() -> None:
    state = consumer_state(*OBSERVED)
    assert Consumer._new_offset(state, TP0) == 4964  # type: ignore[arg-type]
    assert state._acked[TP0] == [] and not state._gap[TP0]
    assert state._acked_index[TP0] == set()


def test_faust_own_merge_advances_one_offset_per_commit() -> None:
    """The Faust 0.15.3 behaviour the subclass replaces (if this starts failing,
    Faust fixed it and `streams.faust_transport.Consumer._new_offset` can go)."""
    state = consumer_state(*OBSERVED)
    commits = []
    for _ in range(3):
        offset = faust_consumer.Consumer._new_offset(state, TP0)  # type: ignore[arg-type]
        commits.append(offset)
        state._committed_offset[TP0] = offset
    assert commits == [3768, 3769, 3770]


def test_a_commit_before_the_seek_does_not_stall_the_partition() -> None:
    """Seen on P=4 (heating/1): a commit computed before `perform_seek` took 556..573;
    the seek set the committed offset back to the broker's 556; acked went on at 574."""
    state = consumer_state(list(range(556, 574)), [], 0)
    state._committed_offset[TP0] = None  # before perform_seek
    assert Consumer._new_offset(state, TP0) == 574  # type: ignore[arg-type]
    state._committed_offset[TP0] = 556  # perform_seek: the broker's older answer
    state._acked[TP0] = list(range(574, 601))
    state._acked_index[TP0] = set(range(574, 601))
    assert Consumer._new_offset(state, TP0) == 601  # type: ignore[arg-type]
    # Faust's own rule waits for 556..573 forever
    state._acked[TP0] = list(range(601, 610))
    assert faust_consumer.Consumer._new_offset(state, TP0) is None  # type: ignore[arg-type]


def test_merge_gaps_adds_each_offset_once_and_chops_what_it_merged() -> None:
    acked = [10, 11, 12, 20]
    gap = IntervalTree.from_tuples([(11, 16), (30, 40)])
    assert merge_gaps(acked, gap) == {13, 14, 15}
    assert acked == [10, 11, 12, 13, 14, 15, 20]
    assert sorted((i.begin, i.end) for i in gap) == [(30, 40)]  # beyond the acked: kept


def test_next_commit_offset_keeps_faust_rule_for_the_head() -> None:
    assert next_commit_offset([5, 6, 7, 9], 5) == (8, [5, 6, 7])
    assert next_commit_offset([6, 7], 5) == (8, [6, 7])  # one missing at the head: Faust commits
    assert next_commit_offset([8, 9], 5) == (None, [])  # more: wait for them
    assert next_commit_offset([], 5) == (None, [])
    assert next_commit_offset([8, 9], 5, handed_out=8) == (10, [8, 9])  # 5..7 handed out


def test_a_late_ack_of_a_merged_offset_is_not_counted_twice() -> None:
    state = consumer_state([10, 11, 12, 20], [(13, 20)], 10)
    assert Consumer._new_offset(state, TP0) == 21  # type: ignore[arg-type]
    # 13..19 came from the gap; `ack` consults `_acked_index`, now cleared of
    # the committed run, and refuses offsets below the committed one anyway.
    assert state._acked[TP0] == []


class FakeTable:
    """What `PartitionState` uses of a Faust table: the memory store's dict and
    `send_changelog`."""

    def __init__(self) -> None:
        self.data = SimpleNamespace(data={})
        self.sent: list[tuple[int, bytes, bytes | None]] = []

    def send_changelog(self, partition: int, key: bytes, value: bytes | None) -> None:
        self.sent.append((partition, key, value))

    def _verify_source_topic_partitions(self, topic: str) -> None:
        pass


def test_partition_state_is_one_partitions_slice_of_the_table() -> None:
    table = FakeTable()
    p0, p3 = PartitionState(table, 0), PartitionState(table, 3)
    p0[b"wm:gas"] = b"1"
    p3[b"wm:gas"] = b"2"
    assert (p0[b"wm:gas"], p3.get(b"wm:gas"), p3.get(b"nope")) == (b"1", b"2", None)
    assert list(p3) == [b"wm:gas"] and len(p0) == 1 and b"wm:gas" in p0
    del p3[b"wm:gas"]
    assert b"wm:gas" not in p3 and p0[b"wm:gas"] == b"1"
    # every write goes to the changelog partition of its slice
    assert table.sent == [(0, b"0/wm:gas", b"1"), (3, b"3/wm:gas", b"2"), (3, b"3/wm:gas", None)]


class FakeTask:
    """A stage task that writes its state only in `flush`."""

    def __init__(self, state: MutableMapping[bytes, bytes]) -> None:
        self.state = state
        self.pending: dict[bytes, bytes] = {}

    def process(self, messages: Sequence[RawMessage]) -> StageOutput:
        for m in messages:
            self.pending[b"seen:%d" % m.offset] = b"1"
        return StageOutput()

    def replay_range(self) -> None:
        return None

    def replay(self, messages: Sequence[RawMessage]) -> None:
        raise AssertionError("nothing to replay")

    def tick(self) -> StageOutput:
        self.pending[b"ticked"] = b"1"
        return StageOutput()

    def flush(self) -> None:
        self.state.update(self.pending)
        self.pending.clear()


class FakeStage:
    name = "fake"
    inputs = ("in",)
    changelog = "fake-changelog"

    def task(self, partition: int, state: MutableMapping[bytes, bytes]) -> FakeTask:
        return FakeTask(state)


def test_a_tick_never_flushes_a_batch_whose_outputs_are_unsent() -> None:
    table = FakeTable()
    release = asyncio.Event()
    calls: list[StageOutput] = []

    async def send(result: StageOutput) -> None:
        calls.append(result)
        if len(calls) == 1:  # the batch's outputs are still on their way
            await release.wait()

    async def no_replay(p: int, ranges: dict[str, tuple[int, int]]) -> list[RawMessage]:
        raise AssertionError("nothing to replay")

    runner = StageRunner(FakeStage(), table, {}, send, no_replay)  # type: ignore[arg-type]
    msg = SimpleNamespace(topic="in", partition=2, offset=7, key=b"k", value=b"v")

    async def scenario() -> dict[bytes, bytes]:
        batch = asyncio.create_task(runner.run([msg]))
        await asyncio.sleep(0.01)
        tick = asyncio.create_task(runner.tick())
        await asyncio.sleep(0.05)
        persisted = dict(table.data.data)  # what a kill -9 now would leave
        release.set()
        await asyncio.gather(batch, tick)
        return persisted

    persisted = asyncio.run(scenario())
    assert persisted == {}, "state of a batch with unsent outputs persisted"
    assert table.data.data == {b"2/seen:7": b"1", b"2/~inputs": b'{"in":8}', b"2/ticked": b"1"}
    assert [p for p, _, _ in table.sent] == [2, 2, 2]


integration = pytest.mark.integration


@integration
def test_true_log_ends_reads_past_tansus_list_offsets(broker: EmbeddedBroker) -> None:
    topic = f"t{os.getpid()}-{time.monotonic_ns()}.ends"

    async def scenario() -> tuple[int, int]:
        producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, linger_ms=50)
        await producer.start()
        try:
            for batch in (25, 7):  # two record batches: 0..24, 25..31
                for i in range(batch):
                    await producer.send(topic, b"%d" % i, partition=0)
                await producer.flush()
        finally:
            await producer.stop()
        consumer = AIOKafkaConsumer(bootstrap_servers=broker.bootstrap)
        await consumer.start()
        try:
            tp = TopicPartition(topic, 0)
            listed = (await consumer.end_offsets([tp]))[tp]
        finally:
            await consumer.stop()
        ends = await true_log_ends([broker.bootstrap], {TP(topic, 0): listed})
        return listed, ends[TP(topic, 0)]

    listed, end = asyncio.run(scenario())
    assert end == 32
    # Tansu's ListOffsets: base offset of the last batch + 1 (the reason for the probe).
    assert listed <= end


@integration
def test_a_commits_flush_waits_for_every_changelog_record(broker: EmbeddedBroker) -> None:
    """Faust's commit awaits `producer.flush()` so that the changelog is durable
    before the offsets; Faust's own flush gave up after 0.1 s without a record
    handed over (measured: 39 of 40 records of 512 KiB unsent on a busy loop, 1 on
    an idle one), and a `kill -9` after such a commit shortened windows."""
    topic = f"t{os.getpid()}-{time.monotonic_ns()}.flush"

    async def scenario() -> tuple[int, int]:
        app = App(
            f"flush{os.getpid()}",
            broker=f"kafka://{broker.bootstrap}",
            store="memory://",
            key_serializer="raw",
            value_serializer="raw",
            web_enabled=False,
            producer_max_request_size=8 * 1024 * 1024,
        )
        out = app.topic(topic, partitions=1, key_type=bytes, value_type=bytes)
        await out.maybe_declare()
        await app.producer.maybe_start()
        try:
            sent = [
                out.send_soon(key=b"%d" % i, value=bytes(512 * 1024), partition=0)
                for i in range(40)
            ]

            async def agent_work() -> None:  # an agent's CPU-bound batches beside the commit
                for _ in range(6):
                    until = time.monotonic() + 0.15
                    while time.monotonic() < until:
                        pass
                    await asyncio.sleep(0)

            busy = asyncio.create_task(agent_work())
            await app.producer.flush()
            unsent = sum(not f.done() for f in sent)
            await busy
            await asyncio.gather(*sent)
            return unsent, len(sent)
        finally:
            await app.producer.stop()

    unsent, total = asyncio.run(scenario())
    assert (unsent, total) == (0, 40)


# --- kill -9 and restart of the real Faust worker -------------------------------


def faust_settings(stack_settings: Settings) -> Settings:
    return stack_settings.model_copy(update={"worker_runtime": "faust"})


def start_worker(settings: Settings, name: str) -> ManagedProcess:
    logs = settings.state_dir / "logs"
    return ManagedProcess(
        name, cityops_argv("worker"), logs / f"{name}.log", env=env_for(settings)
    ).start()


async def _committed(settings: Settings) -> dict[str, int]:
    """Committed offsets of the worker group, summed over each feed's partitions."""
    names = {settings.topic(feed): feed for feed in topics.FEED_TOPICS}
    offsets = await committed_offsets(settings, settings.worker_id, names)
    out = dict.fromkeys(topics.FEED_TOPICS, 0)
    for tp, offset in offsets.items():
        out[names[tp.topic]] += offset or 0
    return out


def committed(settings: Settings) -> dict[str, int]:
    return asyncio.run(_committed(settings))


#: Produced last on every feed partition: an invalid message, so its dead letter
#: shows the worker has processed the whole partition (outputs are sent before
#: the batch is acknowledged, and a partition is processed in order).
SENTINEL = b"{end of test"
#: From the last dead letter to committed offsets at the log end. Faust commits
#: every `broker_commit_interval` (2.8 s); before the fix the commit crawled one
#: record per interval over the 16-31 records delivered ahead of the seek, i.e.
#: 45-90 s (measured on this machine), so ~10 intervals separate the two.
COMMIT_WAIT_S = 30.0
#: Events a second after the restart, in record batches of hundreds as
#: `cityops simulate` sends under load (sensors_sim/producer.py): the race in
#: `on_recovery_completed` needs records arriving while the worker resumes.
LIVE_RATE = 1000


class PacedProducer(threading.Thread):
    """Produces its messages at LIVE_RATE in a thread, then a SENTINEL per partition."""

    def __init__(self, settings: Settings, messages: list[tuple[str, bytes, bytes]]) -> None:
        super().__init__(daemon=True)
        self.settings = settings
        self.messages = messages
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            asyncio.run(self._run())
        except BaseException as exc:  # reported by the test
            self.error = exc

    async def _run(self) -> None:
        producer = AIOKafkaProducer(
            bootstrap_servers=self.settings.kafka_bootstrap,
            acks="all",
            linger_ms=100,
            max_batch_size=1024 * 1024,
        )
        await producer.start()
        try:
            for i in range(0, len(self.messages), LIVE_RATE):
                for topic, key, value in self.messages[i : i + LIVE_RATE]:
                    await producer.send(self.settings.topic(topic), value, key=key)
                await producer.flush()
                await asyncio.sleep(1.0)
            for feed in topics.FEED_TOPICS:
                for partition in range(self.settings.topic_partitions):
                    await producer.send(
                        self.settings.topic(feed), SENTINEL, key=b"end", partition=partition
                    )
            await producer.flush()
        finally:
            await producer.stop()


def sentinels_dead_lettered(settings: Settings) -> set[tuple[str, int]]:
    records = read_topic(settings.kafka_bootstrap or "", settings.topic(topics.DEADLETTER))
    letters = [DeadLetter.model_validate_json(r.value) for r in records]
    return {(d.topic, d.partition) for d in letters if base64.b64decode(d.original_b64) == SENTINEL}


@contextlib.contextmanager
def workers() -> Iterator[list[ManagedProcess]]:
    procs: list[ManagedProcess] = []
    try:
        yield procs
    finally:
        for proc in procs:
            proc.stop(timeout=20)


def outcome_diff(found: Outcome, expected: Outcome) -> str:
    """The keys an outcome has too many, too few, or with other sequences."""
    lines = [f"extra {k}: {found[k]}" for k in sorted(found.keys() - expected.keys())]
    lines += [f"missing {k}: {expected[k]}" for k in sorted(expected.keys() - found.keys())]
    lines += [
        f"differs {k}: {found[k]} != {expected[k]}"
        for k in sorted(found.keys() & expected.keys())
        if found[k] != expected[k]
    ]
    return "\n".join(lines)


def read_alerts(settings: Settings) -> list[Alert]:
    records = read_topic(settings.kafka_bootstrap or "", settings.topic(topics.ALERTS))
    return [Alert.model_validate_json(r.value) for r in records]


# Killing processes on a shared 2-core machine is not fully deterministic yet (see
# CHANGELOG, "Known issues"): one retry, and a second failure fails the run.
@pytest.mark.flaky(reruns=1)
@integration
def test_faust_worker_killed_mid_run_drains_every_feed_without_double_alerts(
    stack_settings: Settings,
) -> None:
    settings = faust_settings(stack_settings)
    asyncio.run(ensure_topics(settings, topics.ALL_TOPICS))
    profile = load_profile("small")
    start = morning_start()
    incidents = every_rule_incidents(profile)
    expected = expected_outcome(incidents, profile, start)
    sim = Simulation(profile, seed=42, start=start, incidents=incidents)
    events = [(e.topic, e.key, e.value) for e in sim.events(DURATION_S)]
    n = len(events)
    first, backlog, live = events[: n // 2], events[n // 2 : 3 * n // 4], events[3 * n // 4 :]
    log_end: dict[str, int] = dict.fromkeys(topics.FEED_TOPICS, settings.topic_partitions)
    for topic, _, _ in events:
        log_end[topic] += 1
    every_partition = {
        (settings.topic(feed), p)
        for feed in topics.FEED_TOPICS
        for p in range(settings.topic_partitions)
    }

    with workers() as procs:
        procs.append(start_worker(settings, "worker-1"))
        asyncio.run(produce(settings, first))
        # Mid-run: part of what the worker read is committed, not all of it.
        at_kill = wait_until(
            lambda: committed(settings),
            lambda c: sum(c.values()) >= len(first) // 3,
            timeout=180,
            what="offset commits of a third of the first half",
            procs={"worker-1": procs[0]},
        )
        os.kill(procs[0].pid, signal.SIGKILL)
        assert procs[0].popen is not None
        procs[0].popen.wait(timeout=10)
        assert sum(at_kill.values()) < n
        # A backlog while no worker runs, then live events during the restart.
        asyncio.run(produce(settings, backlog))
        feed = PacedProducer(settings, live)
        feed.start()
        procs.append(start_worker(settings, "worker-2"))
        by_name = {"worker-2": procs[1]}
        feed.join(timeout=600)
        assert feed.error is None and not feed.is_alive()

        wait_until(
            lambda: sentinels_dead_lettered(settings),
            lambda found: found == every_partition,
            timeout=240,
            what="the worker to process every partition to its end",
            procs=by_name,
        )
        wait_until(
            lambda: committed(settings),
            lambda c: c == log_end,
            timeout=COMMIT_WAIT_S,
            what="committed offsets at the log end of every feed",
            procs=by_name,
        )
        try:
            alerts = wait_until(
                lambda: read_alerts(settings),
                lambda found: outcome_of(found) == expected,
                timeout=60,
                what="the scripted alerts",
                procs=by_name,
            )
        except AssertionError as exc:
            raise AssertionError(outcome_diff(outcome_of(read_alerts(settings)), expected)) from exc
        assert procs[1].poll() is None, log_tail(procs[1])

    # Re-sent records of re-read batches are the same records (at-least-once);
    # a double alert would be a second alert id for one (rule, entity).
    ids: dict[tuple[str, str], set[str]] = {}
    for alert in alerts:
        ids.setdefault((alert.rule, alert.entity_id), set()).add(alert.alert_id)
    assert {key: len(found) for key, found in ids.items()} == dict.fromkeys(expected, 1)
    assert outcome_of(alerts) == expected


# --- the Faust twin of tests/test_scale_out.py -----------------------------------
# Same scenario and assertions, run by calling that test with the Faust runtime;
# the reference stays the default runtime's single worker ("same outputs").


def ran_faust(settings: Settings, name: str) -> bool:
    """The worker's log shows a Faust worker that got ready (not the direct runtime)."""
    log = (settings.state_dir / "logs" / f"{name}.log").read_text(errors="replace")
    return "[^Worker]: Ready" in log


# Killing processes on a shared 2-core machine is not fully deterministic yet (see
# CHANGELOG, "Known issues"): one retry, and a second failure fails the run.
@pytest.mark.flaky(reruns=1)
@integration
def test_two_faust_workers_killed_replaced_and_stopped_change_no_alert(
    reference: tuple,
    stack_settings: Settings,
    created_topics: list[str],
) -> None:
    faust = stack_settings.model_copy(update={"worker_runtime": "faust"})
    try:
        two_workers_disturbed(reference, faust, created_topics)
    except AssertionError as exc:
        got = set(transitions(scaled_alerts(scaled(faust))))
        want = set(reference[2])
        raise AssertionError(
            f"extra {sorted(got - want)[:20]}\nmissing {sorted(want - got)[:20]}"
        ) from exc
    assert ran_faust(faust, "worker-1") and ran_faust(faust, "worker-3")


# No retry: its short roll-ups (1 of 3 runs) were offsets committed before the tables'
# changelog was sent (`streams.faust_transport.Producer`, issue 13).
@integration
def test_a_killed_single_faust_worker_loses_no_window(
    reference: tuple,
    stack_settings: Settings,
    created_topics: list[str],
) -> None:
    faust = stack_settings.model_copy(update={"worker_runtime": "faust"})
    single_killed(reference, faust, created_topics)
    assert ran_faust(faust, "worker") and ran_faust(faust, "restarted")
