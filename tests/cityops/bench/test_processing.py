"""`python -m cityops.bench.processing`: deterministic output digest, counts (no timing)."""

from __future__ import annotations

import gc
import hashlib

import pytest

from cityops.bench import processing as perf


def test_the_digest_is_stable_between_runs() -> None:
    thresholds = gc.get_threshold()
    first = perf.measure("small", 300)
    second = perf.measure("small", 300)
    assert first.digest == second.digest
    assert len(first.digest) == 64
    assert first.events > 0 and first.valid == first.events
    assert first.alerts > 0 and first.rollups > 0
    assert first.state_changes > 0 and first.state_keys > 0
    assert first.deadletters == 0
    assert first.cpu_s > 0
    # the worker's GC thresholds apply only while measuring
    assert gc.get_threshold() == thresholds


def test_the_digest_sees_a_change_of_output() -> None:
    assert perf.measure("small", 120).digest != perf.measure("small", 180).digest


def test_main_prints_the_figures(capsys: pytest.CaptureFixture[str]) -> None:
    perf.main(["--profile", "small", "--seconds", "60", "--default-gc"])
    printed = capsys.readouterr().out
    assert "events/s" in printed and "µs/event" in printed and "digest " in printed


def test_the_stages_give_the_monolith_s_alerts_and_rollups() -> None:
    stages = perf.measure("small", 600, topology="stages")
    monolith = perf.measure("small", 600, topology="monolith")
    assert stages.digest == perf.measure("small", 600, topology="stages").digest
    assert stages.records > 0 and monolith.records == 0
    nothing = hashlib.sha256().hexdigest()  # the monolith keeps its windows in memory
    assert monolith.windows_digest == nothing != stages.windows_digest
    assert (stages.valid, stages.alerts, stages.rollups) == (
        monolith.valid,
        monolith.alerts,
        monolith.rollups,
    )
