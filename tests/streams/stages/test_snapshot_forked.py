"""Windows snapshots encoded in a forked child (as `streams.direct` takes them).

A snapshot started at a checkpoint is stored, with the offsets of that moment,
at the first checkpoint after its child is done; a crash before that restores
the previous snapshot and replays from its offsets. Either way the roll-ups and
alerts are those of a run that never crashed.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest

from cityops.base.city.profiles import load_profile
from sensors_sim.simulation import Simulation
from streams.forked import ForkedRunner, Job
from streams.stages import entity
from streams.stages.entity import EntityTask
from tests.fixtures.incidents import morning_start
from tests.fixtures.topology import (
    IDLE_S,
    Topology,
    alert_transitions,
    rollups_once,
    topology_settings,
)

pytestmark = pytest.mark.skipif(not ForkedRunner.available, reason="needs fork and memfd")

EVERY = 300  # events of a partition between snapshots (megacity: 100k)
END = datetime.now(UTC)  # the topologies' clock


class GatedRunner(ForkedRunner):
    """Its children encode only once the test opens the gate."""

    def __init__(self) -> None:
        self.r, self.w = os.pipe()
        self.jobs: list[Job] = []

    def start(self, compute: Callable[[], bytes]) -> Job:
        w = self.w

        def gated() -> bytes:
            if w >= 0:
                os.close(w)  # the child's copy: the gate opens when the parent's closes
            os.read(self.r, 1)  # b"" once every write end is closed: open for good
            return compute()

        job = super().start(gated)
        self.jobs.append(job)
        return job

    def open(self) -> None:
        if self.w >= 0:
            os.close(self.w)
            self.w = -1


@pytest.fixture
def runner() -> Iterator[GatedRunner]:
    gated = GatedRunner()
    yield gated
    gated.open()
    os.close(gated.r)
    for job in gated.jobs:
        job.cancel()


@pytest.fixture(scope="module")
def events() -> list[tuple[str, bytes, bytes]]:
    sim = Simulation(load_profile("small"), seed=7, start=morning_start())
    return [(e.topic, e.key, e.value) for e in sim.events(3600)]


def _topology(runner: GatedRunner) -> Topology:
    return Topology(topology_settings(1), clock=lambda: END, runner=runner)


def _calm(events: list) -> Topology:
    """The same events, snapshots in line, no crash."""
    topo = Topology(topology_settings(1), clock=lambda: END)
    topo.produce_events(events)
    _finish(topo)
    return topo


def _until_forked(topo: Topology) -> tuple[EntityTask, dict[str, int], dict[str, int]]:
    """Entity batches and checkpoints until a snapshot is being encoded: the task, the
    offsets of the stored (previous) snapshot and those of the one being encoded."""
    while True:
        topo.step(0, 0, 50)
        task = topo.tasks[(0, 0)]
        assert isinstance(task, EntityTask)
        before = dict(task.meta.get("windows_at") or {})
        topo.checkpoint(0, 0)
        if task.snapshots.pending is not None:
            return task, before, task.snapshots.pending[1]


def _finish(topo: Topology) -> None:
    rng = random.Random(1)
    topo.run(rng)
    topo.finish(rng, IDLE_S)


def test_a_crash_between_fork_and_store_replays_from_the_previous_snapshot(
    events: list, runner: GatedRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(entity, "SNAPSHOT_EVERY", EVERY)
    topo = _topology(runner)
    topo.produce_events(events)
    task, before, forked = _until_forked(topo)
    assert before and forked != before
    topo.step(0, 0, 50)
    topo.checkpoint(0, 0)  # the child is still at the gate: nothing stored yet
    assert task.meta["windows_at"] == before

    topo.crash(0, 0)  # killed before the snapshot was stored
    assert task.snapshots.pending is None, "the dropped task's child was stopped"
    restored = topo.tasks[(0, 0)]
    assert isinstance(restored, EntityTask)
    assert restored.meta["windows_at"] == before
    assert topo.replays == 1
    runner.open()
    _finish(topo)

    calm = _calm(events)
    assert rollups_once(topo.rollups) == rollups_once(calm.rollups)
    assert len(rollups_once(calm.rollups)) > 50
    assert alert_transitions(topo.alerts) == alert_transitions(calm.alerts)


def test_an_encoded_snapshot_is_stored_with_the_offsets_of_its_fork(
    events: list, runner: GatedRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(entity, "SNAPSHOT_EVERY", EVERY)
    topo = _topology(runner)
    topo.produce_events(events)
    task, _, forked = _until_forked(topo)
    job = runner.jobs[-1]
    topo.step(0, 0, 50)  # the windows move on after the fork
    runner.open()
    os.waitid(os.P_PID, job.pid, os.WEXITED | os.WNOWAIT)
    topo.checkpoint(0, 0)
    assert task.snapshots.pending is None
    assert task.meta["windows_at"] == forked != task.offsets

    topo.crash(0, 0)  # restored from it: the records since the fork are replayed
    restored = topo.tasks[(0, 0)]
    assert isinstance(restored, EntityTask)
    assert restored.meta["windows_at"] == forked
    assert topo.replays == 1
    _finish(topo)

    calm = _calm(events)
    assert rollups_once(topo.rollups) == rollups_once(calm.rollups)
    assert alert_transitions(topo.alerts) == alert_transitions(calm.alerts)


def test_forked_snapshots_with_crashes_give_the_calm_runs_results(
    events: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(entity, "SNAPSHOT_EVERY", EVERY // 3)
    runner = GatedRunner()
    runner.open()  # children encode at once
    topo = _topology(runner)
    topo.produce_events(events)
    rng = random.Random(3)
    steps = 0
    while topo.pending(0, 0):
        topo.step(0, 0, rng.choice((7, 50, 400)))
        if rng.random() < 0.5:
            topo.checkpoint(0, 0)
        steps += 1
        if steps % 9 == 0:
            topo.crash(0, 0)
    _finish(topo)
    os.close(runner.r)

    assert len(runner.jobs) > 3 and topo.replays > 0
    calm = _calm(events)
    assert rollups_once(topo.rollups) == rollups_once(calm.rollups)
    assert alert_transitions(topo.alerts) == alert_transitions(calm.alerts)
