"""Scale-out on real parts (issue 13): N workers on P=4 partitions change no alert.

The scripted incidents of tests/test_incidents_end_to_end.py run once through a
single worker (the reference, its own topics) and then through two workers that
are disturbed mid-run: one is killed with SIGKILL, a replacement starts, then
one is stopped gracefully. alerts.v1 and the database must equal the reference
exactly (same alert ids, severities, states and times; repeats of a transition
after a crash are at-least-once deliveries and count once), and the roll-ups must
be the reference's windows, each equal to a recomputation from the stored readings.
"""

from __future__ import annotations

import asyncio
import os
import signal

import psycopg
import pytest

from cityops.base.city.profiles import load_profile
from cityops.base.settings import Settings
from cityops.stack.process import ManagedProcess
from cityops.stack.up import cityops_argv
from sinks.migrate import migrate
from sinks.recompute import recompute_rollups
from tests.fixtures.incidents import (
    every_rule_incidents,
    expected_outcome,
    outcome_of,
)
from tests.fixtures.pipeline import produce, table_counts, wait_until
from tests.fixtures.rollup_compare import rollup_differences
from tests.fixtures.scale_out import (
    _alerts,
    _scaled,
    _settle,
    _worker,
    once,
    rollups_of,
    transitions,
)
from tests.fixtures.stack import env_for
from tests.test_incidents_end_to_end import READINGS, load_readings_and_rollups

pytestmark = pytest.mark.integration


# Killing processes on a shared 2-core machine is not fully deterministic yet (see
# CHANGELOG, "Known issues"): one retry, and a second failure fails the run.
@pytest.mark.flaky(reruns=1)
def test_two_workers_killed_replaced_and_stopped_change_no_alert(
    reference: tuple, stack_settings: Settings, created_topics: list[str]
) -> None:
    start, events, want_transitions, want_rollups = reference
    settings = _scaled(stack_settings)
    assert settings.database_url
    migrate(settings.database_url)
    logs = settings.state_dir / "logs"
    sink = ManagedProcess("sink", cityops_argv("sink"), logs / "sink.log", env=env_for(settings))
    procs = {
        "sink": sink.start(),
        "worker-1": _worker(settings, "worker-1").start(),
        "worker-2": _worker(settings, "worker-2").start(),
    }
    try:
        sent = asyncio.run(produce(settings, events))
        wait_until(
            lambda: len(rollups_of(settings)),
            lambda n: n >= 300,
            timeout=300,
            what="the two workers to be mid-run",
            procs=procs,
        )
        killed = procs.pop("worker-1")
        os.kill(killed.pid, signal.SIGKILL)
        killed.popen.wait(timeout=10)  # type: ignore[union-attr]
        procs["worker-3"] = _worker(settings, "worker-3").start()
        wait_until(
            lambda: len(rollups_of(settings)),
            lambda n: n >= 1200,
            timeout=300,
            what="the run to go on after the kill",
            procs=procs,
        )
        procs.pop("worker-2").stop(timeout=30)  # graceful: SIGTERM
        wait_until(
            lambda: transitions(_alerts(settings)),
            lambda t: t == want_transitions,
            timeout=400,
            what="the reference's alert transitions",
            procs=procs,
        )
        got_rollups = _settle(settings, procs)
        want_rows = {READINGS[t][0]: n for t, n in sent.items()}
        wait_until(
            lambda: table_counts(settings.database_url or "", (*want_rows, "rollups_1m")),
            lambda c: c == {**want_rows, "rollups_1m": len(want_rollups)},
            timeout=180,
            what="every reading and roll-up stored",
            procs=procs,
        )
        wait_until(
            lambda: table_counts(settings.database_url or "", ("alert_history",)),
            lambda c: c["alert_history"] == len(want_transitions),
            timeout=60,
            what="the alert history stored",
            procs=procs,
        )
    finally:
        for proc in procs.values():
            proc.stop(timeout=20)

    assert transitions(_alerts(settings)) == want_transitions
    # at-least-once: a transition re-sent after the kill counts once
    assert outcome_of(once(_alerts(settings))) == expected_outcome(
        every_rule_incidents(load_profile("small")), load_profile("small"), start
    )
    # the reference's windows exactly, float sums included
    got, want = list(got_rollups.values()), list(want_rollups.values())
    assert rollup_differences(got, want, rel=0, abs_=0) == []
    with psycopg.connect(settings.database_url) as conn:
        history = conn.execute(
            "SELECT alert_id, severity, state, updated_at FROM alert_history"
        ).fetchall()
        current: dict[str, str] = dict(
            conn.execute("SELECT alert_id, state FROM alerts").fetchall()
        )
    assert sorted((a, s, st, u.isoformat()) for a, s, st, u in history) == [
        (a, s, st, u) for a, s, st, u in want_transitions
    ]
    last = {a: st for a, _s, st, _u in sorted(want_transitions, key=lambda t: t[3])}
    assert current == last
    stored, rollups = load_readings_and_rollups(settings.database_url)
    recomputed = recompute_rollups(stored, load_profile("small"), {r.bucket for r in rollups})
    assert rollup_differences(rollups, recomputed, rel=1e-6, abs_=1e-6) == []
    assert rollup_differences(rollups, list(want_rollups.values()), rel=1e-9, abs_=1e-9) == []


# Killing processes on a shared 2-core machine is not fully deterministic yet (see
# CHANGELOG, "Known issues"): one retry, and a second failure fails the run.
@pytest.mark.flaky(reruns=1)
def test_a_killed_single_worker_loses_no_window(
    reference: tuple, stack_settings: Settings, created_topics: list[str]
) -> None:
    _start, events, want_transitions, want_rollups = reference
    settings = _scaled(stack_settings)
    procs = {"worker": _worker(settings, "worker").start()}
    try:
        asyncio.run(produce(settings, events))
        wait_until(
            lambda: len(rollups_of(settings)),
            lambda n: n >= 800,
            timeout=300,
            what="the worker to be mid-run",
            procs=procs,
        )
        killed = procs.pop("worker")
        os.kill(killed.pid, signal.SIGKILL)
        killed.popen.wait(timeout=10)  # type: ignore[union-attr]
        procs["restarted"] = _worker(settings, "restarted").start()
        got = _settle(settings, procs)
    finally:
        for proc in procs.values():
            proc.stop(timeout=20)
    # every window of the reference, none short (equal counts), none extra
    assert rollup_differences(list(got.values()), list(want_rollups.values())) == []
    assert transitions(_alerts(settings)) == want_transitions
