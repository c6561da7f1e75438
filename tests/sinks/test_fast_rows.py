"""The sink's msgspec rows are the rows of the worker's validation, or nothing.

`fast_row` may decline any message (the exact path then decides); what it
returns must be exactly the row of what `decode_within` accepts: same values,
same types (a repr per value), same columns.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from cityops.base.city.profiles import load_profile
from sensors_sim.simulation import Simulation
from sinks.fast_rows import fast_row
from sinks.writer import TABLE_BY_TOPIC
from streams import topics
from streams.validation import Rejection, decode_within

START = datetime(2026, 11, 22, 9, 18, tzinfo=UTC)
NOW = START + timedelta(minutes=1)
MAX_AGE = timedelta(days=7)
OLDEST, NEWEST = NOW - MAX_AGE, NOW + timedelta(minutes=5)


@pytest.fixture(scope="module")
def messages() -> list[tuple[str, bytes]]:
    sim = Simulation(load_profile("small"), 7, START, ())
    out: list[tuple[str, bytes]] = []
    for event in sim.events_between(START, START + timedelta(seconds=40)):
        out.append((event.topic, event.value))
    assert {t for t, _ in out} == set(topics.FEED_TOPICS)
    return out


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


_TS = [
    "2026-11-22T09:18:00.123Z",
    "2026-11-22T17:18:00.123+08:00",
    "2026-11-22T09:18:00Z",
    "2026-11-22T09:18:00.1234567Z",
    "2026-11-22t09:18:00.123z",
    "2026-11-22 09:18:00.123Z",
    "2026-02-29T09:18:00.000Z",
    "2026-02-30T09:18:00.000Z",
    "2026-11-22T24:00:00.000Z",
    "2026-11-22T23:59:60.000Z",
    "2026-11-22T09:18:00.000",
    "0000-01-01T00:00:00.000Z",
    "2026-11-2\u0662T09:18:00.000Z",
    "2026-11-29T09:18:00.000Z",  # in the future
    "2020-11-22T09:18:00.000Z",  # too old
    "",
]
_NUMBERS = [0, -0.0, 1, 1.5, 1e2, 90, 90.0000001, -90, 1e400, 10**30, True, None, "1", [1]]
_STRINGS = [
    "GD-1",
    "GD-1\n",
    "",
    "x" * 64,
    "x" * 65,
    "GD 1",
    "\u00e9t\u00e9",
    "d01",
    "d 01",
    "d  01",
    " d01",
    "shi\u202enan",
    "\u6d66\u4e1c\u65b0\u533a",
    "d\u00a001",
    "\ud800",
    "ok",
    "lamp",
    None,
    1,
]


def _variants(topic: str, raw: bytes, rng: random.Random) -> Iterator[bytes]:
    fields = orjson.loads(raw)
    names = list(fields)
    for ts in _TS:
        yield orjson.dumps({**fields, "ts": ts})
    for name in names:
        for value in rng.sample(_NUMBERS, 5) + rng.sample(_STRINGS, 6):
            try:
                variant = orjson.dumps({**fields, name: value})
            except TypeError:  # 1e400, a lone surrogate: written by hand below
                continue
            yield variant
        yield raw.replace(f'"{name}":'.encode(), f'"{name}" :'.encode())
    yield orjson.dumps({k: fields[k] for k in reversed(names)})  # another order: valid
    yield orjson.dumps(fields, option=orjson.OPT_INDENT_2)  # whitespace: valid
    yield orjson.dumps({**fields, "extra": 1})
    first = names[1]
    yield raw[:-1] + b',"' + first.encode() + b'":' + orjson.dumps(fields[first]) + b"}"
    yield orjson.dumps({k: v for k, v in fields.items() if k != first})
    yield raw.replace(b'"lat":', b'"lat":1e400,"x":')
    yield raw.replace(b'"lat":', b'"lat":NaN,"x":')
    yield raw.replace(b'"district":"', b'"district":"\\ud800')
    yield raw.replace(b'"district":"', b'"district":"\\u0000')
    yield raw[:-1]
    yield b"[" + raw + b"]"
    yield raw.replace(b'":"', b'":"\xff', 1)


def test_anything_it_accepts_the_exact_path_accepts_with_the_same_row(
    messages: list[tuple[str, bytes]],
) -> None:
    rng = random.Random(11)
    seen = {topic: raw for topic, raw in messages}  # one message per feed...
    seen.update(dict(rng.sample(messages, 40)))  # ...and a few more
    accepted = declined = 0
    for topic, raw in [*seen.items(), *rng.sample(messages, 40)]:
        for variant in _variants(topic, raw, rng):
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
