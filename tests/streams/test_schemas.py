"""The checked-in JSON Schema files match the models, and validate real events."""

from __future__ import annotations

import json

import jsonschema
import orjson
import pytest

from streams import topics
from streams.models import SCHEMA_MODELS
from streams.schemas import SCHEMA_DIR, render


@pytest.mark.parametrize("topic", sorted(SCHEMA_MODELS))
def test_checked_in_schema_is_current(topic: str) -> None:
    path = SCHEMA_DIR / f"{topic}.schema.json"
    assert path.exists(), f"missing {path}: run `cityops schemas`"
    assert path.read_text(encoding="utf-8") == render(topic), (
        f"{path.name} is stale: run `cityops schemas` and commit the result"
    )


def test_schema_accepts_a_valid_event_and_rejects_a_bad_one() -> None:
    schema = json.loads((SCHEMA_DIR / f"{topics.STREETLIGHT_STATUS}.schema.json").read_text())
    event = {
        "light_id": "SL-1",
        "ts": "2026-11-22T10:00:00.000Z",
        "circuit_id": "C-1",
        "cabinet_id": "K-1",
        "district": "shinan",
        "lat": 36.0,
        "lon": 120.3,
        "power_state": "on",
        "power_w": 120.0,
        "voltage_v": 221.5,
        "fault": None,
    }
    jsonschema.validate(event, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**event, "power_state": "blinking"}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**event, "extra": 1}, schema)
    assert orjson.dumps(event)
