"""Plainly valid messages: msgspec's event has the fields and values of the worker's
validation, or the message is left to that validation."""

from __future__ import annotations

import random

import orjson
import pytest

from streams.models import MODEL_BY_TOPIC
from streams.plain import _ASCII_CLASS, EVENT_TYPES, TWIN_BY_TOPIC, decode_plain
from streams.validation import Rejection, decode_within
from tests.fixtures.plain_variants import MAX_AGE, NEWEST, OLDEST, simulated_messages, variants


@pytest.fixture(scope="module")
def messages() -> list[tuple[str, bytes]]:
    return simulated_messages(5)


def _same_event(plain: object, exact: object, topic: str) -> bool:
    names = list(MODEL_BY_TOPIC[topic].model_fields)
    return [repr(getattr(plain, n)) for n in names] == [
        repr(getattr(exact, n)) for n in names
    ] and getattr(plain, "entity_id") == getattr(exact, "entity_id")  # noqa: B009


def test_the_structs_carry_the_models_fields_in_order() -> None:
    for topic, model in MODEL_BY_TOPIC.items():
        assert TWIN_BY_TOPIC[topic].__struct_fields__ == tuple(model.model_fields)
        assert EVENT_TYPES[topic] == (model, TWIN_BY_TOPIC[topic])


def test_valid_messages_decode_to_the_same_events(messages: list[tuple[str, bytes]]) -> None:
    for topic, raw in messages:
        plain = decode_plain(topic, raw, OLDEST, NEWEST)
        exact = decode_within(topic, raw, OLDEST, NEWEST, MAX_AGE)
        assert plain is not None and not isinstance(exact, Rejection), raw
        assert isinstance(plain, TWIN_BY_TOPIC[topic])
        assert _same_event(plain, exact, topic), raw


def test_what_it_accepts_the_worker_accepts_with_the_same_values(
    messages: list[tuple[str, bytes]],
) -> None:
    rng = random.Random(13)
    accepted = declined = 0
    for topic, raw in rng.sample(messages, 60):
        for variant in variants(topic, raw, rng):
            plain = decode_plain(topic, variant, OLDEST, NEWEST)
            if plain is None:
                declined += 1
                continue
            accepted += 1
            exact = decode_within(topic, variant, OLDEST, NEWEST, MAX_AGE)
            assert not isinstance(exact, Rejection), variant
            assert _same_event(plain, exact, topic), variant
    assert accepted > 100 and declined > 1000  # both ways taken


def test_a_newline_cannot_carry_an_id_past_the_joined_check(
    messages: list[tuple[str, bytes]],
) -> None:
    # `ts` and the ids are checked as one newline-joined line: a newline inside one
    # value shifts the others, so the line fails (and the worker's validation decides)
    for topic, raw in messages[:50]:
        fields = orjson.loads(raw)
        ids = [n for n in fields if n.endswith("_id")]
        for name in ["ts", *ids]:
            for value in (f"{fields[name]}\n{fields[ids[0]]}", f"\n{fields[name]}"):
                variant = orjson.dumps({**fields, name: value})
                assert decode_plain(topic, variant, OLDEST, NEWEST) is None, variant
                assert isinstance(decode_within(topic, variant, OLDEST, NEWEST, MAX_AGE), Rejection)


@pytest.mark.parametrize(
    ("pattern", "regex"),
    [
        (r"^[A-Za-z0-9_.\-]+$", r"[A-Za-z0-9_.\-]+"),
        (r"^[a-f0-9.]+$", r"[a-f0-9.]+"),
        (r"^[^a]+$", None),  # negated: other characters than ASCII ones
        (r"^[\d]+$", None),  # an escape class (Unicode digits in pydantic's regex)
        (r"^[a-z&&[^x]]+$", None),  # a set operation in Rust's regex
        (r"^[a-z]*$", None),
        (r"^[a-z]+", None),
    ],
)
def test_only_plain_ascii_id_classes_are_run_by_re(pattern: str, regex: str | None) -> None:
    found = _ASCII_CLASS.fullmatch(pattern)
    assert (found[1] if found else None) == regex
