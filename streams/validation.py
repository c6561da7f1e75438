"""Decode and validate one raw message. Pure: no I/O, the clock is passed in.

`decode()` returns either a valid event or a `Rejection` with a stable reason
code (the `reason` label of the dead-letter metric, and the field a responder
filters `deadletter.v1` on).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ValidationError

from streams.models import MODEL_BY_TOPIC, DeadLetter, Event

# Reason codes, in the order they are checked.
UNKNOWN_TOPIC = "unknown_topic"
UNDECODABLE = "undecodable"  # not UTF-8
INVALID_JSON = "invalid_json"
NOT_AN_OBJECT = "not_an_object"
DUPLICATE_FIELD = "duplicate_field"  # a member name twice in one object (RFC 8259 4.)
MISSING_FIELD = "missing_field"
UNKNOWN_FIELD = "unknown_field"
WRONG_TYPE = "wrong_type"
INVALID_VALUE = "invalid_value"  # not one of the allowed words, or a bad id pattern
OUT_OF_RANGE = "out_of_range"
TS_OUT_OF_BOUNDS = "ts_out_of_bounds"
KEY_MISMATCH = "key_mismatch"  # the Kafka key is not the payload's entity id (`check_key`)

REASONS = (
    UNKNOWN_TOPIC,
    UNDECODABLE,
    INVALID_JSON,
    NOT_AN_OBJECT,
    DUPLICATE_FIELD,
    MISSING_FIELD,
    UNKNOWN_FIELD,
    WRONG_TYPE,
    INVALID_VALUE,
    OUT_OF_RANGE,
    TS_OUT_OF_BOUNDS,
    KEY_MISMATCH,
)

_RANGE_ERRORS = {
    "greater_than",
    "greater_than_equal",
    "less_than",
    "less_than_equal",
    "string_too_short",
    "string_too_long",
    "finite_number",
}
_VALUE_ERRORS = {"literal_error", "enum", "string_pattern_mismatch"}
#: Reasons that a repeated member cannot explain (checked before it).
_BEFORE_DUPLICATE = {UNKNOWN_TOPIC, UNDECODABLE, INVALID_JSON, NOT_AN_OBJECT}


#: `Model.model_validate_json` without its Python wrapper (which only forwards
#: default keyword arguments to the same pydantic-core call): one Python frame
#: less per event on the worker's hottest path.
_VALIDATE_JSON: dict[str, Callable[[bytes], Any]] = {
    topic: model.__pydantic_validator__.validate_json for topic, model in MODEL_BY_TOPIC.items()
}


def _commas_of_a_unique_object(model: type[BaseModel]) -> int:
    """Commas in a valid message that names each member once: members - 1.

    Every field of a feed model is required and unknown fields are forbidden,
    so a message that validates names each of the N fields at least once; its
    top-level object has (members - 1) separating commas, and any other comma
    (inside a string, or inside the nested value of a repeated member) only adds
    to the count. So `raw.count(b",") == N - 1` proves there is no repeated
    member, and only a message with more commas needs the exact check."""
    fields = model.model_fields.values()
    if not all(f.is_required() for f in fields):
        return -1  # no count proves it: every message takes the exact check
    return len(fields) - 1


UNIQUE_COMMAS: dict[str, int] = {
    topic: _commas_of_a_unique_object(model) for topic, model in MODEL_BY_TOPIC.items()
}


class _Repeated(Exception):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def _no_repeats(pairs: list[tuple[str, Any]]) -> None:
    seen: set[str] = set()
    for name, _ in pairs:
        if name in seen:
            raise _Repeated(name)
        seen.add(name)


def repeated_member(raw: bytes) -> str | None:
    """The first member name a JSON object in `raw` repeats (at any depth), or
    None. Exact and slow (the stdlib parser, ~10x pydantic's): only for a
    message the comma count cannot clear, or one already rejected."""
    try:
        json.loads(raw, object_pairs_hook=_no_repeats)
    except _Repeated as repeated:
        return repeated.name
    except ValueError:  # not JSON (or not UTF-8): another reason says so
        return None
    return None


def _duplicate(name: str) -> Rejection:
    return Rejection(DUPLICATE_FIELD, f"member {name!r} appears more than once")


@dataclass(frozen=True, slots=True)
class Rejection:
    reason: str
    message: str

    def to_deadletter(
        self,
        raw: bytes,
        key: bytes | None,
        topic: str,
        partition: int,
        offset: int,
        now: datetime,
    ) -> DeadLetter:
        return DeadLetter(
            original_b64=base64.b64encode(raw).decode("ascii"),
            key_b64=None if key is None else base64.b64encode(key).decode("ascii"),
            topic=topic,
            partition=partition,
            offset=offset,
            reason=self.reason,
            message=self.message,
            rejected_at=now,
        )


def _reason_for(exc: ValidationError, raw: bytes) -> Rejection:
    first = exc.errors(include_url=False)[0]
    kind = first["type"]
    where = ".".join(str(p) for p in first["loc"]) or "<message>"
    if kind == "json_invalid":
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as err:
            return Rejection(UNDECODABLE, f"not UTF-8: {err.reason} at byte {err.start}")
        return Rejection(INVALID_JSON, f"not JSON: {first['msg']}")
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return Rejection(NOT_AN_OBJECT, "a message must be one JSON object")
    if kind == "missing":
        return Rejection(MISSING_FIELD, f"missing field {where!r}")
    if kind == "extra_forbidden":
        return Rejection(UNKNOWN_FIELD, f"unknown field {where!r}")
    if kind in _RANGE_ERRORS:
        return Rejection(OUT_OF_RANGE, f"{where}: {first['msg']} (got {first.get('input')!r})")
    if kind in _VALUE_ERRORS:
        return Rejection(INVALID_VALUE, f"{where}: {first['msg']} (got {first.get('input')!r})")
    return Rejection(WRONG_TYPE, f"{where}: {first['msg']} (got {first.get('input')!r})")


def decode_model(
    model: type[BaseModel], raw: bytes
) -> BaseModel | Rejection:  # for alerts.ack.v1 and other non-feed inputs
    try:
        result = model.model_validate_json(raw)
    except ValidationError as exc:
        rejection = _reason_for(exc, raw)
        if rejection.reason not in _BEFORE_DUPLICATE and (name := repeated_member(raw)):
            return _duplicate(name)
        return rejection
    # Human-rate inputs: the exact check always (their optional fields defeat
    # the comma count of `decode_within`).
    if name := repeated_member(raw):
        return _duplicate(name)
    return result


def decode(
    topic: str,
    raw: bytes | None,
    now: datetime,
    *,
    max_age: timedelta = timedelta(days=7),
    max_future: timedelta = timedelta(minutes=5),
) -> Event | Rejection:
    """Validate one message of a feed topic (`topic` without the prefix)."""
    return decode_within(topic, raw, now - max_age, now + max_future, max_age)


def decode_within(
    topic: str, raw: bytes | None, oldest: datetime, newest: datetime, max_age: timedelta
) -> Event | Rejection:
    """`decode` with the accepted time range worked out by the caller
    (`oldest` = now - max_age, `newest` = now + max_future): the processor does
    it once per batch, not twice per event."""
    validate = _VALIDATE_JSON.get(topic)
    if validate is None:
        return Rejection(UNKNOWN_TOPIC, f"no model for topic {topic!r}")
    if raw is None:
        return Rejection(INVALID_JSON, "empty message (tombstone)")
    try:
        event: Event = validate(raw)
    except ValidationError as exc:
        rejection = _reason_for(exc, raw)
        # A repeated member explains a missing/wrong value better ("ts" sent
        # twice, the last one bad); rejected messages are rare, so exact here.
        if rejection.reason not in _BEFORE_DUPLICATE and (name := repeated_member(raw)):
            return _duplicate(name)
        return rejection
    # RFC 8259: with a repeated name "the behavior of software that receives
    # such an object is unpredictable"; pydantic keeps the last value, another
    # consumer of the topic may keep the first. The comma count clears a normal
    # message in ~0.1 µs (cityops.bench.processing, issue 12 note).
    if raw.count(b",") != UNIQUE_COMMAS[topic] and (name := repeated_member(raw)):
        return _duplicate(name)
    ts = event.ts
    if ts < oldest:
        return Rejection(TS_OUT_OF_BOUNDS, f"ts {ts.isoformat()} is older than {max_age}")
    if ts > newest:
        return Rejection(TS_OUT_OF_BOUNDS, f"ts {ts.isoformat()} is in the future")
    return event


def check_key(event: Event, key: bytes | None) -> Rejection | None:
    """`key_mismatch` when a feed message's Kafka key is not its entity id
    (DESIGN.md "Topics": key = the entity id). Pure; for the runtimes to call
    on a decoded event: partitioning and per-partition state rely on the key."""
    entity_id = event.entity_id
    if key is not None and key == entity_id.encode():
        return None
    got = "no key" if key is None else f"key {key[:80]!r}"
    return Rejection(KEY_MISMATCH, f"{got} is not the entity id {entity_id!r}")
