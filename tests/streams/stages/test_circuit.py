"""The circuit stage's gate record: facts waiting for the watermark, stored and released."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import orjson
import pytest

from cityops.base.settings import load_settings
from streams.pipeline import RawMessage
from streams.stage_state import ChangeTrackingTable
from streams.stages.build import build_stages
from streams.stages.circuit import _MAX_CHUNKS, CircuitStage, CircuitTask
from streams.stages.entity import MARK_KEY

NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)


def _stage() -> CircuitStage:
    settings = load_settings(topic_partitions=2, worker_id="w", topic_prefix="t.", _env_file=None)
    return build_stages(settings, lambda: NOW)[1]


class _Feed:
    def __init__(self, stage: CircuitStage) -> None:
        self.topic = stage.names.by_circuit
        self.offset = 0

    def msg(self, key: bytes, body: dict) -> RawMessage:
        self.offset += 1
        return RawMessage(self.topic, self.topic, 0, self.offset, key, orjson.dumps(body))

    def fact(self, src: int, seq: int, light: str, out: bool, at: int) -> RawMessage:
        return self.msg(b"C1", {"src": src, "seq": seq, "fact": ["C1", light, out, at, "d01"]})

    def mark(self, src: int, wm: int) -> RawMessage:
        return self.msg(MARK_KEY, {"src": src, "wm": wm})


def _released(task: CircuitTask) -> list[str]:
    """The lights of the circuit's map, in the order the facts reached it."""
    state = task.store.get("circuit:C1") or {}
    return list(state.get("lights", {}))


def test_waiting_facts_are_stored_as_plain_json_and_released_in_event_time_order() -> None:
    stage = _stage()
    feed = _Feed(stage)
    table = ChangeTrackingTable()
    task = stage.task(0, table)
    # two sources, their facts interleaved out of event-time order
    task.process(
        [
            feed.fact(1, 1, "L3", False, 3_000),
            feed.fact(0, 1, "L2", True, 2_000),
            feed.fact(0, 2, "L4", False, 4_000),
            feed.fact(1, 2, "L1", False, 1_000),
            feed.mark(0, 2_500),
        ]
    )
    task.flush()
    assert _released(task) == []  # source 1 has said nothing yet
    gate = orjson.loads(table[b"~gate"])
    assert gate["pending"] == [
        [3_000, 1, 1, "C1", "L3", False, "d01"],
        [2_000, 0, 1, "C1", "L2", True, "d01"],
        [4_000, 0, 2, "C1", "L4", False, "d01"],
        [1_000, 1, 2, "C1", "L1", False, "d01"],
    ]
    # the stored record is exactly orjson's encoding of the plain structure
    assert table[b"~gate"] == orjson.dumps(gate)

    # a task restored from the record releases as the original would
    copy = ChangeTrackingTable()
    for key, value in table.data.items():
        copy.restore(key, value)
    restored = stage.task(0, copy)
    for t, stored in ((task, table), (restored, copy)):
        t.process([feed.mark(1, 3_500)])  # horizon 2,500: L1, L2 (event-time order)
        t.flush()
        assert _released(t) == ["L1", "L2"]
        pending = orjson.loads(stored[b"~gate"])["pending"]
        assert pending == [
            [3_000, 1, 1, "C1", "L3", False, "d01"],
            [4_000, 0, 2, "C1", "L4", False, "d01"],
        ]
        t.process([feed.mark(0, 5_000)])  # horizon 3,500: L3
        t.flush()
        assert _released(t) == ["L1", "L2", "L3"]


def test_facts_in_event_time_order_are_released_as_a_prefix() -> None:
    stage = _stage()
    feed = _Feed(stage)
    table = ChangeTrackingTable()
    task = stage.task(0, table)
    facts = [feed.fact(0, i + 1, f"L{i}", i % 2 == 0, 1_000 * (i + 1)) for i in range(6)]
    task.process([*facts, feed.mark(0, 3_500), feed.mark(1, 10_000)])
    task.flush()
    assert _released(task) == ["L0", "L1", "L2"]
    assert [f[4] for f in orjson.loads(table[b"~gate"])["pending"]] == ["L3", "L4", "L5"]
    # a late fact (before the last waiting one) still waits and is released in order
    task.process([feed.fact(1, 1, "L9", True, 3_800), feed.mark(0, 5_500)])
    task.flush()
    assert _released(task) == ["L0", "L1", "L2", "L9", "L3", "L4"]
    assert [f[4] for f in orjson.loads(table[b"~gate"])["pending"]] == ["L5"]


def test_idleness_markers_of_other_feeds_are_not_malformed_records(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The entity stage sends its idle/active markers (any feed) to both repartition
    topics; those naming only other feeds leave the gate alone, and nothing is logged
    as a dropped record (they were, thousands of lines in a restarted Faust worker)."""
    stage = _stage()
    feed = _Feed(stage)
    task = stage.task(0, ChangeTrackingTable())
    with caplog.at_level(logging.WARNING):
        task.process(
            [
                feed.msg(MARK_KEY, {"src": 1, "idle": ["gas", "heating"]}),
                feed.msg(MARK_KEY, {"src": 1, "active": ["gas"]}),
                feed.msg(MARK_KEY, {"src": 0, "idle": ["streetlight"]}),
            ]
        )
    assert [r.getMessage() for r in caplog.records] == []
    assert task.gate.idle == {"streetlight": [0]}


def test_many_batches_of_waiting_facts_are_stored_and_released_as_one_list() -> None:
    """Facts wait in chunks of their JSON (one per batch, joined past `_MAX_CHUNKS`):
    the record is still orjson's encoding of the one list, and a release takes the
    ready facts of every chunk, splitting the one that straddles the horizon."""
    stage = _stage()
    feed = _Feed(stage)
    table = ChangeTrackingTable()
    task = stage.task(0, table)
    expected: list[list[object]] = []
    for batch in range(_MAX_CHUNKS + 10):
        # two sources, each batch's facts a little out of order
        facts = [(1, batch + 1, 1_000 * batch + 500), (0, batch + 1, 1_000 * batch)]
        task.process([feed.fact(src, seq, f"L{batch}-{src}", False, at) for src, seq, at in facts])
        task.flush()
        expected += [
            [at, src, seq, "C1", f"L{batch}-{src}", False, "d01"] for src, seq, at in facts
        ]
        gate = orjson.loads(table[b"~gate"])
        assert gate["pending"] == expected
        assert table[b"~gate"] == orjson.dumps(gate)
    task.process([feed.mark(0, 40_700), feed.mark(1, 40_700)])  # horizon inside batch 40
    task.flush()
    released = [f for f in expected if f[0] < 40_700]
    assert _released(task) == [f[4] for f in sorted(released)]
    assert orjson.loads(table[b"~gate"])["pending"] == [f for f in expected if f[0] >= 40_700]


def test_a_fact_without_a_time_is_dropped_not_kept(caplog: pytest.LogCaptureFixture) -> None:
    stage = _stage()
    feed = _Feed(stage)
    task = stage.task(0, ChangeTrackingTable())
    bad = feed.msg(b"C1", {"src": 0, "seq": 1, "fact": ["C1", "L1", True, "soon", "d01"]})
    with caplog.at_level(logging.WARNING):
        task.process([bad, feed.fact(0, 2, "L2", True, 1_000), feed.mark(0, 5_000)])
        task.process([feed.mark(1, 5_000)])
    assert _released(task) == ["L2"]
    assert [r.getMessage() for r in caplog.records] == ["dropped a malformed record at 1"]
