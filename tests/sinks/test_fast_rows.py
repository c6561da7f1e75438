"""The sink's msgspec rows are the rows of the worker's validation, or nothing.

`fast_row` may decline any message (the exact path then decides); what it
returns must be exactly the row of what `decode_within` accepts: same values,
same types (a repr per value), same columns.
"""

from __future__ import annotations

import random

import pytest

from sinks.fast_rows import fast_row
from sinks.writer import TABLE_BY_TOPIC
from streams import topics
from streams.validation import Rejection, decode_within
from tests.fixtures.plain_variants import MAX_AGE, NEWEST, OLDEST, simulated_messages, variants


@pytest.fixture(scope="module")
def messages() -> list[tuple[str, bytes]]:
    return simulated_messages(7)


def _exact(topic: str, raw: bytes) -> tuple | None:
    event = decode_within(topic, raw, OLDEST, NEWEST, MAX_AGE)
    return None if isinstance(event, Rejection) else TABLE_BY_TOPIC[topic].row(event)


def _same(fast: tuple, exact: tuple) -> bool:
    return [repr(v) for v in fast] == [repr(v) for v in exact]


def test_valid_messages_give_the_exact_rows(messages: list[tuple[str, bytes]]) -> None:
    for topic, raw in messages:
        fast = fast_row(topic, raw, OLDEST, NEWEST)
        exact = _exact(topic, raw)
        assert fast is not None and exact is not None, raw
        assert _same(fast, exact), raw


def test_anything_it_accepts_the_exact_path_accepts_with_the_same_row(
    messages: list[tuple[str, bytes]],
) -> None:
    rng = random.Random(11)
    seen = {topic: raw for topic, raw in messages}  # one message per feed...
    seen.update(dict(rng.sample(messages, 40)))  # ...and a few more
    accepted = declined = 0
    for topic, raw in [*seen.items(), *rng.sample(messages, 40)]:
        for variant in variants(topic, raw, rng):
            fast = fast_row(topic, variant, OLDEST, NEWEST)
            if fast is None:
                declined += 1
                continue
            accepted += 1
            exact = _exact(topic, variant)
            assert exact is not None, variant
            assert _same(fast, exact), variant
    assert accepted > 100 and declined > 1000  # both ways taken


def test_declined_messages_are_the_exact_paths_to_judge() -> None:
    assert fast_row("no.such.topic", b"{}", OLDEST, NEWEST) is None
    assert fast_row(topics.GAS_DETECTOR, None, OLDEST, NEWEST) is None
