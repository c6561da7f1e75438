"""`heating.station.v1`: heat-exchange stations every 60 s, following their enterprise's curve.

Outdoor temperature is a daily sine around a winter mean (coldest before
dawn); each station runs `margin_c` above its enterprise's heating curve for
that outdoor temperature, return water 15-20 C cooler, pressures about 0.6 /
0.3 MPa, and its buildings at 19-23 C.
"""

from __future__ import annotations

import math
from datetime import datetime

import orjson

from cityops.base.city.profiles import CityProfile
from sensors_sim.feeds.base import DeviceFeed
from sensors_sim.incidents import (
    BurstPipe,
    ColdBuilding,
    ColdSnap,
    Incident,
    IncidentError,
    StationSilent,
    SupplyTempLow,
)
from streams import topics

PERIOD_MS = 60_000
DAY_MS = 86_400_000
WINTER_MEAN_C, WINTER_SWING_C = -3.0, 4.0
_TWO_PI = 2 * math.pi


class HeatingFeed(DeviceFeed):
    topic = topics.HEATING_STATION
    salt = "heating"
    period_ms = PERIOD_MS

    def __init__(self, number: int, profile: CityProfile, seed: int, start: datetime) -> None:
        st = profile.stations
        super().__init__(number, profile, st.ids, seed)
        rng = self._rng
        n = len(st.ids)
        self._curve = [profile.enterprise(e) for e in st.enterprise]
        self._delta_t: list[float] = rng.uniform(15.5, 19.5, n).tolist()  # supply - return
        self._p_supply: list[float] = rng.uniform(0.57, 0.63, n).tolist()
        self._p_return: list[float] = rng.uniform(0.27, 0.33, n).tolist()
        districts = sorted({d.district_id for d in profile.districts})
        # coast vs inland: a fixed small offset per district
        self._district_c = {d: ((k * 7) % 5 - 2) * 0.3 for k, d in enumerate(districts)}
        offset = start.astimezone(profile.sun.tz).utcoffset()
        self._tz_ms = 0 if offset is None else int(offset.total_seconds() * 1000)
        self._snaps: dict[str, list[tuple[int, int, ColdSnap]]] = {}

    def add_incident(self, incident: Incident, start_ms: int, end_ms: int) -> int | None:
        if isinstance(incident, ColdSnap):
            if incident.entity_id not in self._district_c:
                raise IncidentError(f"cold_snap: no district {incident.entity_id!r}")
            self._snaps.setdefault(incident.entity_id, []).append((start_ms, end_ms, incident))
            return end_ms
        if not isinstance(incident, BurstPipe | ColdBuilding | SupplyTempLow | StationSilent):
            return None
        device = self._device(incident, self._profile.index.station, "station")
        self._windows.setdefault(device, []).append((start_ms, end_ms, incident))
        if isinstance(incident, StationSilent):
            self.add_reports([end_ms], [device])  # back online
        return end_ms

    def outdoor_c(self, district: str, t: int) -> tuple[float, float]:
        """(outdoor temperature, the part of it from cold snaps stations do not follow)."""
        hour = ((t + self._tz_ms) % DAY_MS) / 3_600_000
        base = WINTER_MEAN_C + WINTER_SWING_C * math.sin(_TWO_PI * (hour - 9.0) / 24.0)
        snap = unfollowed = 0.0
        for start, end, inc in self._snaps.get(district, ()):
            if start <= t < end:
                ramp = max(inc.ramp_s * 1000, 1.0)
                drop = inc.drop_c * min(1.0, (t - start) / ramp, (end - t) / ramp)
                snap -= drop
                if not inc.stations_keep_up:
                    unfollowed -= drop
        return base + self._district_c[district] + snap, unfollowed

    def render(self, device: int, t: int, ts: str) -> bytes | None:
        st = self._profile.stations
        noise = self._noise
        outdoor, unfollowed = self.outdoor_c(st.district[device], t)
        outdoor += 0.15 * noise(device, t)
        curve = self._curve[device]
        supply = curve.min_supply_temp_c(outdoor) + st.margin_c[device] + 0.3 * noise(device, t + 1)
        # a station that does not follow a cold snap keeps its pre-snap supply temperature
        supply += curve.curve_slope * unfollowed
        hour = ((t + self._tz_ms) % DAY_MS) / 3_600_000
        indoor = (
            st.indoor_c[device]
            + 0.4 * math.sin(_TWO_PI * (hour - 15.0) / 24.0)
            + 0.1 * noise(device, t + 2)
        )
        p_supply = self._p_supply[device] + 0.004 * noise(device, t + 3)
        p_return = self._p_return[device] + 0.004 * noise(device, t + 4)
        flow = st.flow_m3h[device] * (1.0 + 0.03 * noise(device, t + 5))
        for start, _end, inc in self._incidents_at(device, t):
            if isinstance(inc, StationSilent):
                return None
            if isinstance(inc, BurstPipe):
                frac = min(1.0, (t - start) / (inc.drop_s * 1000))
                p_supply -= inc.drop_mpa * frac
                p_return -= 0.3 * inc.drop_mpa * frac
                flow *= 1.0 + 0.4 * frac
            elif isinstance(inc, ColdBuilding):
                frac = min(1.0, (t - start) / max(inc.ramp_s * 1000, 1.0))
                indoor += (inc.indoor_c - indoor) * frac
            elif isinstance(inc, SupplyTempLow):
                supply = curve.min_supply_temp_c(outdoor) - inc.below_c
        return orjson.dumps(
            {
                "station_id": st.ids[device],
                "enterprise_id": st.enterprise[device],
                "ts": ts,
                "district": st.district[device],
                "lat": st.lat[device],
                "lon": st.lon[device],
                "supply_temp_c": round(supply, 2),
                "return_temp_c": round(supply - self._delta_t[device], 2),
                "supply_pressure_mpa": round(max(p_supply, 0.0), 3),
                "return_pressure_mpa": round(max(p_return, 0.0), 3),
                "flow_m3h": round(flow, 1),
                "indoor_temp_c": round(indoor, 2),
                "outdoor_temp_c": round(outdoor, 2),
            }
        )
