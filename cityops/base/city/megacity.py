"""The megacity's street plan, generated in code (too many routes to keep as files).

Districts sit on a square grid around the centre; each gets a transfer
station, its share of routes and two no-dumping zones, all from the
deterministic generators of `cityops.base.city.procedural`.
"""

from __future__ import annotations

from typing import Any

from cityops.base.city.devices import allocate, profile_rng
from cityops.base.city.geo import LocalProjection
from cityops.base.city.layout import District, Route, TransferStation, Zone
from cityops.base.city.procedural import make_routes, make_zones, transfer_station

NAME = "megacity"


def street_plan(settings: dict[str, Any]) -> tuple[list[District], list[Route], list[Zone]]:
    plan = settings["plan"]
    grid = int(plan["grid"])
    spacing = float(plan["district_spacing_m"])
    radius = float(plan["district_radius_m"])
    proj = LocalProjection(float(settings["centre"]["lat"]), float(settings["centre"]["lon"]))
    districts: list[District] = []
    offset = (grid - 1) / 2
    for row in range(grid):
        for col in range(grid):
            number = row * grid + col + 1
            lat, lon = proj.to_latlon((col - offset) * spacing, (offset - row) * spacing)
            d = District(
                district_id=f"d{number:02d}",
                name=f"District {number}",
                name_zh=f"第{number}区",
                lat=round(lat, 6),
                lon=round(lon, 6),
                radius_m=radius,
                weight=1.0,
                transfer=TransferStation("", 0.0, 0.0),
            )
            ts = transfer_station(profile_rng(NAME, f"ts/{number}"), d)
            districts.append(
                District(d.district_id, d.name, d.name_zh, d.lat, d.lon, d.radius_m, d.weight, ts)
            )
    routes: list[Route] = []
    zones: list[Zone] = []
    per_district = allocate(int(plan["routes"]), [1.0] * len(districts))
    for d, n in zip(districts, per_district, strict=True):
        mine = make_routes(NAME, d, d.transfer, len(routes) + 1, n, int(plan["trucks_per_route"]))
        routes += mine
        zones += make_zones(NAME, d, mine, mine, int(plan["zones_per_district"]))
    return districts, routes, zones
