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
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import psycopg
import pytest

from cityops.base.city.profiles import load_profile
from cityops.base.settings import Settings
from cityops.stack.process import ManagedProcess
from cityops.stack.up import cityops_argv
from sensors_sim.simulation import Simulation
from sinks.migrate import migrate
from sinks.recompute import recompute_rollups
from streams import topics
from streams.models import Alert, Rollup
from tests.fixtures.incidents import (
    DURATION_S,
    every_rule_incidents,
    expected_outcome,
    morning_start,
    outcome_of,
)
from tests.fixtures.pipeline import produce, read_topic, table_counts, wait_until
from tests.fixtures.rollup_compare import rollup_differences
from tests.fixtures.stack import env_for
from tests.test_incidents_end_to_end import READINGS, load_readings_and_rollups

pytestmark = pytest.mark.integration

# Well above a failover (session 3 s + rebalance + restore + replay) on a loaded
# 2-core machine: within it results are exact (measured: runs at 20 s failed when
# the machine was shared by six other test runs).
IDLE_S = 45.0

Transition = tuple[str, str, str, str]  # alert id, severity, state, updated_at


def _scaled(settings: Settings, prefix: str | None = None) -> Settings:
    update: dict[str, object] = {"topic_partitions": 4, "worker_idle_timeout_s": IDLE_S}
    if prefix is not None:
        update |= {
            "topic_prefix": prefix,
            "worker_id": f"{prefix}worker",
            "sink_group": f"{prefix}sink",
            "state_dir": settings.state_dir.parent / prefix.rstrip("."),
        }
    return settings.model_copy(update=update)


def _events(start: datetime) -> list[tuple[str, bytes, bytes]]:
    profile = load_profile("small")
    sim = Simulation(profile, seed=42, start=start, incidents=every_rule_incidents(profile))
    return [(e.topic, e.key, e.value) for e in sim.events(DURATION_S)]


def _alerts(settings: Settings) -> list[Alert]:
    records = read_topic(settings.kafka_bootstrap or "", settings.topic(topics.ALERTS))
    return [Alert.model_validate_json(r.value) for r in records]


def transitions(alerts: list[Alert]) -> list[Transition]:
    """Each lifecycle transition once (a crash may deliver one twice: at-least-once)."""
    return sorted({(a.alert_id, a.severity, a.state, a.updated_at.isoformat()) for a in alerts})


def once(alerts: list[Alert]) -> list[Alert]:
    """The alerts without re-deliveries, in the order first seen."""
    seen: set[tuple[str, str, str]] = set()
    out = []
    for a in alerts:
        key = (a.alert_id, a.state, a.updated_at.isoformat())
        if key not in seen:
            seen.add(key)
            out.append(a)
    return out


def rollups_of(settings: Settings) -> dict[tuple[str, str, str], Rollup]:
    records = read_topic(settings.kafka_bootstrap or "", settings.topic(topics.ROLLUPS))
    out: dict[tuple[str, str, str], Rollup] = {}
    for r in records:
        rollup = Rollup.model_validate_json(r.value)
        key = (rollup.bucket.isoformat(), rollup.feed, rollup.district)
        assert out.get(key, rollup) == rollup, f"{key} emitted twice with different values"
        out[key] = rollup
    return out


def _worker(settings: Settings, name: str) -> ManagedProcess:
    logs = settings.state_dir / "logs"
    return ManagedProcess(name, cityops_argv("worker"), logs / f"{name}.log", env=env_for(settings))


@pytest.fixture(scope="module")
def reference(broker: object, stack_state_dir: Path) -> Iterator[tuple]:
    """One worker over the scripted run: (start, events, transitions, roll-ups)."""
    from cityops.base.kafka_admin import ensure_topics
    from cityops.base.settings import load_settings

    prefix = f"r{uuid.uuid4().hex[:10]}."
    settings = _scaled(
        load_settings(
            kafka_bootstrap=broker.bootstrap,  # type: ignore[attr-defined]
            metrics_port_worker=0,
            state_dir=stack_state_dir,
            _env_file=None,
        ),
        prefix,
    )
    asyncio.run(ensure_topics(settings, topics.ALL_TOPICS))
    start = morning_start()
    events = _events(start)
    worker = _worker(settings, "reference-worker").start()
    try:
        asyncio.run(produce(settings, events))
        expected = expected_outcome(
            every_rule_incidents(load_profile("small")), load_profile("small"), start
        )
        wait_until(
            lambda: outcome_of(_alerts(settings)),
            lambda o: o == expected,
            timeout=400,
            what="the reference's scripted alerts",
            procs={"worker": worker},
        )
        # the merged stages release their tail once every source is idle
        settled = _settle(settings, {"worker": worker})
    finally:
        worker.stop(timeout=20)
    yield start, events, transitions(_alerts(settings)), settled


def _settle(settings: Settings, procs: dict) -> dict[tuple[str, str, str], Rollup]:
    """Roll-ups once they stop changing for longer than the idleness timeout."""
    last: list[int] = [-1]

    def stable(rollups: dict) -> bool:
        if len(rollups) == last[0]:
            return True
        last[0] = len(rollups)
        return False

    return wait_until(
        lambda: rollups_of(settings),
        stable,
        timeout=600,
        interval=IDLE_S + 5,
        what="the roll-ups to settle",
        procs=procs,
    )


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
