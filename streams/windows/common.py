"""Shared pieces of the roll-up windows: the contract's constants and small pure helpers."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Generic, Literal, Protocol, TypeVar

from cityops.base.thresholds import load_thresholds
from streams.models import Event, Rollup

FeedName = Literal["gas", "streetlight", "heating", "fleet"]

#: Windows are aligned on the Unix epoch, so every worker cuts the same buckets.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
DEFAULT_WINDOW = timedelta(minutes=1)

#: The rules' default thresholds (cityops/base/thresholds.toml): the roll-ups count
#: against the same numbers the alerts fire on.
_THRESHOLDS = load_thresholds()
#: gas: first alarm level of `gas.lel_high` (DESIGN.md, alert rules).
ALARM_LEL_PCT = float(_THRESHOLDS.gas.lel_major_pct)
#: gas: a detector is online while it reported within 3 heartbeat intervals.
ONLINE_WITHIN = timedelta(seconds=_THRESHOLDS.gas.offline_s)
#: streetlight: lights report every 5 min; three missed reports make a status stale.
SNAPSHOT_MAX_AGE = timedelta(minutes=15)
#: streetlight: a district's snapshots stop this long after its newest status, until
#: it reports again. Its stale windows (nothing reporting) still show for another
#: 15 min, so a district going silent reads as 0 reporting on the dashboards; an
#: event-time jump (a replay or device 32 days ahead made ~139k empty 1-minute
#: roll-ups, issue 12) emits at most 30 windows per district, not one per minute.
SNAPSHOT_EMIT_WITHIN = 2 * SNAPSHOT_MAX_AGE
#: streetlight: darkness is probed just inside the window, at its last instant.
DARK_PROBE = timedelta(milliseconds=1)
#: heating: the northern-China indoor minimum of the heating season.
WARM_INDOOR_C = float(_THRESHOLDS.heating.indoor_min_c)
#: How far the watermark must pass a window's end before it closes (`windows.close_after_s`:
#: shorter than the rules' `engine.allowed_lateness_s`, see thresholds.toml for why).
DEFAULT_ALLOWED_LATENESS = timedelta(seconds=_THRESHOLDS.windows.close_after_s)
#: fleet: the first fix of a window joins its predecessor only across a short gap,
#: so a truck that was off the air does not get a straight-line jump credited.
PREVIOUS_FIX_WITHIN = timedelta(seconds=60)
#: fleet: mean Earth radius (IUGG), for the haversine distance.
EARTH_RADIUS_KM = 6371.0088
WASTE_KINDS: tuple[str, ...] = ("kitchen", "recyclable", "other", "hazardous")
LIT_POWER_STATES = frozenset({"on", "dim"})


class DarkClock(Protocol):
    """The one part of `streams.rules.city.CityContext` the roll-ups need."""

    def is_dark(self, ts: datetime) -> bool: ...


def floor_to_window(ts: datetime, window: timedelta = DEFAULT_WINDOW) -> datetime:
    """The start of the window holding `ts` (a window is [start, start + window))."""
    if ts.tzinfo is None:
        raise ValueError("event time must be timezone-aware")
    return EPOCH + ((ts - EPOCH) // window) * window


class WindowFloor:
    """`floor_to_window` for a stream of timestamps that mostly fall in the window
    of the previous one: two comparisons instead of four datetime operations.
    Every aggregator floors each event (streetlights twice); events arrive in
    event-time order, so the window changes once a minute."""

    __slots__ = ("end", "start", "window")

    def __init__(self, window: timedelta = DEFAULT_WINDOW) -> None:
        self.window = window
        self.start: datetime | None = None
        self.end: datetime | None = None

    def __call__(self, ts: datetime) -> datetime:
        start, end = self.start, self.end
        if start is not None and end is not None and start <= ts < end:
            return start
        start = floor_to_window(ts, self.window)  # raises for a naive ts, as ever
        self.start, self.end = start, start + self.window
        return start


_W = TypeVar("_W")


class Bucketed(Generic[_W]):
    """A feed's open windows by start and district (`window_of` makes them), and the
    closing of those that end by a horizon (gas, heating, fleet)."""

    def __init__(self, window: timedelta = DEFAULT_WINDOW) -> None:
        self.window = window
        self._floor = WindowFloor(window)
        self._windows: dict[datetime, dict[str, _W]] = {}

    @property
    def open_windows(self) -> int:
        return sum(len(districts) for districts in self._windows.values())

    def _closing(self, horizon: datetime) -> Iterator[tuple[datetime, datetime, dict[str, _W]]]:
        """Each window that ends by `horizon`, oldest first, taken out of the open ones:
        (start, end, its districts)."""
        for bucket in sorted(b for b in self._windows if b + self.window <= horizon):
            yield bucket, bucket + self.window, self._windows.pop(bucket)


def window_of(
    windows: dict[datetime, dict[str, _W]], bucket: datetime, district: str, new: Callable[[], _W]
) -> _W:
    """The (bucket, district) window, created on first use. Not `setdefault`, which
    builds a dict and a window object (with its sets) per event only to drop them."""
    districts = windows.get(bucket)
    if districts is None:
        districts = windows[bucket] = {}
    win = districts.get(district)
    if win is None:
        win = districts[district] = new()
    return win


def watermark(max_event_ts: datetime | None, allowed_lateness: timedelta) -> datetime | None:
    """Event-time watermark: the latest event time seen minus the allowed lateness."""
    return None if max_event_ts is None else max_event_ts - allowed_lateness


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in km between two WGS-84 points (spherical Earth)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


E_contra = TypeVar("E_contra", bound=Event, contravariant=True)


class FeedAggregator(Protocol[E_contra]):
    """One feed's roll-ups over every district; the manager decides what is late.

    `add` takes an event of a still-open window and returns False for a duplicate
    (same district, entity and ts). `remember` takes a late event: its window has
    been emitted, but the per-entity state that later windows read (last-known
    light status, last heartbeat, previous truck fix) still learns from it.
    `close_until` emits, in bucket order, every window ending at or before
    `horizon` (window-aligned); `data_end` is the end of the window holding the
    latest event time seen, past which only snapshot feeds have anything to say.
    """

    feed: FeedName

    def add(self, event: E_contra) -> bool: ...

    def remember(self, event: E_contra) -> None: ...

    def close_until(self, horizon: datetime, data_end: datetime) -> list[Rollup]: ...

    @property
    def open_windows(self) -> int: ...
