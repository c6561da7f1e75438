"""Id -> device-number lookups over a profile's device tables, built once per profile."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from cityops.base.city.layout import Detectors, Lights, Stations, Trucks


@dataclass(frozen=True, slots=True)
class ProfileIndex:
    detector: dict[str, int]
    light: dict[str, int]
    station: dict[str, int]
    truck: dict[str, int]
    circuit_lights: dict[str, tuple[int, ...]]
    cabinet_lights: dict[str, tuple[int, ...]]
    cabinet_circuits: dict[str, tuple[str, ...]]
    district_lights: dict[str, tuple[int, ...]]
    district_stations: dict[str, tuple[int, ...]]


def build_index(
    detectors: Detectors, lights: Lights, stations: Stations, trucks: Trucks
) -> ProfileIndex:
    circuit: defaultdict[str, list[int]] = defaultdict(list)
    cabinet: defaultdict[str, list[int]] = defaultdict(list)
    cab_circuits: defaultdict[str, dict[str, None]] = defaultdict(dict)  # ordered set
    district_lights: defaultdict[str, list[int]] = defaultdict(list)
    for i, (c, b, d) in enumerate(
        zip(lights.circuit, lights.cabinet, lights.district, strict=True)
    ):
        circuit[c].append(i)
        cabinet[b].append(i)
        cab_circuits[b][c] = None
        district_lights[d].append(i)
    district_stations: defaultdict[str, list[int]] = defaultdict(list)
    for i, d in enumerate(stations.district):
        district_stations[d].append(i)
    return ProfileIndex(
        detector={k: i for i, k in enumerate(detectors.ids)},
        light={k: i for i, k in enumerate(lights.ids)},
        station={k: i for i, k in enumerate(stations.ids)},
        truck={k: i for i, k in enumerate(trucks.ids)},
        circuit_lights={k: tuple(v) for k, v in circuit.items()},
        cabinet_lights={k: tuple(v) for k, v in cabinet.items()},
        cabinet_circuits={k: tuple(v) for k, v in cab_circuits.items()},
        district_lights={k: tuple(v) for k, v in district_lights.items()},
        district_stations={k: tuple(v) for k, v in district_stations.items()},
    )
