"""What every feed shares: the heartbeat schedule, cheap deterministic noise, the Feed shape.

Values are functions of (device, event time) rather than of a running random
state: any interval can be generated on its own and comes out the same, and
the stream for a seed does not depend on how it was chunked.
"""

from __future__ import annotations

import heapq
import random
import zlib
from abc import ABC, abstractmethod
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from sensors_sim.incidents import Incident, IncidentError

if TYPE_CHECKING:
    from cityops.base.city.profiles import CityProfile

#: (event time ms, feed number, device number): the merge key of the simulation
Tick = tuple[int, int, int]

_NOISE_BITS = 16
_NOISE_MASK = (1 << _NOISE_BITS) - 1


class Noise:
    """Uniform noise in [-1, 1) indexed by integers: a seeded table, no RNG state per call."""

    __slots__ = ("table",)

    def __init__(self, seed: int, salt: str) -> None:
        rng = random.Random(f"{seed}/{salt}")
        self.table = [rng.uniform(-1.0, 1.0) for _ in range(1 << _NOISE_BITS)]

    def __call__(self, device: int, step: int) -> float:
        return self.table[(device * 40503 + step * 0x9E3779B1) & _NOISE_MASK]


def seeded(seed: int, salt: str) -> np.random.Generator:
    """A numpy generator for bulk per-device constants (the megacity has 400k devices)."""
    return np.random.default_rng([seed & 0xFFFFFFFF, zlib.crc32(salt.encode())])


class Heartbeats:
    """Device i reports at every t with t % period == phase[i] (absolute, not run-relative)."""

    __slots__ = ("_order", "_phases", "period_ms")

    def __init__(self, count: int, period_ms: int, rng: np.random.Generator) -> None:
        self.period_ms = period_ms
        phases = rng.integers(0, period_ms, size=count)
        order = np.argsort(phases, kind="stable")
        self._order: list[int] = order.tolist()
        self._phases: list[int] = phases[order].tolist()

    def ticks(self, t0: int, t1: int, feed: int) -> Iterator[Tick]:
        period, phases, order = self.period_ms, self._phases, self._order
        base = (t0 // period) * period
        while base < t1:
            lo = bisect_left(phases, t0 - base)
            hi = bisect_left(phases, t1 - base)
            for j in range(lo, hi):
                yield (base + phases[j], feed, order[j])
            base += period


class Feed(ABC):
    """One topic's generator. `number` orders feeds at equal event times."""

    topic: ClassVar[str]

    def __init__(self, number: int, keys: Iterable[str]) -> None:
        self.number = number
        self.keys = [k.encode() for k in keys]
        self._extra: list[Tick] = []  # "on change" reports, kept sorted

    @abstractmethod
    def heartbeat_ticks(self, t0: int, t1: int) -> Iterator[Tick]: ...

    @abstractmethod
    def render(self, device: int, t: int, ts: str) -> bytes | None:
        """The JSON value for one report, or None when the device is silent."""

    @abstractmethod
    def add_incident(self, incident: Incident, start_ms: int, end_ms: int) -> int | None:
        """Take the incident if it is this feed's: its actual end (ms); None if not ours."""

    def add_reports(self, times: Iterable[int], devices: Iterable[int]) -> None:
        """Extra "on change" reports at these times for each of these devices."""
        devs = list(devices)
        self._extra.extend((t, self.number, d) for t in times for d in devs)
        self._extra.sort()

    def change_ticks(self, t0: int, t1: int) -> Iterator[Tick]:
        extra = self._extra
        lo = bisect_left(extra, (t0,))
        hi = bisect_left(extra, (t1,))
        return iter(extra[lo:hi])

    def ticks(self, t0: int, t1: int) -> Iterator[Tick]:
        if not self._extra:
            return self.heartbeat_ticks(t0, t1)
        return heapq.merge(self.heartbeat_ticks(t0, t1), self.change_ticks(t0, t1))


class DeviceFeed(Feed):
    """A feed of the city's devices, each reporting on a fixed period (every feed here):
    the profile, the heartbeat schedule, the noise table and each device's incidents."""

    #: names the feed's random streams (the same seed gives each feed its own)
    salt: ClassVar[str]
    period_ms: ClassVar[int]

    def __init__(self, number: int, profile: CityProfile, keys: Sequence[str], seed: int) -> None:
        super().__init__(number, keys)
        self._profile = profile
        #: per-device constants are drawn from this after the schedule drew its phases
        self._rng = seeded(seed, self.salt)
        self._beats = Heartbeats(len(keys), self.period_ms, self._rng)
        self._noise = Noise(seed, self.salt)
        #: device -> (start ms, end ms, incident) it is under
        self._windows: dict[int, list[tuple[int, int, Incident]]] = {}

    def heartbeat_ticks(self, t0: int, t1: int) -> Iterator[Tick]:
        return self._beats.ticks(t0, t1, self.number)

    def _incidents_at(self, device: int, t: int) -> Iterable[tuple[int, int, Incident]]:
        """The (start, end, incident) windows `device` is under at `t`."""
        windows = self._windows.get(device)
        # most devices have none: no generator for them (render runs once per event)
        return windows_at(windows, t) if windows else ()

    def _device(self, incident: Incident, index: Mapping[str, int], noun: str) -> int:
        """The device number of the incident's entity (`noun` names it in the error)."""
        device = index.get(incident.entity_id)
        if device is None:
            raise IncidentError(f"{incident.kind}: no {noun} {incident.entity_id!r}")
        return device


def ms(seconds: float) -> int:
    return round(seconds * 1000)


def windows_at(
    windows: list[tuple[int, int, Incident]], t: int
) -> Iterator[tuple[int, int, Incident]]:
    for w in windows:
        if w[0] <= t < w[1]:
            yield w
