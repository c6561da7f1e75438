"""`gas.detector.v1`: detectors idle at 0-3 %LEL, report every 60 s and on change."""

from __future__ import annotations

import orjson

from cityops.base.city.profiles import CityProfile
from sensors_sim.feeds.base import DeviceFeed, ms
from sensors_sim.incidents import DetectorFault, DetectorSilent, GasLeak, Incident
from streams import topics

PERIOD_MS = 60_000
# Battery level is counted from this instant (2026-01-01T00:00Z): a pure
# function of event time, so any interval is generated consistently.
_BATTERY_EPOCH_MS = 1_767_225_600_000
_DAY_MS = 86_400_000
_LEAK_RESIDUAL_PCT = 2.0  # where a leak's decay ends (below the 10 % clear level)


class GasFeed(DeviceFeed):
    topic = topics.GAS_DETECTOR
    salt = "gas"
    period_ms = PERIOD_MS

    def __init__(self, number: int, profile: CityProfile, seed: int) -> None:
        n = len(profile.detectors.ids)
        super().__init__(number, profile, profile.detectors.ids, seed)
        # each detector's idle reading: a sensor offset of 0-1.5 %LEL, plus up to 1.5 of noise
        self._offset: list[float] = self._rng.uniform(0.0, 1.5, n).tolist()

    def add_incident(self, incident: Incident, start_ms: int, end_ms: int) -> int | None:
        if not isinstance(incident, GasLeak | DetectorFault | DetectorSilent):
            return None
        device = self._device(incident, self._profile.index.detector, "detector")
        self._windows.setdefault(device, []).append((start_ms, end_ms, incident))
        if isinstance(incident, GasLeak):
            step = ms(incident.report_every_s)
            self.add_reports(range(start_ms, end_ms, step), [device])
        else:  # the change of status, and coming back
            self.add_reports([start_ms], [device] if isinstance(incident, DetectorFault) else [])
        self.add_reports([end_ms], [device])
        return end_ms

    def render(self, device: int, t: int, ts: str) -> bytes | None:
        det = self._profile.detectors
        lel = self._offset[device] + 0.75 * (1.0 + self._noise(device, t))
        status = "ok"
        for start, end, inc in self._incidents_at(device, t):
            if isinstance(inc, DetectorSilent):
                return None
            if isinstance(inc, DetectorFault):
                status = inc.status
            elif isinstance(inc, GasLeak):
                lel = max(lel, _leak_level(inc, t - start, end - start))
        battery = det.battery_full_pct[device] - det.drain_pct_per_day[device] * (
            (t - _BATTERY_EPOCH_MS) / _DAY_MS
        )
        return orjson.dumps(
            {
                "detector_id": det.ids[device],
                "ts": ts,
                "site_type": det.site_type[device],
                "district": det.district[device],
                "lat": det.lat[device],
                "lon": det.lon[device],
                "lel_pct": round(min(lel, 100.0), 1),
                "status": status,
                "battery_pct": round(min(max(battery, 5.0), 100.0), 1),
            }
        )


def _leak_level(inc: GasLeak, since: int, length: int) -> float:
    """Ramp to the peak, hold, decay to a residual below the clear level."""
    ramp, decay = ms(inc.ramp_s), ms(inc.decay_s)
    if since < ramp:
        return inc.peak_lel_pct * since / ramp
    if since < length - decay:
        return inc.peak_lel_pct
    frac = (length - since) / decay
    return _LEAK_RESIDUAL_PCT + (inc.peak_lel_pct - _LEAK_RESIDUAL_PCT) * frac
