"""Place a profile's devices: deterministic from the profile name, not the run seed.

A profile is a fixed city: the same light ids at the same places in every run,
so that recorded streams, dashboards and scenario files keep meaning the same
thing. (The run seed only varies behaviour: phases, noise, truck timing.)
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from cityops.base.city.geo import LocalProjection
from cityops.base.city.layout import (
    SITE_TYPES,
    Detectors,
    District,
    Enterprise,
    Lights,
    Route,
    Stations,
    Trucks,
)

LIGHT_SPACING_M = 30.0
_SITE_WEIGHTS = (0.40, 0.15, 0.10, 0.35)  # restaurant, pipeline, station, residential
_LAMP_SIZES_W = (60.0, 90.0, 120.0, 150.0, 250.0)


@dataclass(frozen=True, slots=True)
class DeviceCounts:
    detectors: int
    lights: int
    lights_per_circuit: int
    circuits_per_cabinet: int
    enterprises: int
    stations_per_enterprise: tuple[int, int]  # inclusive range


def profile_rng(profile_name: str, part: str) -> np.random.Generator:
    """A generator fixed by the profile name and the part being placed."""
    return np.random.default_rng(zlib.crc32(f"{profile_name}/{part}".encode()))


def allocate(total: int, weights: Sequence[float]) -> list[int]:
    """Split `total` by `weights` exactly (largest remainder)."""
    wsum = float(sum(weights))
    raw = [total * w / wsum for w in weights]
    counts = [math.floor(r) for r in raw]
    order = sorted(range(len(raw)), key=lambda i: (counts[i] - raw[i], i))
    for i in order[: total - sum(counts)]:
        counts[i] += 1
    return counts


def _disc_points(
    rng: np.random.Generator, n: int, radius_m: float
) -> tuple[np.ndarray, np.ndarray]:
    r = radius_m * np.sqrt(rng.random(n))
    a = rng.random(n) * 2 * math.pi
    return r * np.cos(a), r * np.sin(a)


def _to_latlon(
    proj: LocalProjection, xs: np.ndarray, ys: np.ndarray
) -> tuple[list[float], list[float]]:
    lats, lons = [], []
    for x, y in zip(xs.tolist(), ys.tolist(), strict=True):
        lat, lon = proj.to_latlon(x, y)
        lats.append(round(lat, 6))
        lons.append(round(lon, 6))
    return lats, lons


def place_detectors(name: str, districts: Sequence[District], total: int) -> Detectors:
    rng = profile_rng(name, "detectors")
    ids: list[str] = []
    dist: list[str] = []
    lat: list[float] = []
    lon: list[float] = []
    for d, n in zip(districts, allocate(total, [d.weight for d in districts]), strict=True):
        xs, ys = _disc_points(rng, n, d.radius_m)
        la, lo = _to_latlon(LocalProjection(d.lat, d.lon), xs, ys)
        ids += [f"GD-{d.district_id}-{k + 1:05d}" for k in range(n)]
        dist += [d.district_id] * n
        lat += la
        lon += lo
    sites = rng.choice(len(SITE_TYPES), size=total, p=_SITE_WEIGHTS)
    return Detectors(
        ids=tuple(ids),
        district=tuple(dist),
        site_type=tuple(SITE_TYPES[i] for i in sites.tolist()),
        lat=tuple(lat),
        lon=tuple(lon),
        battery_full_pct=tuple(np.round(rng.uniform(60, 100, total), 1).tolist()),
        drain_pct_per_day=tuple(np.round(rng.uniform(0.005, 0.03, total), 4).tolist()),
    )


def place_lights(name: str, districts: Sequence[District], counts: DeviceCounts) -> Lights:
    """Lights stand along streets: one street per circuit, cabinets feed a few circuits."""
    rng = profile_rng(name, "lights")
    ids: list[str] = []
    circuits: list[str] = []
    cabinets: list[str] = []
    dist: list[str] = []
    lat: list[float] = []
    lon: list[float] = []
    rated: list[float] = []
    per_circuit = counts.lights_per_circuit
    for d, n in zip(districts, allocate(counts.lights, [d.weight for d in districts]), strict=True):
        proj = LocalProjection(d.lat, d.lon)
        n_circuits = math.ceil(n / per_circuit) if n else 0
        sx, sy = _disc_points(rng, n_circuits, d.radius_m * 0.85)
        bearings = rng.random(n_circuits) * 2 * math.pi
        sizes = rng.choice(len(_LAMP_SIZES_W), size=n_circuits)
        for c in range(n_circuits):
            size = min(per_circuit, n - c * per_circuit)
            circuit_id = f"CC-{d.district_id}-{c + 1:04d}"
            cabinet_id = f"CB-{d.district_id}-{c // counts.circuits_per_cabinet + 1:03d}"
            k = np.arange(size) * LIGHT_SPACING_M
            xs = sx[c] + k * math.sin(bearings[c])
            ys = sy[c] + k * math.cos(bearings[c])
            la, lo = _to_latlon(proj, xs, ys)
            first = c * per_circuit
            ids += [f"LT-{d.district_id}-{first + j + 1:06d}" for j in range(size)]
            circuits += [circuit_id] * size
            cabinets += [cabinet_id] * size
            dist += [d.district_id] * size
            lat += la
            lon += lo
            rated += [_LAMP_SIZES_W[int(sizes[c])]] * size
    return Lights(
        ids=tuple(ids),
        circuit=tuple(circuits),
        cabinet=tuple(cabinets),
        district=tuple(dist),
        lat=tuple(lat),
        lon=tuple(lon),
        rated_w=tuple(rated),
    )


def place_enterprises(
    name: str, districts: Sequence[District], counts: DeviceCounts
) -> tuple[tuple[Enterprise, ...], Stations]:
    rng = profile_rng(name, "heating")
    homes = allocate(counts.enterprises, [d.weight for d in districts])
    enterprises: list[Enterprise] = []
    ids: list[str] = []
    ent: list[str] = []
    dist: list[str] = []
    lat: list[float] = []
    lon: list[float] = []
    width = max(3, len(str(counts.enterprises)))
    lo_n, hi_n = counts.stations_per_enterprise
    for d, n in zip(districts, homes, strict=True):
        proj = LocalProjection(d.lat, d.lon)
        for _ in range(n):
            number = len(enterprises) + 1
            e = Enterprise(
                enterprise_id=f"HE-{number:0{width}d}",
                district=d.district_id,
                curve_at_0c=round(float(rng.uniform(48, 56)), 1),
                curve_slope=round(float(rng.uniform(1.0, 1.6)), 2),
            )
            enterprises.append(e)
            k = int(rng.integers(lo_n, hi_n + 1))
            xs, ys = _disc_points(rng, k, d.radius_m)
            la, lo = _to_latlon(proj, xs, ys)
            ids += [f"HS-{number:0{width}d}-{j + 1}" for j in range(k)]
            ent += [e.enterprise_id] * k
            dist += [d.district_id] * k
            lat += la
            lon += lo
    total = len(ids)
    return tuple(enterprises), Stations(
        ids=tuple(ids),
        enterprise=tuple(ent),
        district=tuple(dist),
        lat=tuple(lat),
        lon=tuple(lon),
        flow_m3h=tuple(np.round(rng.uniform(40, 250, total), 1).tolist()),
        margin_c=tuple(np.round(rng.uniform(3.5, 8.0, total), 2).tolist()),
        indoor_c=tuple(np.round(rng.uniform(19.8, 22.0, total), 2).tolist()),
    )


def place_trucks(routes: Sequence[Route]) -> Trucks:
    ids: list[str] = []
    route: list[str] = []
    dist: list[str] = []
    kinds: list[str] = []
    for r in routes:
        for k in range(r.trucks):
            ids.append(f"TR-{r.route_id}-{k + 1}")
            route.append(r.route_id)
            dist.append(r.district)
            kinds.append(r.waste_kind)
    return Trucks(ids=tuple(ids), route=tuple(route), district=tuple(dist), waste_kind=tuple(kinds))
