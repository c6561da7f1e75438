"""The worker's buffered store behaves like the JSON store the rule tests use."""

from __future__ import annotations

import pytest

from cityops.base.thresholds import with_overrides
from streams.models import Alert, Event
from streams.rules.engine import RuleEngine
from streams.stage_state import ChangeTrackingTable
from streams.state import BufferedJsonStore
from tests.fixtures.city import FakeCity
from tests.fixtures.events import circuit_lights, gas, light, station, truck
from tests.streams.rules.support import RUNBOOKS, TOPIC_OF, JsonStore


def incident_stream() -> list[Event]:
    events: list[Event] = []
    for minute in range(0, 60):
        lel = 30.0 if 10 <= minute < 20 else 60.0 if 20 <= minute < 25 else 1.0
        events.append(gas(minute, detector_id="gd-1", lel_pct=lel))
        if minute < 30:  # gd-2 goes silent: offline fires from the watermark
            events.append(gas(minute, detector_id="gd-2"))
        events.append(
            station(minute, station_id="hs-1", indoor_temp_c=15.0 if minute > 5 else 20.0)
        )
        events += [
            truck(minute, seconds=s, speed_kmh=70.0 if minute == 30 else 20.0) for s in (0, 30)
        ]
        if minute % 5 == 0:
            events += circuit_lights(
                minute, dark={"sl-c1-0", "sl-c1-1", "sl-c1-2"} if minute > 20 else set()
            )
            events.append(
                light(minute, light_id="sl-x", power_state="off" if minute > 40 else "on")
            )
    return events


def run(store: object, events: list[Event], flush_every: int) -> list[Alert]:
    engine = RuleEngine(with_overrides({}), FakeCity(), store, runbook_base_url=RUNBOOKS)  # type: ignore[arg-type]
    alerts: list[Alert] = []
    for i, event in enumerate(events, 1):
        alerts += engine.on_event(TOPIC_OF[type(event)], event)
        if isinstance(store, BufferedJsonStore) and i % flush_every == 0:
            store.flush()
    return alerts


@pytest.mark.parametrize("flush_every", [1, 7, 1000])
def test_buffered_store_gives_the_same_alerts(flush_every: int) -> None:
    events = incident_stream()
    expected = run(JsonStore(), events, 1)
    assert {a.rule for a in expected} >= {"gas.lel_high", "gas.detector_offline", "fleet.speeding"}
    table: dict[bytes, bytes] = {}
    assert run(BufferedJsonStore(table), events, flush_every) == expected


def test_flush_writes_each_key_once_and_handles_deletes() -> None:
    table: dict[bytes, bytes] = {b"old": b'{"a": 1}'}
    store = BufferedJsonStore(table)
    for i in range(5):
        store["wm:gas"] = {"max_ts": i}
    del store["old"]
    assert "old" not in store and store["wm:gas"] == {"max_ts": 4}
    assert table == {b"old": b'{"a": 1}'}  # nothing written before the flush
    assert store.flush() == 2
    assert table == {b"wm:gas": b'{"max_ts":4}'}
    assert sorted(store) == ["wm:gas"] and len(store) == 1
    with pytest.raises(KeyError):
        store["old"]


def test_kept_decoded_values_follow_the_table() -> None:
    table: dict[bytes, bytes] = {}
    store = BufferedJsonStore(table, keep_decoded=("circuit:",))
    store["circuit:c1"] = {"lights": {"a": 0}}
    store["light:l1"] = {"ts": 1}
    store.flush()
    first = store.get("circuit:c1")
    assert first == {"lights": {"a": 0}}
    assert store.get("circuit:c1") is first  # kept: not decoded again
    assert store.get("light:l1") is not store.get("light:l1")  # not a kept prefix
    # the table changed behind the store (a changelog restore): never the stale copy
    table[b"circuit:c1"] = b'{"lights":{"a":1}}'
    assert store.get("circuit:c1") == {"lights": {"a": 1}}
    assert store["circuit:c1"] == {"lights": {"a": 1}}
    del store["circuit:c1"]
    store.flush()
    assert store.get("circuit:c1") is None and b"circuit:c1" not in table
    table[b"circuit:c1"] = b'{"lights":{}}'
    assert store.get("circuit:c1") == {"lights": {}}


class _KeyByKey(ChangeTrackingTable):
    """The worker's table without its batch write: the store writes key by key."""

    write_batch = None  # type: ignore[assignment]


def test_a_batch_write_records_the_same_changes_in_the_same_order() -> None:
    events = incident_stream()
    tables = (ChangeTrackingTable(), _KeyByKey())
    stores = [BufferedJsonStore(t) for t in tables]
    engines = [
        RuleEngine(with_overrides({}), FakeCity(), s, runbook_base_url=RUNBOOKS) for s in stores
    ]
    deletes = 0
    for i, event in enumerate(events, 1):
        for engine in engines:
            engine.on_event(TOPIC_OF[type(event)], event)
        if i % 7 == 0:
            for store in stores:
                store["gone:later"] = {"n": i}  # written and deleted before a flush: no change
                del store["gone:later"]
                store.flush()
            batch, key_by_key = (list(t.take_changes().items()) for t in tables)
            assert batch == key_by_key
            deletes += sum(value is None for _, value in batch)
    assert tables[0].data == tables[1].data
    assert deletes > 0  # offline timers' buckets are deleted as they fire
