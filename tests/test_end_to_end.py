"""The whole flow on real parts: simulator -> Tansu -> Faust worker -> sink -> PostgreSQL.

Sends a simulated city plus malformed events and duplicate deliveries, then
checks that every valid reading is stored exactly once, every malformed event
is in deadletter.v1 with the right reason, and the worker is still alive.
"""

from __future__ import annotations

import asyncio
import base64
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from cityops.base.city.profiles import load_profile
from cityops.base.settings import Settings
from sensors_sim.simulation import Simulation
from sinks.migrate import migrate
from streams import topics
from streams.models import DeadLetter
from tests.fixtures.pipeline import (
    produce,
    read_topic,
    running_pipeline,
    table_counts,
    wait_until,
)

pytestmark = pytest.mark.integration

TABLE_BY_TOPIC = {
    topics.GAS_DETECTOR: "gas_detector_readings",
    topics.STREETLIGHT_STATUS: "streetlight_readings",
    topics.HEATING_STATION: "heating_station_readings",
    topics.FLEET_GPS: "fleet_gps_readings",
}

GOOD_LIGHT = (
    b'{"light_id":"SL-x","ts":"%s","circuit_id":"C-x","cabinet_id":"K-x","district":"d",'
    b'"lat":36.0,"lon":120.0,"power_state":"on","power_w":100.0,"voltage_v":220.0,"fault":null}'
)

#: (topic, raw bytes, the reason the worker must give)
MALFORMED: list[tuple[str, bytes, str]] = [
    (topics.GAS_DETECTOR, b"\xc3\x28\xa0\xa1", "undecodable"),
    (topics.STREETLIGHT_STATUS, b'{"light_id": "SL-1", ', "invalid_json"),
    (topics.HEATING_STATION, b"42", "not_an_object"),
    (topics.FLEET_GPS, b'{"truck_id": "TR-1"}', "missing_field"),
    (topics.STREETLIGHT_STATUS, GOOD_LIGHT.replace(b'"on"', b'"blinking"'), "invalid_value"),
    (topics.STREETLIGHT_STATUS, GOOD_LIGHT.replace(b"220.0", b'"220"'), "wrong_type"),
    (topics.STREETLIGHT_STATUS, GOOD_LIGHT.replace(b"220.0", b"9999.0"), "out_of_range"),
    (topics.STREETLIGHT_STATUS, GOOD_LIGHT.replace(b'"d",', b'"d","x":1,'), "unknown_field"),
]


@pytest.mark.parametrize("runtime", ["direct", "faust"])
def test_simulated_city_lands_in_postgres_exactly_once(
    stack_settings: Settings, created_topics: list[str], runtime: str
) -> None:
    stack_settings = stack_settings.model_copy(update={"worker_runtime": runtime})
    assert stack_settings.database_url and stack_settings.kafka_bootstrap
    migrate(stack_settings.database_url)
    start = (datetime.now(UTC) - timedelta(minutes=40)).replace(second=0, microsecond=0)
    sim = Simulation(load_profile("small"), seed=7, start=start)
    events = list(sim.events(30 * 60))
    sent = Counter(e.topic for e in events)
    assert set(sent) == set(TABLE_BY_TOPIC), "every feed must be simulated"

    ts = (start + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S.000Z").encode()
    malformed = [(t, b"bad", raw.replace(b"%s", ts)) for t, raw, _ in MALFORMED]
    messages = [(e.topic, e.key, e.value) for e in events]
    # The first 200 events are delivered twice: at-least-once delivery upstream.
    messages = messages[:200] + malformed + messages
    with running_pipeline(stack_settings) as procs:
        asyncio.run(produce(stack_settings, messages))
        expected = {TABLE_BY_TOPIC[t]: n for t, n in sent.items()}
        stored = wait_until(
            lambda: table_counts(stack_settings.database_url or "", tuple(expected)),
            lambda counts: counts == expected,
            timeout=180,
            what="every reading stored once",
            procs=procs,
        )
        deadletters = wait_until(
            lambda: read_topic(
                stack_settings.kafka_bootstrap or "", stack_settings.topic(topics.DEADLETTER)
            ),
            lambda recs: len(recs) >= len(MALFORMED),
            timeout=60,
            what="dead letters",
            procs=procs,
        )
        assert all(p.poll() is None for p in procs.values()), "no process may die on bad input"

    assert stored == expected  # nothing lost, nothing duplicated
    letters = [DeadLetter.model_validate_json(r.value) for r in deadletters]
    got = sorted((d.topic, base64.b64decode(d.original_b64), d.reason) for d in letters)
    want = sorted((stack_settings.topic(t), raw.replace(b"%s", ts), r) for t, raw, r in MALFORMED)
    assert got == want
