"""Gas roll-ups: detectors reporting, max LEL, alarming and online detectors per district."""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from streams.models import GasDetectorReading, Rollup
from streams.rules.timeutil import to_ms
from streams.windows.columns import pack_heartbeats, unpack_heartbeats
from streams.windows.common import (
    ALARM_LEL_PCT,
    DEFAULT_WINDOW,
    EPOCH,
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
        #: Partial roll-ups (the partitioned topology) only: per closed (district,
        #: bucket), how many of the online detectors stay online until which window
        #: end, `{end ms: detectors}` (`online_ends`). None: not kept.
        self.online_ends: dict[tuple[str, datetime], dict[int, int]] | None = None

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
        state.setdefault("online_ends", None)  # snapshots from before it existed
        self.__dict__.update(state)
        self._detectors = {
            district: unpack_heartbeats(columns, _Detector) for district, columns in packed.items()
        }

    def _note(self, event: GasDetectorReading) -> bool:
        """Record the heartbeat in the detector's state; False if it was already there."""
        ts, keep = event.ts, self._keep_since
        detectors = self._detectors.get(event.district)
        if detectors is None:  # not `setdefault`: no new dict per event
            detectors = self._detectors[event.district] = {}
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

    def track_online_ends(self) -> None:
        """Keep `online_ends` for every window closed from now on (partial roll-ups)."""
        if self.online_ends is None:
            self.online_ends = {}

    def take_online_ends(self) -> dict[tuple[str, datetime], dict[int, int]]:
        """The `online_ends` of the windows closed since the last call, handed over."""
        ends, self.online_ends = self.online_ends or {}, {}
        return ends

    def close_until(self, horizon: datetime, data_end: datetime) -> list[Rollup]:
        out: list[Rollup] = []
        tracked = self.online_ends
        win_ms, within_ms = to_ms(EPOCH + self.window), to_ms(EPOCH + ONLINE_WITHIN)
        for bucket, end, districts in self._closing(horizon):
            since = end - ONLINE_WITHIN
            end_ms = to_ms(end)
            for district, win in sorted(districts.items()):
                known = online = 0
                ends: dict[int, int] = {}
                for det in self._detectors[district].values():
                    if det.first_seen < end:
                        known += 1
                        recent = det.recent
                        i = bisect_left(recent, end)
                        if i and recent[i - 1] >= since:  # the last heartbeat before end
                            online += 1
                            if tracked is not None:
                                # online at every later window end up to last + ONLINE_WITHIN
                                # for as long as it sends nothing more
                                until = to_ms(recent[i - 1]) + within_ms
                                last_end = end_ms + (until - end_ms) // win_ms * win_ms
                                ends[last_end] = ends.get(last_end, 0) + 1
                if tracked is not None:
                    tracked[(district, bucket)] = ends
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
