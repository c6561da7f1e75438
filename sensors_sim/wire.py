"""What the simulator emits: `SimEvent`, and a fast formatter for `ts`.

`streams.models.iso_z` goes through strftime, a few microseconds per call;
consecutive events share their second, so the formatter caches the
"YYYY-MM-DDTHH:MM:SS." prefix per second and only appends milliseconds. A
test checks it against `iso_z`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import NamedTuple

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_ms(ts: datetime) -> int:
    """Epoch milliseconds of an aware datetime (integer arithmetic, no float rounding)."""
    if ts.tzinfo is None:
        raise ValueError(f"naive datetime {ts!r}: give a timezone (UTC on the wire)")
    return (ts - _EPOCH) // timedelta(milliseconds=1)


def from_ms(ms: int) -> datetime:
    return _EPOCH + timedelta(milliseconds=ms)


class SimEvent(NamedTuple):
    """One message: `topic` is the bare name from `streams.topics` (no prefix)."""

    topic: str
    key: bytes  # the entity id
    value: bytes  # JSON, exactly the fields of the topic's model
    ts_ms: int  # event time, epoch milliseconds (= the `ts` field)

    @property
    def ts(self) -> datetime:
        return from_ms(self.ts_ms)


class TsFormatter:
    """Epoch ms -> `2026-11-22T10:00:00.000Z`, identical to `streams.models.iso_z`."""

    __slots__ = ("_prefix", "_second")

    def __init__(self) -> None:
        self._second = -1
        self._prefix = ""

    def __call__(self, ms: int) -> str:
        second, milli = divmod(ms, 1000)
        if second != self._second:
            self._second = second
            self._prefix = from_ms(second * 1000).strftime("%Y-%m-%dT%H:%M:%S.")
        return f"{self._prefix}{milli:03d}Z"
