"""Gas roll-ups: detectors reporting, max LEL, alarming and online detectors per district."""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from streams.models import GasDetectorReading, Rollup
from streams.windows.columns import pack_heartbeats, unpack_heartbeats
from streams.windows.common import (
    ALARM_LEL_PCT,
    DEFAULT_WINDOW,
    ONLINE_WITHIN,
    Bucketed,
    FeedName,
    window_of,
)


@dataclass(slots=True)
class _Detector:
    first_seen: datetime
    # Sorted heartbeat times; only the last ONLINE_WITHIN before the closed horizon
    # (and later) matter, older ones are trimmed whenever the list is touched.
    recent: list[datetime]


@dataclass(slots=True)
class _GasWindow:
    readings: int = 0
    lel_max_pct: float = 0.0
    reporting: set[str] = field(default_factory=set)
    alarming: set[str] = field(default_factory=set)


class GasAggregator(Bucketed[_GasWindow]):
    feed: FeedName = "gas"

    def __init__(self, window: timedelta = DEFAULT_WINDOW) -> None:
        super().__init__(window)
        self._detectors: dict[str, dict[str, _Detector]] = {}
        self._keep_since: datetime | None = None

    # Pickled at every checkpoint of the entity stage: the detectors as columns
    # (`streams.windows.columns` says why).
    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_detectors"] = {
            district: pack_heartbeats(
                list(detectors),
                [d.first_seen for d in detectors.values()],
                [d.recent for d in detectors.values()],
            )
            for district, detectors in self._detectors.items()
        }
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        packed = state.pop("_detectors")
        self.__dict__.update(state)
        self._detectors = {
            district: unpack_heartbeats(columns, _Detector) for district, columns in packed.items()
        }

    def _note(self, event: GasDetectorReading) -> bool:
        """Record the heartbeat in the detector's state; False if it was already there."""
        ts, keep = event.ts, self._keep_since
        detectors = self._detectors.setdefault(event.district, {})
        det = detectors.get(event.detector_id)
        if det is None:
            detectors[event.detector_id] = _Detector(ts, [] if keep and ts < keep else [ts])
            return True
        recent = det.recent
        if keep is not None and recent and recent[0] < keep:
            del recent[: bisect_left(recent, keep)]
        i = bisect_left(recent, ts)
        if i < len(recent) and recent[i] == ts:
            return False
        if ts < det.first_seen:
            det.first_seen = ts
        if keep is None or ts >= keep:
            recent.insert(i, ts)
        return True

    def add(self, event: GasDetectorReading) -> bool:
        if not self._note(event):
            return False
        bucket = self._floor(event.ts)
        win = window_of(self._windows, bucket, event.district, _GasWindow)
        if win.readings == 0 or event.lel_pct > win.lel_max_pct:
            win.lel_max_pct = event.lel_pct
        win.readings += 1
        win.reporting.add(event.detector_id)
        if event.lel_pct >= ALARM_LEL_PCT:
            win.alarming.add(event.detector_id)
        return True

    def remember(self, event: GasDetectorReading) -> None:
        self._note(event)

    def close_until(self, horizon: datetime, data_end: datetime) -> list[Rollup]:
        out: list[Rollup] = []
        for bucket, end, districts in self._closing(horizon):
            since = end - ONLINE_WITHIN
            for district, win in sorted(districts.items()):
                known = online = 0
                for det in self._detectors[district].values():
                    if det.first_seen < end:
                        known += 1
                        online += any(since <= t < end for t in det.recent)
                out.append(
                    Rollup(
                        feed="gas",
                        district=district,
                        bucket=bucket,
                        bucket_end=end,
                        readings=win.readings,
                        detectors_reporting=len(win.reporting),
                        detectors_known=known,
                        detectors_online=online,
                        detector_online_rate=online / known,
                        lel_max_pct=win.lel_max_pct,
                        detectors_alarming=len(win.alarming),
                    )
                )
        # Later windows end after `horizon`, so they look back no further than this.
        keep = horizon - ONLINE_WITHIN
        if self._keep_since is None or keep > self._keep_since:
            self._keep_since = keep
        return out
