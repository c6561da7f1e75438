"""Event times as integer epoch milliseconds, the form rule state keeps them in.

Integers (not floats, not datetimes) so that state is plain JSON and equal
timestamps compare equal after a round trip through a changelog.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


def to_ms(ts: datetime) -> int:
    # integer arithmetic: ts.timestamp() * 1000 can round 0.123 s to 122 ms
    return (ts - _EPOCH) // _MS


def from_ms(ms: int) -> datetime:
    return _EPOCH + ms * _MS


def seconds_ms(seconds: float) -> int:
    return round(seconds * 1000)
