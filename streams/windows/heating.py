"""Heating roll-ups: supply/return temperatures, coldest indoor reading, warm stations."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

from streams.models import HeatingStationReading, Rollup
from streams.windows.common import (
    WARM_INDOOR_C,
    Bucketed,
    FeedName,
    window_of,
)


@dataclass(slots=True)
class _HeatingWindow:
    readings: int = 0
    supply_sum: float = 0.0
    return_sum: float = 0.0
    indoor_min: float = math.inf
    seen: set[tuple[str, datetime]] = field(default_factory=set)
    stations: set[str] = field(default_factory=set)
    # Stations with at least one cold reading; warm = reporting minus these.
    cold: set[str] = field(default_factory=set)


class HeatingAggregator(Bucketed[_HeatingWindow]):
    feed: FeedName = "heating"

    def add(self, event: HeatingStationReading) -> bool:
        bucket = self._floor(event.ts)
        win = window_of(self._windows, bucket, event.district, _HeatingWindow)
        key = (event.station_id, event.ts)
        if key in win.seen:
            return False
        win.seen.add(key)
        win.readings += 1
        win.supply_sum += event.supply_temp_c
        win.return_sum += event.return_temp_c
        win.indoor_min = min(win.indoor_min, event.indoor_temp_c)
        win.stations.add(event.station_id)
        if event.indoor_temp_c < WARM_INDOOR_C:
            win.cold.add(event.station_id)
        return True

    def remember(self, event: HeatingStationReading) -> None:
        """Heating windows read nothing from earlier windows."""

    def close_until(self, horizon: datetime, data_end: datetime) -> list[Rollup]:
        out: list[Rollup] = []
        for bucket, end, districts in self._closing(horizon):
            for district, win in sorted(districts.items()):
                warm = len(win.stations) - len(win.cold)
                out.append(
                    Rollup(
                        feed="heating",
                        district=district,
                        bucket=bucket,
                        bucket_end=end,
                        readings=win.readings,
                        stations_reporting=len(win.stations),
                        supply_temp_sum_c=win.supply_sum,
                        return_temp_sum_c=win.return_sum,
                        supply_temp_mean_c=win.supply_sum / win.readings,
                        return_temp_mean_c=win.return_sum / win.readings,
                        indoor_temp_min_c=win.indoor_min,
                        stations_warm=warm,
                        warm_share=warm / len(win.stations),
                    )
                )
        return out
