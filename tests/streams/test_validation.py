"""Every way a message can be wrong maps to one reason code (streams.validation)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from streams import topics
from streams.models import GasDetectorReading, iso_z
from streams.validation import (
    INVALID_JSON,
    INVALID_VALUE,
    MISSING_FIELD,
    NOT_AN_OBJECT,
    OUT_OF_RANGE,
    TS_OUT_OF_BOUNDS,
    UNDECODABLE,
    UNKNOWN_FIELD,
    UNKNOWN_TOPIC,
    WRONG_TYPE,
    Rejection,
    decode,
)

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def gas(**changes: object) -> dict[str, object]:
    event: dict[str, object] = {
        "detector_id": "GD-0001",
        "ts": "2026-11-22T09:59:00.000Z",
        "site_type": "restaurant",
        "district": "shinan",
        "lat": 36.06,
        "lon": 120.38,
        "lel_pct": 1.5,
        "status": "ok",
        "battery_pct": 88.0,
    }
    event.update(changes)
    return {k: v for k, v in event.items() if v is not ...}


def test_valid_event_decodes_to_model_in_utc() -> None:
    result = decode(topics.GAS_DETECTOR, orjson.dumps(gas(ts="2026-11-22T17:59:00+08:00")), NOW)
    assert isinstance(result, GasDetectorReading)
    assert result.ts == datetime(2026, 11, 22, 9, 59, tzinfo=UTC)
    assert iso_z(result.ts) == "2026-11-22T09:59:00.000Z"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"\xff\xfe\x00garbage", UNDECODABLE),
        (b'{"detector_id": "GD-1",', INVALID_JSON),
        (b"", INVALID_JSON),
        (b"[1, 2, 3]", NOT_AN_OBJECT),
        (b'"just a string"', NOT_AN_OBJECT),
        (orjson.dumps(gas(lel_pct=...)), MISSING_FIELD),
        (orjson.dumps(gas(colour="red")), UNKNOWN_FIELD),
        (orjson.dumps(gas(lel_pct="12")), WRONG_TYPE),
        (orjson.dumps(gas(ts=1700000000)), WRONG_TYPE),
        (orjson.dumps(gas(ts="2026-11-22T09:59:00")), WRONG_TYPE),  # no offset
        (orjson.dumps(gas(status="smoking")), INVALID_VALUE),
        (orjson.dumps(gas(detector_id="GD:1")), INVALID_VALUE),
        (orjson.dumps(gas(lel_pct=120.0)), OUT_OF_RANGE),
        (orjson.dumps(gas(lat=95.0)), OUT_OF_RANGE),
        (orjson.dumps(gas(detector_id="")), OUT_OF_RANGE),
        (orjson.dumps(gas(ts="2026-11-22T12:00:00Z")), TS_OUT_OF_BOUNDS),
        (orjson.dumps(gas(ts="2020-01-01T00:00:00Z")), TS_OUT_OF_BOUNDS),
    ],
)
def test_rejections_have_a_reason(raw: bytes, reason: str) -> None:
    result = decode(topics.GAS_DETECTOR, raw, NOW)
    assert isinstance(result, Rejection), result
    assert result.reason == reason
    assert result.message


def test_unknown_topic_and_tombstone() -> None:
    unknown = decode("nope.v1", b"{}", NOW)
    assert isinstance(unknown, Rejection) and unknown.reason == UNKNOWN_TOPIC
    tomb = decode(topics.GAS_DETECTOR, None, NOW)
    assert isinstance(tomb, Rejection) and tomb.reason == INVALID_JSON


def test_time_bounds_are_configurable() -> None:
    raw = orjson.dumps(gas(ts="2026-11-22T09:00:00Z"))
    strict = decode(topics.GAS_DETECTOR, raw, NOW, max_age=timedelta(minutes=30))
    assert isinstance(strict, Rejection) and strict.reason == TS_OUT_OF_BOUNDS
    assert isinstance(decode(topics.GAS_DETECTOR, raw, NOW), GasDetectorReading)


def test_deadletter_keeps_original_bytes_and_source() -> None:
    raw = b"\x00\x01not json"
    rejection = decode(topics.GAS_DETECTOR, raw, NOW)
    assert isinstance(rejection, Rejection)
    dl = rejection.to_deadletter(raw, b"GD-1", "p.gas.detector.v1", 3, 42, NOW)
    assert base64.b64decode(dl.original_b64) == raw
    assert base64.b64decode(dl.key_b64 or "") == b"GD-1"
    assert (dl.topic, dl.partition, dl.offset, dl.reason) == (
        "p.gas.detector.v1",
        3,
        42,
        "invalid_json",
    )


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"ts": "0001-01-01T00:00:00+14:00"}, WRONG_TYPE),
        ({"ts": "9999-12-31T23:59:59-14:00"}, WRONG_TYPE),
        ({"district": "shi\u0000nan"}, INVALID_VALUE),
        ({"district": "line\nbreak"}, INVALID_VALUE),
    ],
)
def test_values_postgres_or_utc_cannot_hold_are_rejected(
    changes: dict[str, object], reason: str
) -> None:
    result = decode(topics.GAS_DETECTOR, orjson.dumps(gas(**changes)), NOW)
    assert isinstance(result, Rejection), result
    assert result.reason == reason
