"""Every way a message can be wrong maps to one reason code (streams.validation)."""

from __future__ import annotations

import base64
import re
import sys
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from cityops.base.city.profiles import load_profile
from sensors_sim.simulation import Simulation
from streams import topics, validation
from streams.models import PRINTABLE_WORDS_BMP, AlertAck, GasDetectorReading, iso_z
from streams.validation import (
    DUPLICATE_FIELD,
    INVALID_JSON,
    INVALID_VALUE,
    KEY_MISMATCH,
    MISSING_FIELD,
    NOT_AN_OBJECT,
    OUT_OF_RANGE,
    TS_OUT_OF_BOUNDS,
    UNDECODABLE,
    UNKNOWN_FIELD,
    UNKNOWN_TOPIC,
    WRONG_TYPE,
    Rejection,
    check_key,
    decode,
    decode_model,
)
from tests.fixtures import events

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


def _with_member_first(name: str, value: object, event: dict[str, object]) -> bytes:
    """`event` as JSON with `"name": value` added in front (a repeated member)."""
    return b"{" + orjson.dumps({name: value})[1:-1] + b"," + orjson.dumps(event)[1:]


GOOD = gas()


@pytest.mark.parametrize(
    "raw",
    [
        # two detector ids: pydantic kept the last one, another consumer the first
        _with_member_first("detector_id", "GD-9999", GOOD),
        # a bad ts overridden by a good one (was accepted)
        _with_member_first("ts", "not a time", GOOD),
        # a good ts overridden by a bad one (was wrong_type: the real cause is the repeat)
        orjson.dumps(GOOD)[:-1] + b',"ts":"yesterday"}',
        # whitespace before the colon, and an escaped name that means the same member
        b'{"detector_id" : "X",' + orjson.dumps(GOOD)[1:],
        b'{"detector\\u005fid":"X",' + orjson.dumps(GOOD)[1:],
        # a nested value the model would never see
        _with_member_first("district", {"a": 1, "b": [1, 2]}, GOOD),
        # the same member three times, all equal
        b'{"lat":36.06,"lat":36.06,' + orjson.dumps(GOOD)[1:],
    ],
)
def test_repeated_member_name_is_a_duplicate_field(raw: bytes) -> None:
    result = decode(topics.GAS_DETECTOR, raw, NOW)
    assert isinstance(result, Rejection), result
    assert result.reason == DUPLICATE_FIELD, result
    assert "appears more than once" in result.message


def test_repeated_member_in_every_feed() -> None:
    samples = {
        topics.GAS_DETECTOR: events.gas(base=NOW - timedelta(minutes=1)),
        topics.STREETLIGHT_STATUS: events.light(base=NOW - timedelta(minutes=1)),
        topics.HEATING_STATION: events.station(base=NOW - timedelta(minutes=1)),
        topics.FLEET_GPS: events.truck(base=NOW - timedelta(minutes=1)),
    }
    for topic, event in samples.items():
        fields = orjson.loads(event.model_dump_json())
        assert isinstance(decode(topic, orjson.dumps(fields), NOW), type(event))
        for name in fields:
            raw = _with_member_first(name, fields[name], fields)
            result = decode(topic, raw, NOW)
            assert isinstance(result, Rejection) and result.reason == DUPLICATE_FIELD, (
                topic,
                name,
            )


def test_commas_inside_values_do_not_make_a_duplicate() -> None:
    """More commas than members sends the message to the exact check, which clears it."""
    raw = orjson.dumps(gas(district="Shinan, old town, north"))
    assert isinstance(decode(topics.GAS_DETECTOR, raw, NOW), GasDetectorReading)


def test_a_normal_message_never_takes_the_slow_duplicate_check(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The hot path pays one byte count: every event the simulator sends (all
    four feeds, as the wire encodes them) is cleared without the exact parser."""

    def slow(raw: bytes) -> str | None:
        raise AssertionError(f"exact check on a normal message: {raw!r}")

    monkeypatch.setattr(validation, "repeated_member", slow)
    sent = list(Simulation(load_profile("small"), 5, NOW).events(900))
    assert {e.topic for e in sent} == set(topics.FEED_TOPICS)
    for e in sent:
        result = validation.decode(e.topic, e.value, e.ts)
        assert not isinstance(result, Rejection), result


def test_repeated_member_in_an_ack_is_a_duplicate_field() -> None:
    raw = b'{"alert_id":"a:b:1","by":"x","by":"y","at":"2026-11-22T09:59:00Z"}'
    result = decode_model(AlertAck, raw)
    assert isinstance(result, Rejection) and result.reason == DUPLICATE_FIELD


@pytest.mark.parametrize(
    "district",
    [
        "shi\u202enan",  # right-to-left override
        "shi\u2066nan\u2069",  # isolates
        "shi\u200bnan",  # zero-width space
        "shi\u200dnan",  # zero-width joiner
        "\ufeffshinan",  # byte-order mark
        "shi\u2060nan",  # word joiner
        "shi\U000e0041nan",  # a tag character (invisible ASCII smuggling)
        "shi\u00a0nan",  # no-break space: looks like a space, is not one
        "shi\u2028nan",  # line separator
        "shi\x85nan",  # C1 next-line control
        "shi\ue000nan",  # private use
        " shinan",
        "shinan ",
        "shi  nan",
    ],
)
def test_district_must_be_printable_words(district: str) -> None:
    result = decode(topics.GAS_DETECTOR, orjson.dumps(gas(district=district)), NOW)
    assert isinstance(result, Rejection), district
    assert result.reason == INVALID_VALUE


@pytest.mark.parametrize("district", ["shinan", "District 12", "市南区", "Licheng-Quanzhou (old)"])
def test_district_accepts_names(district: str) -> None:
    result = decode(topics.GAS_DETECTOR, orjson.dumps(gas(district=district)), NOW)
    assert isinstance(result, GasDetectorReading), result


@pytest.mark.parametrize("name", ["detector_id"])
@pytest.mark.parametrize("bad", ["GD\u202e1", "GD\u200b1", "GD-１", "GD\u00a01"])
def test_identifiers_are_ascii_words(name: str, bad: str) -> None:
    result = decode(topics.GAS_DETECTOR, orjson.dumps(gas(**{name: bad})), NOW)
    assert isinstance(result, Rejection) and result.reason == INVALID_VALUE


def test_schema_pattern_for_district_is_never_stricter_than_the_model() -> None:
    """JSON Schema consumers get a BMP spelling of the rule: over every BMP code
    point it rejects only what the model rejects, and it rejects the bidi and
    zero-width characters."""
    schema = re.compile(PRINTABLE_WORDS_BMP)
    model_rejects = 0
    for cp in range(0x10000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        name = f"a{chr(cp)}b"
        in_model = isinstance(
            decode(topics.GAS_DETECTOR, orjson.dumps(gas(district=name)), NOW),
            GasDetectorReading,
        )
        if in_model:
            assert schema.match(name), f"U+{cp:04X} accepted by the model, not the schema"
        else:
            model_rejects += 1
    assert model_rejects > 2000  # the unassigned, private-use, controls, format
    for cp in (0x200B, 0x200D, 0x202A, 0x202E, 0x2066, 0x2069, 0xFEFF, 0x2060, 0xA0):
        assert not schema.match(f"a{chr(cp)}b"), f"U+{cp:04X}"
    assert sys.maxunicode > 0xFFFF


def test_key_must_be_the_entity_id() -> None:
    event = decode(topics.GAS_DETECTOR, orjson.dumps(GOOD), NOW)
    assert isinstance(event, GasDetectorReading)
    assert check_key(event, b"GD-0001") is None
    for key in (b"GD-0002", None, b"", b"GD-0001 "):
        rejection = check_key(event, key)
        assert rejection is not None and rejection.reason == KEY_MISMATCH, key
        assert "GD-0001" in rejection.message


def test_a_model_with_optional_fields_always_takes_the_exact_check() -> None:
    # AlertAck's `note` is optional: a comma count cannot prove its members unique.
    assert validation._commas_of_a_unique_object(AlertAck) == -1
    assert validation._commas_of_a_unique_object(GasDetectorReading) == 8
