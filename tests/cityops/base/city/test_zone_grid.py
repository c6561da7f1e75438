"""The zone grid answers exactly as an STRtree `within` query does."""

from __future__ import annotations

import math
import random
from itertools import pairwise

import pytest
from shapely import LineString, Point, Polygon, STRtree

from cityops.base.city.profiles import load_profile
from cityops.base.city.zone_grid import ZoneGrid


def _tree_answer(tree: STRtree, x: float, y: float) -> int | None:
    hits = tree.query(Point(x, y), predicate="within")
    return int(min(hits)) if len(hits) else None


def _probes(polygons: list[Polygon], rng: random.Random) -> list[tuple[float, float]]:
    """Inside, around and on the edges of every zone (vertices, edge midpoints)."""
    out: list[tuple[float, float]] = []
    for polygon in polygons:
        minx, miny, maxx, maxy = polygon.bounds
        w, h = maxx - minx, maxy - miny
        out += [
            (rng.uniform(minx - w, maxx + w), rng.uniform(miny - h, maxy + h)) for _ in range(200)
        ]
        ring = list(polygon.exterior.coords)
        out += ring
        out += [((a[0] + b[0]) / 2, (a[1] + b[1]) / 2) for a, b in pairwise(ring)]
    return out


@pytest.mark.parametrize("profile", ["small", "megacity"])
def test_the_grid_gives_the_trees_answer(profile: str) -> None:
    city = load_profile(profile)
    polygons = [Polygon(z.ring) for z in city.zones]
    tree = STRtree(polygons)
    grid = ZoneGrid(polygons)
    probes = _probes(polygons, random.Random(7))
    assert any(_tree_answer(tree, x, y) is not None for x, y in probes)
    for x, y in probes:
        assert grid.first_containing(x, y) == _tree_answer(tree, x, y), (x, y)


def test_overlapping_zones_give_the_lowest_index_and_odd_points_none() -> None:
    big = Polygon([(0, 0), (0.05, 0), (0.05, 0.05), (0, 0.05)])
    small = Polygon([(0.01, 0.01), (0.02, 0.01), (0.02, 0.02), (0.01, 0.02)])
    grid = ZoneGrid([small, big])
    assert grid.first_containing(0.015, 0.015) == 0
    assert grid.first_containing(0.04, 0.04) == 1
    assert grid.first_containing(0.0, 0.03) is None  # on the boundary: not within
    for x, y in ((math.inf, 0.01), (math.nan, 0.01), (0.01, -math.inf)):
        assert grid.first_containing(x, y) is None


def test_route_distance_is_the_distance_to_a_shapely_point() -> None:
    city = load_profile("small")
    rng = random.Random(3)
    for route in city.routes:
        path = city.route_path(route.route_id)
        line = LineString(list(zip(path.xs, path.ys, strict=True)))
        for _ in range(20):
            lon, lat = route.coords[rng.randrange(len(route.coords))]
            lat, lon = lat + rng.uniform(-0.01, 0.01), lon + rng.uniform(-0.01, 0.01)
            expected = float(line.distance(Point(city.projection.to_xy(lat, lon))))
            assert city.distance_to_route_m(route.route_id, lat, lon) == expected
