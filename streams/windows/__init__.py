"""1-minute tumbling roll-ups per (feed, district): the `rollups.v1` contract.

Small pure objects, no I/O and no clock (quix-streams-style aggregations):
`RollupWindows.add(feed_topic, event)` counts a valid event, and
`RollupWindows.close_until(watermark)` returns the `streams.models.Rollup` of
every (feed, district) window whose end is at or before the watermark, each
exactly once, sorted by (bucket, feed, district) (feed by name: fleet, gas,
heating, streetlight). `sinks.recompute.recompute_rollups` computes the same
values from stored readings with an independent implementation; the database
check compares the two, so this docstring is the definition of every field.

Windows and time
- Event time only. A window is [bucket, bucket_end) with bucket = ts floored to
  the window length (1 min) on the Unix epoch; ts exactly on the minute opens a
  new window.
- `watermark` = latest event time seen (any feed) - allowed lateness;
  `close_ready()` closes up to it, `flush()` closes every window holding data.
  A watermark behind an earlier one is a no-op. `close_until(mark, feed_topic)`
  and `close_ready(feed_topic)` close one feed on its own watermark, for
  workers whose feeds progress at different speeds (a backlog being caught up).
- Late: an event whose window was already closed is dropped from it and counted
  in `late_dropped`. Its entity state still learns from it (last light status,
  detector heartbeat, previous truck fix), so later windows agree with a
  recomputation from stored readings; only its own window misses it.
- Duplicates: one reading per (district, entity, ts) (per (truck, ts) for fleet);
  a repeat is ignored (first one wins) and counted in `duplicates`.
- Entities are assumed to stay in one district (trucks excepted); an entity seen
  under two districts counts in each.
- Memory: per window only counters and id sets; per entity a few recent
  timestamps (gas), the last status (streetlight) or the fixes of the last
  minute (fleet). Nothing grows with time beyond the number of entities.

Fields (`readings` = distinct readings of the feed and district in the window;
fields of the other feeds are None)
- gas (emitted for windows with readings):
  detectors_reporting = distinct detectors with a reading in the window;
  lel_max_pct = max lel_pct in the window;
  detectors_alarming = distinct detectors with a reading lel_pct >= 25 in it;
  detectors_known = detectors of the district with any reading ts < bucket_end;
  detectors_online = known detectors with a reading in [bucket_end - 180 s, bucket_end);
  detector_online_rate = online / known.
- streetlight (a snapshot, emitted for every window of a district once one of
  its lights has a status with ts < bucket_end, up to the window holding the
  latest event time seen; windows past it are skipped, not back-filled; and only
  while the district's newest status with ts < bucket_end is at least
  bucket_end - 30 min (SNAPSHOT_EMIT_WITHIN): a silent district or an event-time
  jump emits a bounded number of windows):
  per light the last status with ts < bucket_end, kept if ts >= bucket_end - 15 min;
  lights_reporting = kept lights; power_w_sum = sum of their power_w;
  if city.is_dark(bucket_end - 1 ms): lights_expected_lit = lights_reporting,
  lights_lit = kept lights with power_state in (on, dim) and fault null,
  lit_rate = lit / expected (None when expected is 0);
  by day lights_expected_lit = lights_lit = 0 and lit_rate = None.
- heating (windows with readings): stations_reporting = distinct stations;
  supply_temp_sum_c / return_temp_sum_c = sums over readings, the means = sum / readings;
  indoor_temp_min_c = min indoor_temp_c; stations_warm = distinct stations all of
  whose readings in the window have indoor_temp_c >= 18; warm_share = warm / reporting.
- fleet (windows with readings): trucks_active = distinct trucks with a fix with
  ignition true in the window. A step is a pair (previous fix, fix) of one truck
  (its fixes sorted by ts, across districts) where fix is in the window and the
  previous fix is in the window too or at most 60 s before fix; the step belongs
  to the district of the later fix. km_travelled = sum of haversine distances of
  the steps (km, Earth radius 6371.0088 km); load_<kind>_kg = sum over steps of
  max(0, fix.load_kg - previous.load_kg) for kind = fix.waste_kind (0.0 if none).
Sums are plain float sums: compare with a relative tolerance, not exactly.
"""

from __future__ import annotations

from streams.windows.common import (
    ALARM_LEL_PCT,
    DEFAULT_ALLOWED_LATENESS,
    DEFAULT_WINDOW,
    EARTH_RADIUS_KM,
    LIT_POWER_STATES,
    ONLINE_WITHIN,
    PREVIOUS_FIX_WITHIN,
    SNAPSHOT_EMIT_WITHIN,
    SNAPSHOT_MAX_AGE,
    WARM_INDOOR_C,
    WASTE_KINDS,
    DarkClock,
    FeedAggregator,
    floor_to_window,
    haversine_km,
    watermark,
)
from streams.windows.fleet import FleetAggregator
from streams.windows.gas import GasAggregator
from streams.windows.heating import HeatingAggregator
from streams.windows.manager import RollupWindows
from streams.windows.streetlight import StreetlightAggregator

__all__ = [
    "ALARM_LEL_PCT",
    "DEFAULT_ALLOWED_LATENESS",
    "DEFAULT_WINDOW",
    "EARTH_RADIUS_KM",
    "LIT_POWER_STATES",
    "ONLINE_WITHIN",
    "PREVIOUS_FIX_WITHIN",
    "SNAPSHOT_EMIT_WITHIN",
    "SNAPSHOT_MAX_AGE",
    "WARM_INDOOR_C",
    "WASTE_KINDS",
    "DarkClock",
    "FeedAggregator",
    "FleetAggregator",
    "GasAggregator",
    "HeatingAggregator",
    "RollupWindows",
    "StreetlightAggregator",
    "floor_to_window",
    "haversine_km",
    "watermark",
]
