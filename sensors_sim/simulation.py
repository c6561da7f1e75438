"""The deterministic event generator: a profile, a seed and incidents -> ordered events.

    sim = Simulation(load_profile("small"), seed=42, start=datetime(..., tzinfo=UTC))
    for event in sim.events_between(t0, t1):   # event-time order, t0 <= ts < t1
        ...

The same (profile, seed, incidents) always yields byte-identical events, and
any interval can be generated on its own (values are functions of device and
event time, not of a running random state), so a run may be produced in
chunks of any size. Events at the same millisecond come in feed order
(gas, streetlight, heating, fleet), then device order.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta

from cityops.base.city.profiles import CityProfile
from sensors_sim.feeds.base import Feed
from sensors_sim.feeds.fleet import FleetFeed
from sensors_sim.feeds.gas import GasFeed
from sensors_sim.feeds.heating import HeatingFeed
from sensors_sim.feeds.streetlight import StreetlightFeed
from sensors_sim.incidents import Incident, IncidentError
from sensors_sim.wire import SimEvent, TsFormatter, from_ms, to_ms


class Simulation:
    def __init__(
        self,
        profile: CityProfile,
        seed: int,
        start: datetime,
        incidents: Sequence[Incident] = (),
    ) -> None:
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware (event times are UTC on the wire)")
        self.profile = profile
        self.seed = seed
        self.start = start
        self.incidents = tuple(incidents)
        self.gas = GasFeed(0, profile, seed)
        self.streetlight = StreetlightFeed(1, profile, seed, start)
        self.heating = HeatingFeed(2, profile, seed, start)
        self.fleet = FleetFeed(3, profile, seed)
        self.feeds: tuple[Feed, ...] = (self.gas, self.streetlight, self.heating, self.fleet)
        #: (incident, start, end) as generated; an illegal-dumping trip outlasts its stop
        self.windows: list[tuple[Incident, datetime, datetime]] = []
        # in time order: a truck's excursions build on where the previous one left it
        for incident in sorted(self.incidents, key=lambda i: i.start_time(start)):
            begin = to_ms(incident.start_time(start))
            end = self._add(incident, begin, to_ms(incident.end_time(start)))
            self.windows.append((incident, from_ms(begin), from_ms(end)))

    def _add(self, incident: Incident, begin: int, end: int) -> int:
        for feed in self.feeds:
            actual = feed.add_incident(incident, begin, end)
            if actual is not None:
                return actual
        raise IncidentError(f"no feed takes incidents of kind {incident.kind!r}")

    def events_between(self, t0: datetime, t1: datetime) -> Iterator[SimEvent]:
        """Every event with t0 <= ts < t1, in event-time order."""
        return self.events_between_ms(to_ms(t0), to_ms(t1))

    def events(self, duration_s: float) -> Iterator[SimEvent]:
        """The run from `start` for `duration_s` seconds of event time."""
        return self.events_between(self.start, self.start + timedelta(seconds=duration_s))

    def events_between_ms(self, t0: int, t1: int) -> Iterator[SimEvent]:
        feeds = self.feeds
        topics_ = [f.topic for f in feeds]
        keys = [f.keys for f in feeds]
        renders = [f.render for f in feeds]
        fmt = TsFormatter()
        last = (-1, -1, -1)
        for tick in heapq.merge(*(f.ticks(t0, t1) for f in feeds)):
            if tick == last:  # an "on change" report at a heartbeat's millisecond: one event
                continue
            last = tick
            t, f, device = tick
            value = renders[f](device, t, fmt(t))
            if value is not None:
                yield SimEvent(topics_[f], keys[f][device], value, t)
