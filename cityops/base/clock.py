"""The wall clock, as a value processes take (tests pass a fixed one)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

#: A source of the current UTC time.
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)
