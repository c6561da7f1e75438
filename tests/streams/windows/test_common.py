"""WindowFloor gives floor_to_window's answer, in and out of order."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from streams.windows.common import WindowFloor, floor_to_window


@pytest.mark.parametrize("window", [timedelta(minutes=1), timedelta(seconds=10)])
def test_same_answer_as_floor_to_window(window: timedelta) -> None:
    floor = WindowFloor(window)
    rng = random.Random(3)
    ts = datetime(2026, 11, 22, 9, 18, tzinfo=UTC)
    for _ in range(5_000):
        # mostly forward in small steps, sometimes back (late events), exact edges too
        step = rng.choice([0, 1, 999, 10_000, 59_999, 60_000, -61_000])
        ts += timedelta(milliseconds=step)
        assert floor(ts) == floor_to_window(ts, window)


def test_naive_time_is_refused() -> None:
    with pytest.raises(ValueError):
        WindowFloor()(datetime(2026, 1, 1))
