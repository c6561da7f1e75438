"""Local metre geometry around a city centre, and walking along polylines.

The projection is equirectangular about the city centre, the same one
`streams.rules.city` documents: at city scale its error is far below the
300 m fleet corridor, and it is cheap enough to run per GPS fix.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

EARTH_RADIUS_M = 6_371_008.8
_M_PER_DEG = math.pi * EARTH_RADIUS_M / 180.0


@dataclass(frozen=True, slots=True)
class LocalProjection:
    """WGS-84 degrees <-> metres east/north of (lat0, lon0)."""

    lat0: float
    lon0: float

    @property
    def _kx(self) -> float:
        return _M_PER_DEG * math.cos(math.radians(self.lat0))

    def to_xy(self, lat: float, lon: float) -> tuple[float, float]:
        return (lon - self.lon0) * self._kx, (lat - self.lat0) * _M_PER_DEG

    def to_latlon(self, x: float, y: float) -> tuple[float, float]:
        return self.lat0 + y / _M_PER_DEG, self.lon0 + x / self._kx


def heading_deg(dx: float, dy: float) -> float:
    """Compass heading of a displacement (0 = north, 90 = east), in [0, 360)."""
    if dx == 0.0 and dy == 0.0:
        return 0.0
    h = math.degrees(math.atan2(dx, dy)) % 360.0
    return 0.0 if h >= 360.0 else h


class Polyline:
    """A line in local metres, addressed by distance along it (for trucks)."""

    __slots__ = ("_cum", "_headings", "length", "xs", "ys")

    def __init__(self, points: Sequence[tuple[float, float]]) -> None:
        if len(points) < 2:
            raise ValueError("a polyline needs at least two points")
        self.xs = [p[0] for p in points]
        self.ys = [p[1] for p in points]
        cum = [0.0]
        headings = []
        for i in range(1, len(points)):
            dx = self.xs[i] - self.xs[i - 1]
            dy = self.ys[i] - self.ys[i - 1]
            cum.append(cum[-1] + math.hypot(dx, dy))
            headings.append(heading_deg(dx, dy))
        self._cum = cum
        self._headings = headings
        self.length = cum[-1]

    def at(self, s: float) -> tuple[float, float, float]:
        """(x, y, heading of travel in the forward direction) at distance `s`."""
        s = min(max(s, 0.0), self.length)
        i = min(bisect_right(self._cum, s), len(self._cum) - 1)  # segment i-1 .. i
        s0, s1 = self._cum[i - 1], self._cum[i]
        f = 0.0 if s1 == s0 else (s - s0) / (s1 - s0)
        x = self.xs[i - 1] + f * (self.xs[i] - self.xs[i - 1])
        y = self.ys[i - 1] + f * (self.ys[i] - self.ys[i - 1])
        return x, y, self._headings[i - 1]
