"""`RollupWindows`: routes events to the feed aggregators and closes windows on the watermark."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from streams import topics
from streams.models import Event, Rollup
from streams.plain import EVENT_TYPES
from streams.windows.common import (
    DEFAULT_ALLOWED_LATENESS,
    DEFAULT_WINDOW,
    DarkClock,
    FeedAggregator,
    floor_to_window,
    watermark,
)
from streams.windows.fleet import FleetAggregator
from streams.windows.gas import GasAggregator
from streams.windows.heating import HeatingAggregator
from streams.windows.streetlight import StreetlightAggregator


def _order(rollup: Rollup) -> tuple[datetime, str, str]:
    return (rollup.bucket, rollup.feed, rollup.district)


class RollupWindows:
    """Tumbling event-time windows per (feed, district) over the four feeds.

    Not thread-safe; one instance per worker (or per partition set), fed in order
    of arrival.
    """

    def __init__(
        self,
        city: DarkClock,
        *,
        window: timedelta = DEFAULT_WINDOW,
        allowed_lateness: timedelta = DEFAULT_ALLOWED_LATENESS,
    ) -> None:
        if window <= timedelta(0) or timedelta(days=1) % window:
            raise ValueError("window must be positive and divide a day")
        if allowed_lateness < timedelta(0):
            raise ValueError("allowed_lateness must not be negative")
        self.window = window
        self.allowed_lateness = allowed_lateness
        self.aggregators: dict[str, FeedAggregator[Any]] = {
            topics.GAS_DETECTOR: GasAggregator(window),
            topics.STREETLIGHT_STATUS: StreetlightAggregator(city, window),
            topics.HEATING_STATION: HeatingAggregator(window),
            topics.FLEET_GPS: FleetAggregator(window),
        }
        #: Events whose window had already been closed (their per-entity state is kept).
        self.late_dropped = 0
        #: Repeats of an (entity, ts) already counted in an open window.
        self.duplicates = 0
        #: The latest event time seen, over all feeds and per feed topic.
        self.max_event_ts: datetime | None = None
        self.max_event_ts_by_feed: dict[str, datetime] = {}
        #: Per feed topic: every window ending at or before this has been emitted.
        self.closed_until: dict[str, datetime] = {}

    @property
    def watermark(self) -> datetime | None:
        """The latest event time seen minus the allowed lateness (None before any event)."""
        return watermark(self.max_event_ts, self.allowed_lateness)

    def feed_watermark(self, feed_topic: str) -> datetime | None:
        """The watermark of one feed, from that feed's own latest event time."""
        return watermark(self.max_event_ts_by_feed.get(feed_topic), self.allowed_lateness)

    @property
    def open_windows(self) -> int:
        return sum(agg.open_windows for agg in self.aggregators.values())

    def add(self, feed_topic: str, event: Event) -> None:
        """Count one valid event of a feed (`feed_topic` is the bare name from streams.topics)."""
        agg = self.aggregators.get(feed_topic)
        if agg is None:
            raise ValueError(f"not a feed topic: {feed_topic!r}")
        if not isinstance(event, EVENT_TYPES[feed_topic]):
            raise TypeError(f"{type(event).__name__} is not an event of {feed_topic}")
        ts = event.ts
        latest = self.max_event_ts_by_feed.get(feed_topic)
        if latest is None or ts > latest:
            self.max_event_ts_by_feed[feed_topic] = ts
            # the latest over all feeds is at least this feed's: it can move only now
            if self.max_event_ts is None or ts > self.max_event_ts:
                self.max_event_ts = ts
        closed = self.closed_until.get(feed_topic)
        # `closed` is window-aligned: ts before it means the event's window has ended.
        if closed is not None and ts < closed:
            self.late_dropped += 1
            agg.remember(event)
        elif not agg.add(event):
            self.duplicates += 1

    def close_until(self, watermark: datetime, feed_topic: str | None = None) -> list[Rollup]:
        """Emit every window ending at or before `watermark`, once, in (bucket, feed, district)
        order; only `feed_topic`'s windows when given.

        Closing one feed at a time on its own watermark suits workers whose feeds are
        consumed at different speeds (catching up on a backlog): a global watermark
        would make the lagging feed's events late. A watermark at or behind an
        earlier one emits nothing.
        """
        horizon = floor_to_window(watermark, self.window)
        if feed_topic is not None and feed_topic not in self.aggregators:
            raise ValueError(f"not a feed topic: {feed_topic!r}")
        # Streetlight snapshots run up to the latest event time seen on any feed.
        data_end = (
            horizon
            if self.max_event_ts is None
            else floor_to_window(self.max_event_ts, self.window) + self.window
        )
        out: list[Rollup] = []
        for topic in self.aggregators if feed_topic is None else (feed_topic,):
            closed = self.closed_until.get(topic)
            if closed is not None and horizon <= closed:
                continue
            # Set even before the feed's first event, so that an event behind this
            # horizon is late for the aggregator too.
            self.closed_until[topic] = horizon
            out.extend(self.aggregators[topic].close_until(horizon, data_end))
        out.sort(key=_order)
        return out

    def close_ready(self, feed_topic: str | None = None) -> list[Rollup]:
        """Close up to the watermark (the feed's own one when `feed_topic` is given)."""
        mark = self.watermark if feed_topic is None else self.feed_watermark(feed_topic)
        return [] if mark is None else self.close_until(mark, feed_topic)

    def flush(self) -> list[Rollup]:
        """Emit every window that holds data, e.g. at the end of a recorded stream.
        Later events for those windows count as late."""
        if self.max_event_ts is None:
            return []
        return self.close_until(floor_to_window(self.max_event_ts, self.window) + self.window)
