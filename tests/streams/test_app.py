"""The real Faust worker against the real broker: bad input is dead-lettered with
the right reason and never stops the worker; valid input raises alerts."""

from __future__ import annotations

import asyncio
import base64
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from cityops.base.settings import Settings
from streams import topics
from streams.models import Alert, DeadLetter, iso_z
from tests.fixtures.pipeline import produce, read_topic, running_pipeline, wait_until

pytestmark = pytest.mark.integration


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
