"""Deterministic street furniture: transfer stations, collection routes, no-dumping zones.

The megacity builds these in code at load time. The `small` and `qingdao`
route/zone files were produced by the same functions once and are stored as
GeoJSON (regenerate with `python -m cityops.base.city.procedural PROFILE`), so they
can be opened in any GIS tool and edited by hand.

Routes are gentle random walks (bounded turns) ending at the district's
transfer station; zones sit beside a route, never touching any route, so a
calm truck can never be inside one and an illegal-dumping detour stays well
inside the 300 m off-route corridor.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from shapely import LineString, Point, Polygon, STRtree

from cityops.base.city.devices import profile_rng
from cityops.base.city.geo import LocalProjection
from cityops.base.city.layout import WASTE_KINDS, District, Route, TransferStation, Zone

ZONE_OFFSET_M = 170.0  # zone centre from the route it sits beside
ZONE_RADIUS_M = 80.0
_ROUTE_CLEARANCE_M = 25.0  # no route may pass closer than this to a zone


def transfer_station(rng: np.random.Generator, d: District) -> TransferStation:
    a = float(rng.random()) * 2 * math.pi
    r = d.radius_m * 0.5
    lat, lon = LocalProjection(d.lat, d.lon).to_latlon(r * math.sin(a), r * math.cos(a))
    return TransferStation(f"TS-{d.district_id}", round(lat, 6), round(lon, 6))


def route_walk(
    rng: np.random.Generator, radius_m: float, end: tuple[float, float], length_m: float
) -> list[tuple[float, float]]:
    """Points (local metres about the district centre) of a walk ending at `end`."""
    start_a = float(rng.random()) * 2 * math.pi
    x, y = radius_m * 0.7 * math.sin(start_a), radius_m * 0.7 * math.cos(start_a)
    heading = math.atan2(end[0] - x, end[1] - y) + float(rng.uniform(-1.2, 1.2))
    points = [(x, y)]
    walked = 0.0
    while walked < length_m:
        step = float(rng.uniform(250, 450))
        heading += float(rng.uniform(-0.45, 0.45))
        if math.hypot(x, y) > radius_m:  # turn back towards the centre
            heading = math.atan2(-x, -y) + float(rng.uniform(-0.3, 0.3))
        x, y = x + step * math.sin(heading), y + step * math.cos(heading)
        points.append((x, y))
        walked += step
    # drive to the transfer station in two straight legs
    points.append((end[0], y))
    points.append(end)
    return points


def make_routes(
    profile: str,
    d: District,
    transfer: TransferStation,
    first_number: int,
    count: int,
    trucks: int,
) -> list[Route]:
    rng = profile_rng(profile, f"routes/{d.district_id}")
    proj = LocalProjection(d.lat, d.lon)
    end = proj.to_xy(transfer.lat, transfer.lon)
    routes = []
    for k in range(count):
        pts = route_walk(rng, d.radius_m, end, float(rng.uniform(3000, 6000)))
        coords = []
        for x, y in pts:
            lat, lon = proj.to_latlon(x, y)
            coords.append((round(lon, 6), round(lat, 6)))
        number = first_number + k
        routes.append(
            Route(
                route_id=f"R{number:03d}",
                district=d.district_id,
                coords=tuple(coords),
                trucks=trucks,
                waste_kind=WASTE_KINDS[(number - 1) % 3] if number % 10 else "hazardous",
            )
        )
    return routes


def make_zones(
    profile: str, d: District, routes: Sequence[Route], all_routes: Sequence[Route], count: int
) -> list[Zone]:
    """`count` zones beside `routes` (of district `d`), clear of every route."""
    rng = profile_rng(profile, f"zones/{d.district_id}")
    proj = LocalProjection(d.lat, d.lon)
    lines = STRtree(
        [LineString([proj.to_xy(lat, lon) for lon, lat in r.coords]) for r in all_routes]
    )
    zones: list[Zone] = []
    attempts = 0
    while len(zones) < count and attempts < 200 and routes:
        attempts += 1
        r = routes[int(rng.integers(len(routes)))]
        line = LineString([proj.to_xy(lat, lon) for lon, lat in r.coords[:-2]])
        s = float(rng.uniform(0.2, 0.8)) * line.length
        p0, p1 = line.interpolate(s), line.interpolate(s + 1.0)
        dx, dy = p1.x - p0.x, p1.y - p0.y
        norm = math.hypot(dx, dy) or 1.0
        side = 1.0 if rng.random() < 0.5 else -1.0
        cx = p0.x + side * ZONE_OFFSET_M * dy / norm
        cy = p0.y - side * ZONE_OFFSET_M * dx / norm
        poly = Point(cx, cy).buffer(ZONE_RADIUS_M, quad_segs=2)  # an octagon
        near = lines.query(poly, predicate="dwithin", distance=_ROUTE_CLEARANCE_M)
        if len(near) or any(
            Polygon([proj.to_xy(la, lo) for lo, la in z.ring]).intersects(poly) for z in zones
        ):
            continue
        ring = []
        for x, y in poly.exterior.coords:
            lat, lon = proj.to_latlon(x, y)
            ring.append((round(lon, 6), round(lat, 6)))
        zones.append(
            Zone(
                zone_id=f"NDZ-{d.district_id}-{len(zones) + 1}",
                district=d.district_id,
                name=f"{d.name} no-dumping zone {len(zones) + 1}",
                ring=tuple(ring),
            )
        )
    return zones


def _feature(geometry: dict[str, object], properties: dict[str, object]) -> dict[str, object]:
    return {"type": "Feature", "geometry": geometry, "properties": properties}


def write_street_files(profile: str, folder: Path, routes_per_district: Sequence[int]) -> None:
    """(Re)generate transfer_stations/routes/zones.geojson from districts.geojson."""
    from cityops.base.city.profile_files import read_districts

    districts = read_districts(folder / "districts.geojson", transfers={})
    stations = {d.district_id: transfer_station(profile_rng(profile, "ts"), d) for d in districts}
    routes: list[Route] = []
    for d, n in zip(districts, routes_per_district, strict=True):
        routes += make_routes(profile, d, stations[d.district_id], len(routes) + 1, n, 2)
    zones: list[Zone] = []
    for d in districts:
        mine = [r for r in routes if r.district == d.district_id]
        zones += make_zones(profile, d, mine, routes, 2)
    collections = {
        "transfer_stations": [
            _feature(
                {"type": "Point", "coordinates": [s.lon, s.lat]},
                {"station_id": s.station_id, "district": k},
            )
            for k, s in stations.items()
        ],
        "routes": [
            _feature(
                {"type": "LineString", "coordinates": [list(c) for c in r.coords]},
                {
                    "route_id": r.route_id,
                    "district": r.district,
                    "trucks": r.trucks,
                    "waste_kind": r.waste_kind,
                },
            )
            for r in routes
        ],
        "zones": [
            _feature(
                {"type": "Polygon", "coordinates": [[list(c) for c in z.ring]]},
                {"zone_id": z.zone_id, "district": z.district, "name": z.name},
            )
            for z in zones
        ],
    }
    for name, features in collections.items():
        text = json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False)
        (folder / f"{name}.geojson").write_text(text + "\n", encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("profile")
    parser.add_argument(
        "--routes", required=True, help="routes per district, comma-separated (file order)"
    )
    args = parser.parse_args(argv)
    folder = Path(__file__).parent / "profiles_data" / args.profile
    write_street_files(args.profile, folder, [int(n) for n in args.routes.split(",")])


if __name__ == "__main__":
    main()
