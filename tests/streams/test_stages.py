"""The keyed stages (streams/stages) in memory: exact whatever the schedule.

The scripted incidents of tests/test_incidents_end_to_end.py run through P=4
partitions of entity, circuit and district tasks in random orders, batch sizes,
checkpoints and crashes: the alerts are the scripted ones, identical between
schedules (same ids, severities, states, times), and every roll-up is emitted
with the same values, equal to a recomputation from the readings.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from cityops.base.city.profiles import load_profile
from sensors_sim.simulation import Simulation
from sinks.recompute import recompute_rollups
from streams import topics
from streams.models import MODEL_BY_TOPIC, iso_z
from tests.fixtures.incidents import (
    DURATION_S,
    every_rule_incidents,
    expected_outcome,
    morning_start,
    outcome_of,
)
from tests.fixtures.rollup_compare import rollup_differences
from tests.fixtures.topology import (
    IDLE_S,
    Topology,
    alert_transitions,
    rollups_once,
    run_topology,
    topology_settings,
)


@pytest.fixture(scope="module")
def scripted() -> tuple[list[tuple[str, bytes, bytes]], datetime]:
    profile = load_profile("small")
    start = morning_start()
    sim = Simulation(profile, seed=42, start=start, incidents=every_rule_incidents(profile))
    return [(e.topic, e.key, e.value) for e in sim.events(DURATION_S)], start


def test_scripted_incidents_are_exact_whatever_the_schedule(scripted: tuple) -> None:
    events, start = scripted
    profile = load_profile("small")
    expected = expected_outcome(every_rule_incidents(profile), profile, start)
    calm = run_topology(events, 4, seed=1)
    crashed = run_topology(events, 4, seed=2, crash_every=40)

    assert outcome_of(calm.alerts) == expected
    assert crashed.replays > 0, "restored windows were completed from the source"
    assert alert_transitions(crashed.alerts) == alert_transitions(calm.alerts)
    assert calm.deadletters == crashed.deadletters == 0

    once = rollups_once(calm.rollups)
    assert rollups_once(crashed.rollups) == once
    stored: dict[str, list] = {t: [] for t in topics.FEED_TOPICS}
    for topic, _key, value in events:
        stored[topic].append(MODEL_BY_TOPIC[topic].model_validate_json(value))
    rollups = sorted(once.values(), key=lambda r: (r.bucket, r.feed, r.district))
    assert len(rollups) > 200
    recomputed = recompute_rollups(stored, profile, {r.bucket for r in rollups})
    assert rollup_differences(rollups, recomputed, rel=1e-6, abs_=1e-6) == []


@pytest.mark.parametrize(("seed", "crash_every"), [(10, 5), (12, 3)])
def test_crashes_that_cut_the_input_into_other_batches_lose_no_partial(
    scripted: tuple, seed: int, crash_every: int
) -> None:
    """A partition re-processed after a crash cuts its input into other batches: the
    numbers of its partials must not depend on that (they ran in batch order, facts
    and partials on one counter: these schedules lost 150 and 300 roll-ups)."""
    events, _start = scripted
    calm = rollups_once(run_topology(events, 4, seed=1).rollups)
    crashed = run_topology(events, 4, seed=seed, crash_every=crash_every)
    assert crashed.replays > 0
    got = rollups_once(crashed.rollups)
    assert sorted(k for k in calm if got.get(k) != calm[k]) == []


def test_key_mismatch_is_dead_lettered(scripted: tuple) -> None:
    events, _ = scripted
    topic, key, value = next(e for e in events if e[0] == topics.GAS_DETECTOR)
    topo = Topology(topology_settings(2), clock=lambda: datetime.now(UTC))
    topo.produce_events([(topic, b"not-" + key, value), (topic, key, value)])
    topo.run(random.Random(0))
    assert topo.deadletters == 1


def test_an_idle_partition_does_not_stop_offline_alerts_of_busy_ones() -> None:
    """Partition 0 gets nothing; a detector of partition 1 goes silent: it is paged."""
    settings = topology_settings(4)
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    topo = Topology(settings, clock=lambda: datetime.now(UTC))
    ids = [f"GD-{i:03d}" for i in range(200)]
    parts = {d: topo_partition(d, 4) for d in ids}
    busy = [d for d in ids if parts[d] != 0]
    silent = next(d for d in busy if parts[d] == 1)
    events = []
    for minute in range(20):
        for d in busy:
            if d == silent and minute >= 2:
                continue
            at = t0 + timedelta(minutes=minute)
            events.append((topics.GAS_DETECTOR, d.encode(), orjson.dumps(_gas(d, at))))
    topo.produce_events(events)
    topo.run(random.Random(3))
    assert any(parts[d] == 0 for d in ids), "partition 0 has detectors, all silent"
    offline = [(a.entity_id, a.state) for a in topo.alerts if a.rule == "gas.detector_offline"]
    assert offline == [(silent, "firing")]


def topo_partition(key: str, n: int) -> int:
    from aiokafka.partitioner import DefaultPartitioner

    return int(DefaultPartitioner()(key.encode(), list(range(n)), list(range(n))))


def _gas(detector: str, at: datetime) -> dict:
    from tests.streams.test_app import gas_event

    return gas_event(detector, at, 1.0)


def _ack(alert_id: str, at: datetime) -> dict:
    return {"alert_id": alert_id, "by": "oncall", "at": iso_z(at), "note": ""}


def _levels(alerts: list, entity: str) -> list[tuple[str, str]]:
    """(state, escalation level) of each transition, once (a crashed task re-sends)."""
    seen = [(a.state, a.labels.get("escalation", "0")) for a in alerts if a.entity_id == entity]
    return list(dict.fromkeys(seen))


@pytest.mark.parametrize(("seed", "crash_every"), [(5, 0), (6, 7), (8, 3)])
def test_escalation_runs_per_partition_and_an_ack_keyed_by_entity_stops_it(
    seed: int, crash_every: int
) -> None:
    """Issue 16: two critical alarms on different partitions; one is acknowledged (the ack
    keyed by its entity id reaches its partition), the other escalates twice; the same
    whatever the schedule and crashes (the schedule lives in the partition's state)."""
    settings = topology_settings(4)
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    topo = Topology(settings, clock=lambda: datetime.now(UTC))
    ids = [f"GD-{i:03d}" for i in range(40)]
    acked = "GD-001"
    ignored = next(  # critical too (see _gas_lel), on another partition
        d for d in ids if d.endswith("7") and topo_partition(d, 4) != topo_partition(acked, 4)
    )

    def minutes(first: int, last: int) -> list:
        return [
            (topics.GAS_DETECTOR, d.encode(), orjson.dumps(_gas_lel(d, t0 + timedelta(minutes=m))))
            for m in range(first, last)
            for d in ids
        ]

    rng = random.Random(seed)
    topo.produce_events(minutes(0, 2))
    topo.run(rng, crash_every=crash_every)
    fired = next(a for a in topo.alerts if a.entity_id == acked)
    topo.produce(
        settings.topic(topics.ALERTS_ACK),
        acked.encode(),
        orjson.dumps(_ack(fired.alert_id, t0 + timedelta(minutes=2))),
    )
    topo.run(rng, crash_every=crash_every)
    topo.produce_events(minutes(2, 20))
    topo.run(rng, crash_every=crash_every)
    assert _levels(topo.alerts, acked) == [("firing", "0"), ("acknowledged", "0")]
    assert _levels(topo.alerts, ignored) == [("firing", "0"), ("firing", "1"), ("firing", "2")]
    assert topo.deadletters == 0


def test_a_silent_feed_escalates_on_the_stage_tick() -> None:
    """The processing-time fallback through the entity stage's tick (the worker calls it
    about once a second)."""
    settings = topology_settings(2)
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    wall = [datetime.now(UTC)]
    topo = Topology(settings, clock=lambda: wall[0])
    topo.produce_events(
        [
            (
                topics.GAS_DETECTOR,
                b"GD-1",
                orjson.dumps(_gas_lel("GD-1", t0 + timedelta(seconds=s))),
            )
            for s in (0, 60)
        ]
    )
    topo.run(random.Random(1))
    topo.tick()  # the watermark is seen
    wall[0] += timedelta(minutes=3)
    topo.tick()
    assert _levels(topo.alerts, "GD-1") == [("firing", "0")]  # due 5 min after firing
    wall[0] += timedelta(minutes=3)
    topo.tick()
    assert _levels(topo.alerts, "GD-1") == [("firing", "0"), ("firing", "1")]


def _gas_lel(detector: str, at: datetime) -> dict:
    from tests.streams.test_app import gas_event

    return gas_event(
        detector, at, 60.0 if detector in ("GD-1", "GD-001") or detector.endswith("7") else 1.0
    )


def test_a_circuit_outage_escalates_in_the_circuit_stage() -> None:
    """Group alerts escalate where their state lives: the circuit stage, on the time of
    the facts it releases (major: 15 min)."""
    from tests.fixtures.events import light

    profile = load_profile("small")
    night = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=30)
    while not all(profile.is_dark(night + timedelta(minutes=m)) for m in range(0, 61, 5)):
        night += timedelta(hours=1)
    topo = Topology(topology_settings(2), clock=lambda: datetime.now(UTC))
    events = []
    for minute in range(0, 60, 5):
        for i in range(10):
            dark = {"power_state": "off", "power_w": 0.0} if i < 6 else {}
            reading = light(minute, base=night, light_id=f"sl-{i}", circuit_id="c-1", **dark)
            events.append(
                (
                    topics.STREETLIGHT_STATUS,
                    reading.light_id.encode(),
                    reading.model_dump_json().encode(),
                )
            )
    topo.produce_events(events)
    topo.finish(random.Random(7), IDLE_S)
    outage = [a for a in topo.alerts if a.rule == "streetlight.circuit_outage"]
    assert [a.labels.get("escalation", "0") for a in outage] == ["0", "1", "2"]
    assert outage[1].updated_at - outage[0].updated_at == timedelta(minutes=15)


def test_acks_keyed_by_entity_reach_the_alert_and_others_are_dead_lettered() -> None:
    settings = topology_settings(4)
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    topo = Topology(settings, clock=lambda: datetime.now(UTC))
    leak = _gas("GD-7", t0) | {"lel_pct": 40.0}
    topo.produce_events([(topics.GAS_DETECTOR, b"GD-7", orjson.dumps(leak))])
    topo.run(random.Random(5))
    (fired,) = topo.alerts
    ack = {"alert_id": fired.alert_id, "by": "oncall", "at": iso_z(t0 + timedelta(minutes=1))}
    topo.produce_events(
        [
            (topics.ALERTS_ACK, fired.alert_id.encode(), orjson.dumps(ack)),  # old keying
            (topics.ALERTS_ACK, b"GD-7", orjson.dumps(ack)),
        ]
    )
    topo.run(random.Random(6))
    assert [(a.alert_id, a.state) for a in topo.alerts[1:]] == [(fired.alert_id, "acknowledged")]
    assert topo.deadletters == 1


def test_a_partition_nobody_runs_holds_the_roll_ups_back_whatever_the_time(
    scripted: tuple,
) -> None:
    """Partition 1's worker is gone (killed, not yet replaced) far longer than the
    idleness timeout: the merged minutes wait for it instead of going out short, and
    its replacement completes them. Idleness is the sources' to declare."""
    events, _ = scripted
    end = datetime.now(UTC)
    reference = run_topology(events, 2, seed=5)
    topo = Topology(topology_settings(2), clock=lambda: end)
    topo.produce_events(events)
    entity = 0
    while topo.pending(entity, 0):  # only partition 0's entity task runs
        topo.step(entity, 0, 500)
    for _ in range(3):
        topo.mono.now += IDLE_S * 10
        for (s, p), task in list(topo.tasks.items()):
            if (s, p) != (entity, 1):  # nobody runs partition 1: nobody ticks it
                topo._emit(task.tick())
        for s in (1, 2):
            for p in (0, 1):
                while topo.pending(s, p):
                    topo.step(s, p, 500)
    assert topo.rollups == [], "no minute may be merged without partition 1's partials"
    topo.finish(random.Random(6), IDLE_S)  # the replacement runs partition 1
    assert rollups_once(topo.rollups) == rollups_once(reference.rollups)
    assert alert_transitions(topo.alerts) == alert_transitions(reference.alerts)


def test_one_silent_partition_times_its_devices_out_on_the_feed_time() -> None:
    """Issue 13, item 2: every detector of partition 0 stops (its log end stops) while
    the rest of the feed flows. Once partition 0 has been idle for the idleness timeout
    it takes the feed's time from the busy partitions, so its detectors are paged
    offline with the alert ids a single partition gives (same due times)."""
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    ids = [f"GD-{i:03d}" for i in range(60)]
    parts = {d: topo_partition(d, 4) for d in ids}
    silent = sorted(d for d in ids if parts[d] == 0)
    events = [
        (topics.GAS_DETECTOR, d.encode(), orjson.dumps(_gas(d, t0 + timedelta(minutes=m))))
        for m in range(20)
        for d in ids
        if not (d in silent and m >= 3)
    ]

    def offline(partitions: int, seed: int) -> list[tuple[str, str, str, str]]:
        topo = Topology(topology_settings(partitions), clock=lambda: datetime.now(UTC))
        topo.produce_events(events)
        topo.finish(random.Random(seed), IDLE_S)
        return alert_transitions(a for a in topo.alerts if a.rule == "gas.detector_offline")

    single = offline(1, 1)
    assert silent and sorted({t[0].split(":")[1] for t in single}) == silent
    assert offline(4, 2) == single
    assert offline(4, 3) == single
