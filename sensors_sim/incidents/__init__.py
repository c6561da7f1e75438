"""Declarative incidents: what goes wrong, where, when, and which alerts it should cause.

An incident perturbs the generated events of one entity (a detector, light,
circuit, cabinet, station, district or truck) from a start event time for a
duration. Specs are plain data, constructible from dicts (scenario files):

    incident_from_dict({"kind": "gas_leak", "entity_id": "GD-centre-00001",
                        "at_s": 600, "duration_s": 900, "peak_lel_pct": 60})

`at_s` is seconds after the simulation start; `start` is an absolute RFC 3339
time instead. The feeds (`sensors_sim.feeds`) implement the perturbations;
`expected_alerts(profile, sim_start)` says what the rules of DESIGN.md should
make of them, for scenario checks.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, TypeAdapter, ValidationError

from sensors_sim.incidents.base import (
    ExpectedAlert,
    IncidentError,
    nearest_zone,
    zone_centre,
    zone_distance_m,
)
from sensors_sim.incidents.fleet import Idling, IllegalDumping, OffRoute, Speeding
from sensors_sim.incidents.gas import DetectorFault, DetectorSilent, GasLeak
from sensors_sim.incidents.heating import (
    BurstPipe,
    ColdBuilding,
    ColdSnap,
    StationSilent,
    SupplyTempLow,
)
from sensors_sim.incidents.streetlight import CabinetStorm, CableFault, DayBurning, LampDark

Incident = Annotated[
    GasLeak
    | DetectorFault
    | DetectorSilent
    | LampDark
    | CableFault
    | CabinetStorm
    | DayBurning
    | BurstPipe
    | ColdBuilding
    | SupplyTempLow
    | StationSilent
    | ColdSnap
    | OffRoute
    | IllegalDumping
    | Idling
    | Speeding,
    Field(discriminator="kind"),
]

_ADAPTER: TypeAdapter[Incident] = TypeAdapter(Incident)

KINDS: tuple[str, ...] = (
    "gas_leak",
    "detector_fault",
    "detector_silent",
    "lamp_dark",
    "cable_fault",
    "cabinet_storm",
    "day_burning",
    "burst_pipe",
    "cold_building",
    "supply_temp_low",
    "station_silent",
    "cold_snap",
    "off_route",
    "illegal_dumping",
    "idling",
    "speeding",
)


def incident_from_dict(data: dict[str, Any]) -> Incident:
    """Build an incident from plain data; `IncidentError` says what is wrong and where."""
    if not isinstance(data, dict):
        raise IncidentError(f"an incident must be a mapping, got {type(data).__name__}")
    if data.get("kind") not in KINDS:
        raise IncidentError(f"incident kind {data.get('kind')!r} is not one of: {', '.join(KINDS)}")
    try:
        return _ADAPTER.validate_python(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False):
            where = ".".join(str(p) for p in err["loc"][1:]) or "incident"
            problems.append(f"{where}: {err['msg']}")
        raise IncidentError(f"invalid {data['kind']} incident: " + "; ".join(problems)) from None


__all__ = [
    "KINDS",
    "BurstPipe",
    "CabinetStorm",
    "CableFault",
    "ColdBuilding",
    "ColdSnap",
    "DayBurning",
    "DetectorFault",
    "DetectorSilent",
    "ExpectedAlert",
    "GasLeak",
    "Idling",
    "IllegalDumping",
    "Incident",
    "IncidentError",
    "LampDark",
    "OffRoute",
    "Speeding",
    "StationSilent",
    "SupplyTempLow",
    "incident_from_dict",
    "nearest_zone",
    "zone_centre",
    "zone_distance_m",
]
