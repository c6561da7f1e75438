"""Dawn and dusk at the city centre, cached per local date.

`is_dark` is asked for every streetlight event (by the rules and by the
simulator), while the answer only changes twice a day: astral is consulted once
per local date and the result kept as two epoch-millisecond instants. The local
day of the last answer is kept as an epoch-millisecond range too, so the usual
call (same day as the previous one) is two integer comparisons: finding the
local date with `datetime.fromtimestamp` was 9 % of the worker's processing
time (pyinstrument, megacity, docs/benchmarks.md).
"""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from astral import Observer
from astral.sun import dawn, dusk

_DAY_MS = 86_400_000


class SunClock:
    """Civil dawn/dusk (sun 6 degrees below the horizon) at one place."""

    def __init__(self, lat: float, lon: float, timezone: str) -> None:
        self._observer = Observer(latitude=lat, longitude=lon)
        self.tz = ZoneInfo(timezone)
        self._cache: dict[date, tuple[int, int]] = {}
        self._lock = threading.Lock()
        # (local day start, next local day start, dawn, dusk) of the last answer,
        # replaced as one tuple so that threads never see a torn update
        self._day: tuple[int, int, int, int] = (0, 0, 0, 0)

    def local_date(self, ts_ms: int) -> date:
        return datetime.fromtimestamp(ts_ms / 1000, self.tz).date()

    def twilight_ms(self, day: date) -> tuple[int, int]:
        """(dawn, dusk) of a local date, as epoch milliseconds."""
        hit = self._cache.get(day)
        if hit is not None:
            return hit
        try:
            dawn_t = dawn(self._observer, day, tzinfo=self.tz)
            dusk_t = dusk(self._observer, day, tzinfo=self.tz)
            value = (_to_ms(dawn_t), _to_ms(dusk_t))
        except ValueError:
            # Polar day or night (the sun never crosses -6 degrees): not one of
            # our cities, but answer something sane - dark 18:00 to 06:00.
            midnight = datetime(day.year, day.month, day.day, tzinfo=self.tz)
            value = (_to_ms(midnight + timedelta(hours=6)), _to_ms(midnight + timedelta(hours=18)))
        with self._lock:
            self._cache[day] = value
        return value

    def is_dark_ms(self, ts_ms: int) -> bool:
        start, end, dawn_ms, dusk_ms = self._day
        if not start <= ts_ms < end:
            day = self.local_date(ts_ms)
            dawn_ms, dusk_ms = self.twilight_ms(day)
            midnight = datetime(day.year, day.month, day.day, tzinfo=self.tz)
            following = day + timedelta(days=1)
            next_midnight = datetime(following.year, following.month, following.day, tzinfo=self.tz)
            start, end = _to_ms(midnight), _to_ms(next_midnight)
            if start <= ts_ms < end:  # a local day that starts at midnight (not skipped by DST)
                self._day = (start, end, dawn_ms, dusk_ms)
        return ts_ms < dawn_ms or ts_ms >= dusk_ms

    def is_dark(self, ts: datetime) -> bool:
        if ts.tzinfo is None:
            raise ValueError("is_dark needs an aware datetime")
        return self.is_dark_ms(_to_ms(ts))


def _to_ms(ts: datetime) -> int:
    # integer arithmetic: ts.timestamp() * 1000 can round 0.123 s to 122 ms
    return (ts - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)
