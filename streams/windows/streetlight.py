"""Streetlight roll-ups: a snapshot of every light's last-known status at each window end."""

from __future__ import annotations

from bisect import insort
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from streams.models import Rollup, StreetlightStatus
from streams.windows.columns import pack_statuses, unpack_statuses
from streams.windows.common import (
    DARK_PROBE,
    DEFAULT_WINDOW,
    LIT_POWER_STATES,
    SNAPSHOT_EMIT_WITHIN,
    SNAPSHOT_MAX_AGE,
    DarkClock,
    FeedName,
    WindowFloor,
)

# (ts, lit, power_w): all a snapshot needs of a status, kept small for ~300k lights.
_Status = tuple[datetime, bool, float]


@dataclass(slots=True)
class _Light:
    # The latest status before the closed horizon; the snapshots of later windows
    # start from it.
    last: _Status | None = None
    # Statuses at or after the closed horizon, sorted; usually empty or one.
    pending: list[_Status] | None = None

    def has(self, ts: datetime) -> bool:
        if self.last is not None and self.last[0] == ts:
            return True
        return self.pending is not None and any(s[0] == ts for s in self.pending)

    def settle(self, end: datetime) -> _Status | None:
        """Fold the pending statuses before `end` into `last` and return it."""
        pending = self.pending
        if pending:
            n = 0
            while n < len(pending) and pending[n][0] < end:
                n += 1
            if n:
                self.last = pending[n - 1]
                del pending[:n]
            if not pending:
                self.pending = None
        return self.last


def _status(event: StreetlightStatus) -> _Status:
    lit = event.power_state in LIT_POWER_STATES and event.fault is None
    return (event.ts, lit, event.power_w)


class StreetlightAggregator:
    feed: FeedName = "streetlight"

    def __init__(self, city: DarkClock, window: timedelta = DEFAULT_WINDOW) -> None:
        self.city = city
        self.window = window
        self._floor = WindowFloor(window)
        self._lights: dict[str, dict[str, _Light]] = {}
        self._readings: dict[datetime, dict[str, int]] = {}
        self._closed: datetime | None = None
        # The next window to emit; None until the first status is seen.
        self._next: datetime | None = None

    @property
    def open_windows(self) -> int:
        return sum(len(districts) for districts in self._readings.values())

    # Pickled at every checkpoint of the entity stage: the lights as columns
    # (`streams.windows.columns` says why).
    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_lights"] = {
            district: pack_statuses((i, light.last, light.pending) for i, light in lights.items())
            for district, lights in self._lights.items()
        }
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        packed = state.pop("_lights")
        self.__dict__.update(state)
        self._lights = {
            district: unpack_statuses(columns, _Light) for district, columns in packed.items()
        }

    def _light(self, event: StreetlightStatus) -> _Light:
        lights = self._lights.get(event.district)
        if lights is None:  # not `setdefault`: no new dict per event
            lights = self._lights[event.district] = {}
        light = lights.get(event.light_id)
        if light is None:
            light = lights[event.light_id] = _Light()
        return light

    def _start(self, first: datetime) -> None:
        """A status in the window starting at `first`: snapshots are due from there."""
        if self._closed is not None:
            first = max(first, self._closed)
        if self._next is None or first < self._next:
            self._next = first

    def add(self, event: StreetlightStatus) -> bool:
        light = self._light(event)
        if light.has(event.ts):
            return False
        if light.pending is None:
            light.pending = [_status(event)]
        else:
            insort(light.pending, _status(event))
        bucket = self._floor(event.ts)
        self._start(bucket)
        counts = self._readings.get(bucket)
        if counts is None:
            counts = self._readings[bucket] = {}
        counts[event.district] = counts.get(event.district, 0) + 1
        return True

    def remember(self, event: StreetlightStatus) -> None:
        light = self._light(event)
        # A late status is older than every pending one; it can only replace `last`.
        if light.last is None or event.ts > light.last[0]:
            light.last = _status(event)
        self._start(self._floor(event.ts))

    def close_until(self, horizon: datetime, data_end: datetime) -> list[Rollup]:
        out: list[Rollup] = []
        # Past the latest event time there is no data yet: those windows are skipped
        # rather than filled with copies of the last snapshot (a far watermark at the
        # end of a stream would otherwise emit without bound).
        limit = min(horizon, data_end)
        while self._next is not None and self._next + self.window <= limit:
            snapshots = self._snapshot(self._next)
            self._next += self.window
            if not snapshots:
                # Every district is past SNAPSHOT_EMIT_WITHIN: so is each later window
                # until a new status arrives, and every status not yet folded into a
                # snapshot has its bucket in `_readings`. Jump there (an event-time
                # jump costs one step, not one per minute of the gap).
                ahead = [b for b in self._readings if b >= self._next]
                self._next = min(ahead) if ahead else max(self._next, limit)
            out.extend(snapshots)
        if self._next is not None and self._next < horizon:
            self._next = horizon
        for bucket in [b for b in self._readings if b + self.window <= horizon]:
            del self._readings[bucket]
        if self._closed is None or horizon > self._closed:
            self._closed = horizon
        return out

    @staticmethod
    def _recent(lights: dict[str, _Light], end: datetime) -> bool:
        """Whether a district with nothing reporting had a status within
        SNAPSHOT_EMIT_WITHIN of `end` (its lights are settled up to `end`)."""
        since = end - SNAPSHOT_EMIT_WITHIN
        return any(light.last is not None and light.last[0] >= since for light in lights.values())

    def _snapshot(self, bucket: datetime) -> list[Rollup]:
        end = bucket + self.window
        fresh_since = end - SNAPSHOT_MAX_AGE
        dark = self.city.is_dark(end - DARK_PROBE)
        counts = self._readings.get(bucket, {})
        out: list[Rollup] = []
        for district, lights in sorted(self._lights.items()):
            known = reporting = lit = 0
            power = 0.0
            for light in lights.values():
                status = light.settle(end)
                if status is None:
                    continue
                known += 1
                if status[0] >= fresh_since:
                    reporting += 1
                    lit += status[1]
                    power += status[2]
            if not known:
                continue
            if not reporting and not self._recent(lights, end):
                continue
            out.append(
                Rollup(
                    feed="streetlight",
                    district=district,
                    bucket=bucket,
                    bucket_end=end,
                    readings=counts.get(district, 0),
                    lights_reporting=reporting,
                    lights_expected_lit=reporting if dark else 0,
                    lights_lit=lit if dark else 0,
                    lit_rate=(lit / reporting if reporting else None) if dark else None,
                    power_w_sum=power,
                )
            )
        return out
