"""Which no-dumping zone holds a point: a grid of candidate zones, then the exact test.

The fleet rules ask for every GPS fix. An `STRtree.query` with a new `Point`
per fix cost ~4.6 µs (shapely's Python wrappers, not GEOS: megacity's fixes
spend 1.9 % of the stages' CPU there, py-spy on `cityops.bench.processing`,
2026-12-01), while most fixes are in no zone at all. Here a dict maps each
grid cell to the zones whose bounding box touches it; a fix in a cell without
candidates is answered by one lookup, the others by GEOS's prepared
`contains_xy` on the few candidates, lowest index first (the tree's `min(hits)`).
Exact: a point inside a zone lies inside its bounding box, and `floor(x / cell)`
is monotonic in `x`, so its cell is one the box was filed under; `contains_xy`
is the predicate `within` tests from the point's side.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import floor

import shapely
from shapely import Point, Polygon, STRtree

#: ~1 km at the cities' latitudes: a zone (a few hundred metres) touches a few cells.
CELL_DEG = 0.01


class ZoneGrid:
    def __init__(self, polygons: Sequence[Polygon], cell_deg: float = CELL_DEG) -> None:
        self._polygons = list(polygons)
        shapely.prepare(self._polygons)
        self._tree = STRtree(self._polygons)
        self._cell = cell_deg
        grid: dict[tuple[int, int], list[int]] = {}
        for i, polygon in enumerate(self._polygons):
            if polygon.is_empty:
                continue
            minx, miny, maxx, maxy = polygon.bounds
            for ix in range(floor(minx / cell_deg), floor(maxx / cell_deg) + 1):
                for iy in range(floor(miny / cell_deg), floor(maxy / cell_deg) + 1):
                    grid.setdefault((ix, iy), []).append(i)
        self._grid = {cell: tuple(zones) for cell, zones in grid.items()}

    def first_containing(self, x: float, y: float) -> int | None:
        """The lowest index of a zone that contains (x, y) in its interior, or None."""
        cell = self._cell
        try:
            candidates = self._grid.get((floor(x / cell), floor(y / cell)))
        except (OverflowError, ValueError):  # inf or NaN: the tree says what it always said
            hits = self._tree.query(Point(x, y), predicate="within")
            return int(min(hits)) if len(hits) else None
        if candidates is None:
            return None
        polygons = self._polygons
        for i in candidates:
            if shapely.contains_xy(polygons[i], x, y):
                return i
        return None
