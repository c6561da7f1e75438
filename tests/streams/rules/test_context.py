"""RuleContext.is_dark: the simulator city's fast path answers as `city.is_dark`."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from cityops.base.city.profiles import CityProfile, load_profile
from cityops.base.thresholds import with_overrides
from streams.rules.context import RuleContext
from streams.rules.timeutil import from_ms, to_ms
from tests.fixtures.city import FakeCity


def test_the_profile_city_is_asked_in_ms_with_the_same_answers() -> None:
    city = load_profile("small")
    ctx = RuleContext(with_overrides({}), city, "https://runbooks.example")
    assert ctx._dark_ms is not None
    rng = random.Random(7)
    start = to_ms(datetime(2026, 1, 1, tzinfo=UTC))
    for _ in range(20_000):  # a year, in random order: dawns, dusks, DST-free zone
        at = start + rng.randrange(366 * 86_400_000)
        assert ctx.is_dark(at) == city.is_dark(from_ms(at))


def test_other_cities_are_asked_as_before() -> None:
    class Subclass(CityProfile):
        def is_dark(self, ts: datetime) -> bool:  # an override the fast path must not skip
            return True

    fake = RuleContext(with_overrides({}), FakeCity(), "https://runbooks.example")
    assert fake._dark_ms is None
    assert fake.is_dark(to_ms(datetime(2026, 1, 1, 20, tzinfo=UTC)))
    assert not fake.is_dark(to_ms(datetime(2026, 1, 1, 12, tzinfo=UTC)))
    city = load_profile("small")
    sub = Subclass.__new__(Subclass)
    object.__setattr__(sub, "sun", city.sun)
    ctx = RuleContext(with_overrides({}), sub, "https://runbooks.example")
    assert ctx._dark_ms is None
    assert ctx.is_dark(to_ms(datetime(2026, 1, 1, 12, tzinfo=UTC)))
