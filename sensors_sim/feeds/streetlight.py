"""`streetlight.status.v1`: lights report every 5 min and when they switch.

Each light switches on a few minutes *before* dusk and off a few minutes
*after* dawn (its own fixed lead and lag). `is_dark` (the rules' notion of
"should be lit") is dusk to dawn, so a calm light is never dark while it
should be lit, and burns in daylight for minutes, not the 30 that
`streetlight.day_burning` needs.
"""

from __future__ import annotations

import heapq
from array import array
from bisect import bisect_left
from collections.abc import Iterator
from datetime import date, datetime

import numpy as np
import orjson

from cityops.base.city.profiles import CityProfile
from sensors_sim.feeds.base import DeviceFeed, Tick
from sensors_sim.incidents import (
    CabinetStorm,
    CableFault,
    DayBurning,
    Incident,
    LampDark,
)
from streams import topics

PERIOD_MS = 300_000
DAY_MS = 86_400_000
SWITCH_MIN_MS, SWITCH_MAX_MS = 2 * 60_000, 8 * 60_000
NOMINAL_V = 220.0
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


class StreetlightFeed(DeviceFeed):
    topic = topics.STREETLIGHT_STATUS
    salt = "streetlight"
    period_ms = PERIOD_MS

    def __init__(self, number: int, profile: CityProfile, seed: int, start: datetime) -> None:
        lights = profile.lights
        super().__init__(number, profile, lights.ids, seed)
        rng = self._rng
        n = len(lights.ids)
        lead = rng.integers(SWITCH_MIN_MS, SWITCH_MAX_MS, n)
        lag = rng.integers(SWITCH_MIN_MS, SWITCH_MAX_MS, n)
        self._lead: list[int] = lead.tolist()
        self._lag: list[int] = lag.tolist()
        # switch order: the longest lead first at dusk, the shortest lag first at dawn
        self._on_order: list[int] = np.argsort(-lead, kind="stable").tolist()
        self._off_order: list[int] = np.argsort(lag, kind="stable").tolist()
        # Asia/Shanghai has no daylight saving: one offset serves the whole run
        offset = start.astimezone(profile.sun.tz).utcoffset()
        self._tz_ms = 0 if offset is None else int(offset.total_seconds() * 1000)
        self._twilight: dict[int, tuple[int, int]] = {}
        self._switches: dict[int, tuple[array[int], array[int]]] = {}

    # --- schedule ---
    def twilight(self, day: int) -> tuple[int, int]:
        hit = self._twilight.get(day)
        if hit is None:
            hit = self._profile.sun.twilight_ms(date.fromordinal(day + _EPOCH_ORDINAL))
            self._twilight[day] = hit
        return hit

    def scheduled_on(self, device: int, t: int) -> bool:
        dawn, dusk = self.twilight((t + self._tz_ms) // DAY_MS)
        return t < dawn + self._lag[device] or t >= dusk - self._lead[device]

    def _day_switches(self, day: int) -> tuple[array[int], array[int]]:
        """(times, lights) of a local day's switches, sorted by time (compact: 300k lights)."""
        hit = self._switches.get(day)
        if hit is None:
            dawn, dusk = self.twilight(day)
            lag, lead = self._lag, self._lead
            times = array("q", [dawn + lag[i] for i in self._off_order])
            times.extend(dusk - lead[i] for i in self._on_order)
            lights = array("q", self._off_order)
            lights.extend(self._on_order)
            if len(self._switches) >= 2:  # long runs: keep only the days in use
                self._switches.pop(min(self._switches))
            hit = self._switches[day] = (times, lights)
        return hit

    def switch_ticks(self, t0: int, t1: int) -> Iterator[Tick]:
        first = (t0 + self._tz_ms) // DAY_MS
        last = (t1 + self._tz_ms) // DAY_MS
        f = self.number
        for day in range(first, last + 1):
            times, lights = self._day_switches(day)
            lo, hi = bisect_left(times, t0), bisect_left(times, t1)
            for k in range(lo, hi):
                yield (times[k], f, lights[k])

    def heartbeat_ticks(self, t0: int, t1: int) -> Iterator[Tick]:
        return heapq.merge(self._beats.ticks(t0, t1, self.number), self.switch_ticks(t0, t1))

    # --- incidents ---
    def add_incident(self, incident: Incident, start_ms: int, end_ms: int) -> int | None:
        if not isinstance(incident, LampDark | CableFault | CabinetStorm | DayBurning):
            return None
        devices = incident.light_numbers(self._profile)
        for d in devices:
            self._windows.setdefault(d, []).append((start_ms, end_ms, incident))
        self.add_reports([start_ms, end_ms], devices)
        return end_ms

    def render(self, device: int, t: int, ts: str) -> bytes | None:
        lights = self._profile.lights
        on = self.scheduled_on(device, t)
        fault: str | None = None
        voltage = NOMINAL_V + 3.0 * self._noise(device, t)
        for _, _, inc in self._incidents_at(device, t):
            if isinstance(inc, DayBurning):
                on = True
            elif isinstance(inc, LampDark):
                on, fault = False, inc.fault
            elif isinstance(inc, CableFault):
                on, fault, voltage = False, "cable", 0.0
            elif isinstance(inc, CabinetStorm):
                on, voltage = False, 0.0
        power = lights.rated_w[device] * (1.0 + 0.02 * self._noise(device, t + 1)) if on else 0.0
        return orjson.dumps(
            {
                "light_id": lights.ids[device],
                "ts": ts,
                "circuit_id": lights.circuit[device],
                "cabinet_id": lights.cabinet[device],
                "district": lights.district[device],
                "lat": lights.lat[device],
                "lon": lights.lon[device],
                "power_state": "on" if on else "off",
                "power_w": round(power, 1),
                "voltage_v": round(voltage, 1),
                "fault": fault,
            }
        )
