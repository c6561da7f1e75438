"""Recompute 1-minute roll-ups straight from stored readings.

The check behind "roll-ups in the database equal what their readings say": an
independent, deliberately plain implementation of the contract in the
`streams.windows` docstring (it shares only the contract's constants, never the
stream aggregators), working on the complete, time-sorted history of each
entity instead of incremental state. Readings that the stream dropped as late
are in the database, so the windows they missed differ; every other window
must match (float sums to a relative tolerance).
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TypeVar

from streams import topics
from streams.models import (
    Event,
    FleetGpsFix,
    GasDetectorReading,
    HeatingStationReading,
    Rollup,
    StreetlightStatus,
)
from streams.windows.common import (
    ALARM_LEL_PCT,
    DARK_PROBE,
    DEFAULT_WINDOW,
    EARTH_RADIUS_KM,
    EPOCH,
    ONLINE_WITHIN,
    PREVIOUS_FIX_WITHIN,
    SNAPSHOT_EMIT_WITHIN,
    SNAPSHOT_MAX_AGE,
    WARM_INDOOR_C,
    WASTE_KINDS,
    DarkClock,
)

E = TypeVar("E", bound=Event)


def _ts(event: Event) -> datetime:
    return event.ts


def _checked(readings: Iterable[Event], model: type[E]) -> list[E]:
    kept: list[E] = []
    for r in readings:
        if not isinstance(r, model):
            raise TypeError(f"{type(r).__name__} among {model.__name__} readings")
        kept.append(r)
    return kept


def _unique_sorted(readings: Iterable[E], key: Callable[[E], Hashable]) -> list[E]:
    """First reading per key (as the database keeps it), sorted by ts (stable)."""
    seen: set[Hashable] = set()
    kept: list[E] = []
    for r in readings:
        k = key(r)
        if k not in seen:
            seen.add(k)
            kept.append(r)
    return sorted(kept, key=_ts)


def _between(rs: Sequence[E], lo: datetime, hi: datetime) -> Sequence[E]:
    """Readings with lo <= ts < hi of a ts-sorted list."""
    return rs[bisect_left(rs, lo, key=_ts) : bisect_left(rs, hi, key=_ts)]


def _group(rs: Iterable[E], key: Callable[[E], str]) -> dict[str, list[E]]:
    groups: dict[str, list[E]] = defaultdict(list)
    for r in rs:
        groups[key(r)].append(r)  # stays ts-sorted: rs is
    return dict(groups)


def _gas(
    readings: Iterable[GasDetectorReading], buckets: list[datetime], window: timedelta
) -> Iterable[Rollup]:
    rs = _unique_sorted(readings, lambda r: (r.district, r.detector_id, r.ts))
    for district, drs in sorted(_group(rs, lambda r: r.district).items()):
        first_seen: dict[str, datetime] = {}
        for r in drs:
            first_seen.setdefault(r.detector_id, r.ts)
        firsts = sorted(first_seen.values())
        for bucket in buckets:
            end = bucket + window
            inside = _between(drs, bucket, end)
            if not inside:
                continue
            known = bisect_left(firsts, end)
            online = len({r.detector_id for r in _between(drs, end - ONLINE_WITHIN, end)})
            yield Rollup(
                feed="gas",
                district=district,
                bucket=bucket,
                bucket_end=end,
                readings=len(inside),
                detectors_reporting=len({r.detector_id for r in inside}),
                detectors_known=known,
                detectors_online=online,
                detector_online_rate=online / known,
                lel_max_pct=max(r.lel_pct for r in inside),
                detectors_alarming=len(
                    {r.detector_id for r in inside if r.lel_pct >= ALARM_LEL_PCT}
                ),
            )


def _streetlight(
    readings: Iterable[StreetlightStatus],
    buckets: list[datetime],
    window: timedelta,
    city: DarkClock,
) -> Iterable[Rollup]:
    rs = _unique_sorted(readings, lambda r: (r.district, r.light_id, r.ts))
    for district, drs in sorted(_group(rs, lambda r: r.district).items()):
        lights = _group(drs, lambda r: r.light_id)
        for bucket in buckets:
            end = bucket + window
            dark = city.is_dark(end - DARK_PROBE)
            snapshot: list[StreetlightStatus] = []
            newest: datetime | None = None
            for statuses in lights.values():
                i = bisect_left(statuses, end, key=_ts)
                if i == 0:
                    continue
                last = statuses[i - 1]
                newest = last.ts if newest is None else max(newest, last.ts)
                if last.ts >= end - SNAPSHOT_MAX_AGE:
                    snapshot.append(last)
            if newest is None or newest < end - SNAPSHOT_EMIT_WITHIN:
                continue
            lit = sum(1 for s in snapshot if s.power_state in ("on", "dim") and s.fault is None)
            yield Rollup(
                feed="streetlight",
                district=district,
                bucket=bucket,
                bucket_end=end,
                readings=len(_between(drs, bucket, end)),
                lights_reporting=len(snapshot),
                lights_expected_lit=len(snapshot) if dark else 0,
                lights_lit=lit if dark else 0,
                lit_rate=lit / len(snapshot) if dark and snapshot else None,
                power_w_sum=sum(s.power_w for s in snapshot),
            )


def _heating(
    readings: Iterable[HeatingStationReading], buckets: list[datetime], window: timedelta
) -> Iterable[Rollup]:
    rs = _unique_sorted(readings, lambda r: (r.district, r.station_id, r.ts))
    for district, drs in sorted(_group(rs, lambda r: r.district).items()):
        for bucket in buckets:
            inside = _between(drs, bucket, bucket + window)
            if not inside:
                continue
            stations = {r.station_id for r in inside}
            cold = {r.station_id for r in inside if r.indoor_temp_c < WARM_INDOOR_C}
            supply = sum(r.supply_temp_c for r in inside)
            ret = sum(r.return_temp_c for r in inside)
            yield Rollup(
                feed="heating",
                district=district,
                bucket=bucket,
                bucket_end=bucket + window,
                readings=len(inside),
                stations_reporting=len(stations),
                supply_temp_sum_c=supply,
                return_temp_sum_c=ret,
                supply_temp_mean_c=supply / len(inside),
                return_temp_mean_c=ret / len(inside),
                indoor_temp_min_c=min(r.indoor_temp_c for r in inside),
                stations_warm=len(stations - cold),
                warm_share=len(stations - cold) / len(stations),
            )


def _great_circle_km(a: FleetGpsFix, b: FleetGpsFix) -> float:
    la1, la2 = math.radians(a.lat), math.radians(b.lat)
    h = (
        math.sin((la2 - la1) / 2) ** 2
        + math.cos(la1) * math.cos(la2) * math.sin(math.radians(b.lon - a.lon) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def _fleet(
    readings: Iterable[FleetGpsFix], buckets: list[datetime], window: timedelta
) -> Iterable[Rollup]:
    rs = _unique_sorted(readings, lambda r: (r.truck_id, r.ts))
    tracks = _group(rs, lambda r: r.truck_id)
    for bucket in buckets:
        end = bucket + window
        by_district = _group(_between(rs, bucket, end), lambda r: r.district)
        km: dict[str, float] = defaultdict(float)
        load: dict[tuple[str, str], float] = defaultdict(float)
        for track in tracks.values():
            first = max(1, bisect_left(track, bucket, key=_ts))
            for j in range(first, bisect_left(track, end, key=_ts)):
                fix, prev = track[j], track[j - 1]
                if prev.ts >= bucket or fix.ts - prev.ts <= PREVIOUS_FIX_WITHIN:
                    km[fix.district] += _great_circle_km(prev, fix)
                    load[fix.district, fix.waste_kind] += max(0.0, fix.load_kg - prev.load_kg)
        for district, inside in sorted(by_district.items()):
            loads = {kind: load.get((district, kind), 0.0) for kind in WASTE_KINDS}
            yield Rollup(
                feed="fleet",
                district=district,
                bucket=bucket,
                bucket_end=end,
                readings=len(inside),
                trucks_active=len({r.truck_id for r in inside if r.ignition}),
                km_travelled=km.get(district, 0.0),
                load_kitchen_kg=loads["kitchen"],
                load_recyclable_kg=loads["recyclable"],
                load_other_kg=loads["other"],
                load_hazardous_kg=loads["hazardous"],
            )


_FEED_OF_KEY = {**topics.FEED_NAME, **{name: name for name in topics.FEED_NAME.values()}}


def recompute_rollups(
    readings_by_feed: Mapping[str, Sequence[Event]],
    city: DarkClock,
    buckets: Iterable[datetime],
    *,
    window: timedelta = DEFAULT_WINDOW,
) -> list[Rollup]:
    """The roll-ups of `buckets` (window starts) from every stored reading of each feed.

    `readings_by_feed` is keyed by feed topic (`gas.detector.v1`) or short feed name
    (`gas`); give each feed's whole history up to the last bucket, in insertion order
    (the first of two readings with the same key wins, as in the database). The
    result is sorted by (bucket, feed, district), like `RollupWindows.close_until`.
    """
    wanted = sorted(set(buckets))
    for bucket in wanted:
        if (bucket - EPOCH) % window:
            raise ValueError(f"bucket {bucket.isoformat()} is not a window start")
    out: list[Rollup] = []
    for key, readings in readings_by_feed.items():
        feed = _FEED_OF_KEY.get(key)
        if feed == "gas":
            out.extend(_gas(_checked(readings, GasDetectorReading), wanted, window))
        elif feed == "streetlight":
            out.extend(_streetlight(_checked(readings, StreetlightStatus), wanted, window, city))
        elif feed == "heating":
            out.extend(_heating(_checked(readings, HeatingStationReading), wanted, window))
        elif feed == "fleet":
            out.extend(_fleet(_checked(readings, FleetGpsFix), wanted, window))
        else:
            raise ValueError(f"not a feed: {key!r}")
    out.sort(key=lambda r: (r.bucket, r.feed, r.district))
    return out
