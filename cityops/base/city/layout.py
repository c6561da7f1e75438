"""The static city a profile describes: districts, routes, zones, enterprises, devices.

Devices are stored column-wise (one tuple per attribute, index = device) rather
than as one object each: the megacity has 300k lights, and a few shared tuples
load in a fraction of the time and memory of 300k objects.
"""

from __future__ import annotations

from dataclasses import dataclass

WASTE_KINDS = ("kitchen", "recyclable", "other", "hazardous")
SITE_TYPES = ("restaurant", "pipeline", "station", "residential")


@dataclass(frozen=True, slots=True)
class TransferStation:
    """Where a district's trucks legitimately unload (never inside a no-dumping zone)."""

    station_id: str
    lat: float
    lon: float


@dataclass(frozen=True, slots=True)
class District:
    district_id: str
    name: str
    name_zh: str
    lat: float
    lon: float
    radius_m: float
    weight: float
    transfer: TransferStation


@dataclass(frozen=True, slots=True)
class Route:
    """A garbage-collection route; trucks collect along it and unload at its last point."""

    route_id: str
    district: str
    coords: tuple[tuple[float, float], ...]  # (lon, lat), GeoJSON order
    trucks: int
    waste_kind: str


@dataclass(frozen=True, slots=True)
class Zone:
    zone_id: str
    district: str
    name: str
    ring: tuple[tuple[float, float], ...]  # exterior ring (lon, lat), closed


@dataclass(frozen=True, slots=True)
class Enterprise:
    """A heating enterprise and its heating curve (linear in the outdoor temperature)."""

    enterprise_id: str
    district: str
    curve_at_0c: float  # lowest acceptable supply temperature at 0 C outdoor
    curve_slope: float  # degrees of supply temperature per degree colder outdoor

    def min_supply_temp_c(self, outdoor_temp_c: float) -> float:
        return self.curve_at_0c - self.curve_slope * outdoor_temp_c


@dataclass(frozen=True, slots=True)
class Detectors:
    ids: tuple[str, ...]
    district: tuple[str, ...]
    site_type: tuple[str, ...]
    lat: tuple[float, ...]
    lon: tuple[float, ...]
    battery_full_pct: tuple[float, ...]  # battery at the profile epoch
    drain_pct_per_day: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class Lights:
    ids: tuple[str, ...]
    circuit: tuple[str, ...]
    cabinet: tuple[str, ...]
    district: tuple[str, ...]
    lat: tuple[float, ...]
    lon: tuple[float, ...]
    rated_w: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class Stations:
    ids: tuple[str, ...]
    enterprise: tuple[str, ...]
    district: tuple[str, ...]
    lat: tuple[float, ...]
    lon: tuple[float, ...]
    flow_m3h: tuple[float, ...]
    margin_c: tuple[float, ...]  # how far above the curve the station runs
    indoor_c: tuple[float, ...]  # the buildings' usual indoor temperature


@dataclass(frozen=True, slots=True)
class Trucks:
    ids: tuple[str, ...]
    route: tuple[str, ...]
    district: tuple[str, ...]
    waste_kind: tuple[str, ...]
