"""Fleet roll-ups: active trucks, km travelled and load collected per waste kind."""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple

from streams.models import FleetGpsFix, Rollup
from streams.windows.common import (
    DEFAULT_WINDOW,
    PREVIOUS_FIX_WITHIN,
    WASTE_KINDS,
    Bucketed,
    FeedName,
    haversine_km,
    window_of,
)


class _Fix(NamedTuple):
    ts: datetime
    district: str
    lat: float
    lon: float
    load_kg: float
    waste_kind: str


def _ts(fix: _Fix) -> datetime:
    return fix.ts


@dataclass(slots=True)
class _FleetWindow:
    readings: int = 0
    trucks: set[str] = field(default_factory=set)
    active: set[str] = field(default_factory=set)
    km: float = 0.0
    load_kg: dict[str, float] = field(default_factory=lambda: dict.fromkeys(WASTE_KINDS, 0.0))


class FleetAggregator(Bucketed[_FleetWindow]):
    feed: FeedName = "fleet"

    def __init__(self, window: timedelta = DEFAULT_WINDOW) -> None:
        super().__init__(window)
        # Per truck, not per district: a truck's track continues across a boundary.
        # Sorted by ts; fixes older than the closed horizon minus PREVIOUS_FIX_WITHIN
        # can no longer precede a counted step and are trimmed when the list is touched.
        self._trucks: dict[str, list[_Fix]] = {}
        self._keep_since: datetime | None = None

    def _note(self, event: FleetGpsFix) -> bool:
        track = self._trucks.setdefault(event.truck_id, [])
        keep = self._keep_since
        if keep is not None and track and track[0].ts < keep:
            del track[: bisect_left(track, keep, key=_ts)]
        i = bisect_left(track, event.ts, key=_ts)
        if i < len(track) and track[i].ts == event.ts:
            return False
        if keep is None or event.ts >= keep:
            fix = _Fix(
                event.ts, event.district, event.lat, event.lon, event.load_kg, event.waste_kind
            )
            track.insert(i, fix)
        return True

    def add(self, event: FleetGpsFix) -> bool:
        if not self._note(event):
            return False
        bucket = self._floor(event.ts)
        win = window_of(self._windows, bucket, event.district, _FleetWindow)
        win.readings += 1
        win.trucks.add(event.truck_id)
        if event.ignition:
            win.active.add(event.truck_id)
        return True

    def remember(self, event: FleetGpsFix) -> None:
        self._note(event)

    def close_until(self, horizon: datetime, data_end: datetime) -> list[Rollup]:
        out: list[Rollup] = []
        for bucket, end, windows in self._closing(horizon):
            trucks = set().union(*(win.trucks for win in windows.values()))
            for truck in sorted(trucks):
                self._steps(self._trucks[truck], bucket, end, windows)
            for district, win in sorted(windows.items()):
                out.append(
                    Rollup(
                        feed="fleet",
                        district=district,
                        bucket=bucket,
                        bucket_end=end,
                        readings=win.readings,
                        trucks_active=len(win.active),
                        km_travelled=win.km,
                        load_kitchen_kg=win.load_kg["kitchen"],
                        load_recyclable_kg=win.load_kg["recyclable"],
                        load_other_kg=win.load_kg["other"],
                        load_hazardous_kg=win.load_kg["hazardous"],
                    )
                )
        keep = horizon - PREVIOUS_FIX_WITHIN
        if self._keep_since is None or keep > self._keep_since:
            self._keep_since = keep
        return out

    @staticmethod
    def _steps(
        track: list[_Fix], bucket: datetime, end: datetime, windows: dict[str, _FleetWindow]
    ) -> None:
        """Credit each step ending in the window to the district of its later fix."""
        i = bisect_left(track, bucket, key=_ts)
        for j in range(max(i, 1), len(track)):
            fix = track[j]
            if fix.ts >= end:
                break
            prev = track[j - 1]
            if prev.ts < bucket and fix.ts - prev.ts > PREVIOUS_FIX_WITHIN:
                continue
            win = windows[fix.district]
            win.km += haversine_km(prev.lat, prev.lon, fix.lat, fix.lon)
            gained = fix.load_kg - prev.load_kg
            if gained > 0:
                win.load_kg[fix.waste_kind] += gained
