"""Read a profile folder: `profile.toml` plus GeoJSON files (cityops/base/city/profiles_data/NAME/).

| file | content |
|---|---|
| profile.toml | display name, centre, timezone, device counts |
| districts.geojson | Point per district: district_id, name, name_zh, radius_m, weight |
| transfer_stations.geojson | Point per district: station_id, district |
| routes.geojson | LineString per route: route_id, district, trucks, waste_kind |
| zones.geojson | Polygon per no-dumping zone: zone_id, district, name |
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

from cityops.base.city.devices import DeviceCounts
from cityops.base.city.layout import WASTE_KINDS, District, Route, TransferStation, Zone

DATA_DIR = Path(__file__).parent / "profiles_data"


class ProfileDataError(ValueError):
    """A profile file is missing or malformed; the message names the file and feature."""


def _features(path: Path, geometry: str) -> list[tuple[Any, dict[str, Any]]]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ProfileDataError(f"{path}: {exc}") from None
    out = []
    for n, feature in enumerate(doc.get("features", [])):
        geom = feature.get("geometry") or {}
        if geom.get("type") != geometry:
            raise ProfileDataError(f"{path}: feature {n} is {geom.get('type')}, not {geometry}")
        out.append((geom["coordinates"], feature.get("properties") or {}))
    return out


def _prop(path: Path, n: int, props: dict[str, Any], key: str) -> Any:
    try:
        return props[key]
    except KeyError:
        raise ProfileDataError(f"{path}: feature {n} has no property {key!r}") from None


def read_districts(path: Path, transfers: dict[str, TransferStation]) -> list[District]:
    districts = []
    for n, (coords, props) in enumerate(_features(path, "Point")):
        district_id = _prop(path, n, props, "district_id")
        lon, lat = coords
        transfer = transfers.get(district_id, TransferStation(f"TS-{district_id}", lat, lon))
        districts.append(
            District(
                district_id=district_id,
                name=_prop(path, n, props, "name"),
                name_zh=props.get("name_zh", ""),
                lat=float(lat),
                lon=float(lon),
                radius_m=float(_prop(path, n, props, "radius_m")),
                weight=float(props.get("weight", 1.0)),
                transfer=transfer,
            )
        )
    return districts


def read_transfer_stations(path: Path) -> dict[str, TransferStation]:
    out = {}
    for n, ((lon, lat), props) in enumerate(_features(path, "Point")):
        out[_prop(path, n, props, "district")] = TransferStation(
            _prop(path, n, props, "station_id"), float(lat), float(lon)
        )
    return out


def read_routes(path: Path) -> list[Route]:
    routes = []
    for n, (coords, props) in enumerate(_features(path, "LineString")):
        kind = props.get("waste_kind", "other")
        if kind not in WASTE_KINDS:
            raise ProfileDataError(f"{path}: feature {n}: waste_kind {kind!r} not in {WASTE_KINDS}")
        routes.append(
            Route(
                route_id=_prop(path, n, props, "route_id"),
                district=_prop(path, n, props, "district"),
                coords=tuple((float(x), float(y)) for x, y in coords),
                trucks=int(props.get("trucks", 2)),
                waste_kind=kind,
            )
        )
    return routes


def read_zones(path: Path) -> list[Zone]:
    zones = []
    for n, (coords, props) in enumerate(_features(path, "Polygon")):
        zones.append(
            Zone(
                zone_id=_prop(path, n, props, "zone_id"),
                district=_prop(path, n, props, "district"),
                name=props.get("name", ""),
                ring=tuple((float(x), float(y)) for x, y in coords[0]),
            )
        )
    return zones


def read_settings(path: Path) -> tuple[dict[str, Any], DeviceCounts]:
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
        dev = doc["devices"]
        counts = DeviceCounts(
            detectors=int(dev["detectors"]),
            lights=int(dev["lights"]),
            lights_per_circuit=int(dev["lights_per_circuit"]),
            circuits_per_cabinet=int(dev["circuits_per_cabinet"]),
            enterprises=int(dev["enterprises"]),
            stations_per_enterprise=(
                int(dev["stations_per_enterprise"][0]),
                int(dev["stations_per_enterprise"][1]),
            ),
        )
    except (OSError, tomllib.TOMLDecodeError, KeyError, IndexError, TypeError) as exc:
        raise ProfileDataError(f"{path}: {type(exc).__name__}: {exc}") from None
    return doc, counts
