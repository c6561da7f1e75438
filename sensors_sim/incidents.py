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

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from cityops.base.city.layout import Zone

if TYPE_CHECKING:
    from cityops.base.city.profiles import CityProfile

# The rule thresholds of cityops/base/thresholds.toml that decide whether an
# incident of a given size is expected to alert (kept here as plain numbers so
# the simulator does not import the stream processor).
LEL_MAJOR, LEL_CRITICAL = 25.0, 50.0
GAS_OFFLINE_S = 3 * 60
DAY_BURNING_S = 1800
LIT_RATE_MIN, LIT_RATE_WINDOW_S, LIT_RATE_MIN_LIGHTS = 0.98, 600, 20
CIRCUIT_OUTAGE_RATIO, CIRCUIT_MIN_LIGHTS = 0.5, 3
INDOOR_MIN_C, INDOOR_COLD_S = 18.0, 1800
STATION_OFFLINE_S = 300
OFF_ROUTE_M, OFF_ROUTE_S = 300.0, 120
IDLE_S = 600
SPEEDING_KMH = 50.0
# a signal must exceed a rule's duration by this much to count as expected
_SLACK_S = 60

TargetKind = Literal["detector", "light", "circuit", "cabinet", "station", "district", "truck"]


class IncidentError(ValueError):
    """An incident spec is invalid or names an entity the profile does not have."""


@dataclass(frozen=True, slots=True)
class ExpectedAlert:
    """An alert an incident should cause: rule (as in DESIGN.md) on one entity.

    `severity` is a tuple when the alert escalates (gas.lel_high: major, then
    critical); `states` is the lifecycle expected within the run.
    """

    rule: str
    entity_id: str
    severity: str | tuple[str, ...]
    states: tuple[str, ...] = ("firing", "resolved")


class _Incident(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    #: what `entity_id` names (a tuple: any of these)
    targets: ClassVar[tuple[TargetKind, ...]] = ()

    kind: str
    entity_id: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")]
    at_s: Annotated[float, Field(ge=0)] | None = None
    start: AwareDatetime | None = None
    duration_s: Annotated[float, Field(gt=0, le=7 * 86400)] = 1800.0

    @model_validator(mode="after")
    def _one_start(self) -> _Incident:
        if (self.at_s is None) == (self.start is None):
            raise ValueError(
                "give exactly one of at_s (seconds after the simulation start) "
                "or start (an RFC 3339 time with a timezone)"
            )
        return self

    def start_time(self, sim_start: datetime) -> datetime:
        if self.start is not None:
            return self.start
        assert self.at_s is not None
        return sim_start + timedelta(seconds=self.at_s)

    def end_time(self, sim_start: datetime) -> datetime:
        return self.start_time(sim_start) + timedelta(seconds=self.duration_s)

    def expected_alerts(self, profile: CityProfile, sim_start: datetime) -> list[ExpectedAlert]:
        return []


def _one(rule: str, entity: str, severity: str | tuple[str, ...]) -> list[ExpectedAlert]:
    return [ExpectedAlert(rule, entity, severity)]


# --- gas ---------------------------------------------------------------------------
class GasLeak(_Incident):
    """LEL ramps up to a peak (past 25 and 50 %LEL), holds, then decays below 10."""

    targets: ClassVar[tuple[TargetKind, ...]] = ("detector",)
    kind: Literal["gas_leak"] = "gas_leak"
    duration_s: Annotated[float, Field(gt=0, le=86400)] = 900.0
    peak_lel_pct: Annotated[float, Field(gt=0, le=100)] = 60.0
    ramp_s: Annotated[float, Field(gt=0)] = 180.0
    decay_s: Annotated[float, Field(gt=0)] = 180.0
    report_every_s: Annotated[float, Field(ge=1, le=60)] = 10.0  # "on change" readings

    @model_validator(mode="after")
    def _fits(self) -> GasLeak:
        if self.ramp_s + self.decay_s > self.duration_s:
            raise ValueError("ramp_s + decay_s must not exceed duration_s")
        return self

    def expected_alerts(self, profile: CityProfile, sim_start: datetime) -> list[ExpectedAlert]:
        if self.peak_lel_pct >= LEL_CRITICAL:
            return _one("gas.lel_high", self.entity_id, ("major", "critical"))
        if self.peak_lel_pct >= LEL_MAJOR:
            return _one("gas.lel_high", self.entity_id, "major")
        return []


class DetectorFault(_Incident):
    targets: ClassVar[tuple[TargetKind, ...]] = ("detector",)
    kind: Literal["detector_fault"] = "detector_fault"
    duration_s: Annotated[float, Field(gt=0, le=7 * 86400)] = 600.0
    status: Literal["fault", "tamper"] = "fault"

    def expected_alerts(self, profile: CityProfile, sim_start: datetime) -> list[ExpectedAlert]:
        return _one("gas.detector_fault", self.entity_id, "warning")


class DetectorSilent(_Incident):
    """The detector sends nothing, then comes back with a reading at the end."""

    targets: ClassVar[tuple[TargetKind, ...]] = ("detector",)
    kind: Literal["detector_silent"] = "detector_silent"
    duration_s: Annotated[float, Field(gt=0, le=7 * 86400)] = 600.0

    def expected_alerts(self, profile: CityProfile, sim_start: datetime) -> list[ExpectedAlert]:
        if self.duration_s >= GAS_OFFLINE_S + _SLACK_S:
            return _one("gas.detector_offline", self.entity_id, "warning")
        return []


# --- streetlights --------------------------------------------------------------------
class _LightIncident(_Incident):
    def light_numbers(self, profile: CityProfile) -> tuple[int, ...]:
        ix = profile.index
        if "light" in self.targets and self.entity_id in ix.light:
            return (ix.light[self.entity_id],)
        if "circuit" in self.targets and self.entity_id in ix.circuit_lights:
            return ix.circuit_lights[self.entity_id]
        if "cabinet" in self.targets and self.entity_id in ix.cabinet_lights:
            return ix.cabinet_lights[self.entity_id]
        raise IncidentError(f"{self.kind}: no {' or '.join(self.targets)} {self.entity_id!r}")

    def _night(self, profile: CityProfile, sim_start: datetime) -> bool:
        return profile.is_dark(self.start_time(sim_start))

    def _dark_alerts(self, profile: CityProfile, sim_start: datetime) -> list[ExpectedAlert]:
        """streetlight.dark per light, circuit outages, and the district's lit rate."""
        if not self._night(profile, sim_start):
            return []
        lights = self.light_numbers(profile)
        ids = profile.lights.ids
        out = [ExpectedAlert("streetlight.dark", ids[i], "minor") for i in lights]
        by_circuit: dict[str, int] = {}
        for i in lights:
            by_circuit[profile.lights.circuit[i]] = by_circuit.get(profile.lights.circuit[i], 0) + 1
        for circuit, dark in by_circuit.items():
            size = len(profile.index.circuit_lights[circuit])
            if size >= CIRCUIT_MIN_LIGHTS and dark / size >= CIRCUIT_OUTAGE_RATIO:
                out.append(ExpectedAlert("streetlight.circuit_outage", circuit, "major"))
        district = profile.lights.district[lights[0]]
        size = len(profile.index.district_lights[district])
        lit_rate = (size - len(lights)) / size
        if (
            size >= LIT_RATE_MIN_LIGHTS
            and lit_rate < LIT_RATE_MIN
            and self.duration_s >= LIT_RATE_WINDOW_S + _SLACK_S
        ):
            out.append(ExpectedAlert("streetlight.lit_rate_low", district, "warning"))
        return out


class LampDark(_LightIncident):
    """One light is off at night (lamp or driver fault)."""

    targets: ClassVar[tuple[TargetKind, ...]] = ("light",)
    kind: Literal["lamp_dark"] = "lamp_dark"
    fault: Literal["lamp", "driver"] = "lamp"

    def expected_alerts(self, profile: CityProfile, sim_start: datetime) -> list[ExpectedAlert]:
        return self._dark_alerts(profile, sim_start)


class CableFault(_LightIncident):
    """A whole circuit goes dark with fault=cable and no voltage."""

    targets: ClassVar[tuple[TargetKind, ...]] = ("circuit",)
    kind: Literal["cable_fault"] = "cable_fault"

    def expected_alerts(self, profile: CityProfile, sim_start: datetime) -> list[ExpectedAlert]:
        return self._dark_alerts(profile, sim_start)


class CabinetStorm(_LightIncident):
    """Every circuit of a cabinet loses power (a storm trips the cabinet)."""

    targets: ClassVar[tuple[TargetKind, ...]] = ("cabinet",)
    kind: Literal["cabinet_storm"] = "cabinet_storm"

    def expected_alerts(self, profile: CityProfile, sim_start: datetime) -> list[ExpectedAlert]:
        return self._dark_alerts(profile, sim_start)


class DayBurning(_LightIncident):
    """A light (or a whole circuit: a stuck timer) stays on in daylight."""

    targets: ClassVar[tuple[TargetKind, ...]] = ("light", "circuit")
    kind: Literal["day_burning"] = "day_burning"
    duration_s: Annotated[float, Field(gt=0, le=7 * 86400)] = 3600.0

    def expected_alerts(self, profile: CityProfile, sim_start: datetime) -> list[ExpectedAlert]:
        start, end = self.start_time(sim_start), self.end_time(sim_start)
        if profile.is_dark(start) or profile.is_dark(end):
            return []
        if self.duration_s < DAY_BURNING_S + _SLACK_S:
            return []
        ids = profile.lights.ids
        return [
            ExpectedAlert("streetlight.day_burning", ids[i], "info")
            for i in self.light_numbers(profile)
        ]


# --- heating ---------------------------------------------------------------------------
class BurstPipe(_Incident):
    """Supply pressure falls by `drop_mpa` within `drop_s`, flow rises; restored at the end."""

    targets: ClassVar[tuple[TargetKind, ...]] = ("station",)
    kind: Literal["burst_pipe"] = "burst_pipe"
    drop_mpa: Annotated[float, Field(gt=0.1, le=0.55)] = 0.25
    drop_s: Annotated[float, Field(gt=0, le=300)] = 120.0

    def expected_alerts(self, profile: CityProfile, sim_start: datetime) -> list[ExpectedAlert]:
        return _one("heating.pressure_drop", self.entity_id, "critical")


class ColdBuilding(_Incident):
    """Indoor temperature sinks to `indoor_c` over `ramp_s`, and warms back at the end."""

    targets: ClassVar[tuple[TargetKind, ...]] = ("station",)
    kind: Literal["cold_building"] = "cold_building"
    duration_s: Annotated[float, Field(gt=0, le=7 * 86400)] = 3600.0
    indoor_c: Annotated[float, Field(ge=-10, lt=18)] = 15.5
    ramp_s: Annotated[float, Field(ge=0)] = 600.0

    def expected_alerts(self, profile: CityProfile, sim_start: datetime) -> list[ExpectedAlert]:
        if self.duration_s - self.ramp_s >= INDOOR_COLD_S + _SLACK_S:
            return _one("heating.indoor_cold", self.entity_id, "major")
        return []


class SupplyTempLow(_Incident):
    """Supply temperature runs `below_c` under the enterprise's curve."""

    targets: ClassVar[tuple[TargetKind, ...]] = ("station",)
    kind: Literal["supply_temp_low"] = "supply_temp_low"
    below_c: Annotated[float, Field(gt=0, le=40)] = 6.0

    def expected_alerts(self, profile: CityProfile, sim_start: datetime) -> list[ExpectedAlert]:
        return _one("heating.supply_temp_low", self.entity_id, "minor")


class StationSilent(_Incident):
    targets: ClassVar[tuple[TargetKind, ...]] = ("station",)
    kind: Literal["station_silent"] = "station_silent"
    duration_s: Annotated[float, Field(gt=0, le=7 * 86400)] = 900.0

    def expected_alerts(self, profile: CityProfile, sim_start: datetime) -> list[ExpectedAlert]:
        if self.duration_s >= STATION_OFFLINE_S + _SLACK_S:
            return _one("heating.station_offline", self.entity_id, "warning")
        return []


class ColdSnap(_Incident):
    """Outdoor temperature drops by `drop_c` across a district (ramping over `ramp_s`).

    With `stations_keep_up` (the default) the stations follow their curves and
    nothing should alert: a false-positive check. Without it, supply
    temperatures stay where they were and every station falls below its curve.
    """

    targets: ClassVar[tuple[TargetKind, ...]] = ("district",)
    kind: Literal["cold_snap"] = "cold_snap"
    duration_s: Annotated[float, Field(gt=0, le=7 * 86400)] = 4 * 3600.0
    drop_c: Annotated[float, Field(gt=0, le=30)] = 10.0
    ramp_s: Annotated[float, Field(ge=0)] = 3600.0
    stations_keep_up: bool = True

    @model_validator(mode="after")
    def _fits(self) -> ColdSnap:
        if 2 * self.ramp_s > self.duration_s:
            raise ValueError("2 * ramp_s must not exceed duration_s (down, then back up)")
        return self

    def expected_alerts(self, profile: CityProfile, sim_start: datetime) -> list[ExpectedAlert]:
        if self.stations_keep_up:
            return []
        st = profile.stations
        return [
            ExpectedAlert("heating.supply_temp_low", st.ids[i], "minor")
            for i in profile.index.district_stations.get(self.entity_id, ())
            # the curve rises by slope * drop; the station ran margin_c above it
            if profile.enterprise(st.enterprise[i]).curve_slope * self.drop_c > st.margin_c[i] + 1
        ]


# --- fleet -----------------------------------------------------------------------------
class OffRoute(_Incident):
    """The truck leaves its route by `offset_m`, circles there, and comes back."""

    targets: ClassVar[tuple[TargetKind, ...]] = ("truck",)
    kind: Literal["off_route"] = "off_route"
    duration_s: Annotated[float, Field(ge=240, le=86400)] = 900.0
    offset_m: Annotated[float, Field(gt=OFF_ROUTE_M + 50, le=5000)] = 800.0
    speed_kmh: Annotated[float, Field(ge=10, le=45)] = 30.0

    def expected_alerts(self, profile: CityProfile, sim_start: datetime) -> list[ExpectedAlert]:
        beyond = self.duration_s - 2 * OFF_ROUTE_M / (self.speed_kmh / 3.6)
        if beyond >= OFF_ROUTE_S + _SLACK_S:
            return _one("fleet.off_route", self.entity_id, "minor")
        return []


class IllegalDumping(_Incident):
    """The truck drives along its route to a no-dumping zone, stops, and dumps load.

    `duration_s` is the time stopped in the zone; the drive there and back
    along the route adds to it (the truck then resumes its round). `zone_id`
    defaults to the zone nearest the truck's route.
    """

    targets: ClassVar[tuple[TargetKind, ...]] = ("truck",)
    kind: Literal["illegal_dumping"] = "illegal_dumping"
    duration_s: Annotated[float, Field(ge=30, lt=IDLE_S)] = 240.0
    zone_id: str | None = None
    dump_fraction: Annotated[float, Field(gt=0, le=1)] = 0.6
    min_load_kg: Annotated[float, Field(ge=100)] = 1500.0  # tops up the load first if lower
    speed_kmh: Annotated[float, Field(ge=10, le=45)] = 30.0

    def expected_alerts(self, profile: CityProfile, sim_start: datetime) -> list[ExpectedAlert]:
        out = _one("fleet.geofence_violation", self.entity_id, "critical")
        truck = profile.index.truck.get(self.entity_id)
        if truck is not None:
            route = profile.trucks.route[truck]
            zone = profile.zone(self.zone_id) if self.zone_id else nearest_zone(profile, route)
            if zone_distance_m(profile, route, zone.zone_id) > OFF_ROUTE_M:
                out.append(ExpectedAlert("fleet.off_route", self.entity_id, "minor"))
        return out


class Idling(_Incident):
    """Ignition on, standing still."""

    targets: ClassVar[tuple[TargetKind, ...]] = ("truck",)
    kind: Literal["idling"] = "idling"
    duration_s: Annotated[float, Field(gt=0, le=86400)] = 1200.0

    def expected_alerts(self, profile: CityProfile, sim_start: datetime) -> list[ExpectedAlert]:
        if self.duration_s >= IDLE_S + _SLACK_S:
            return _one("fleet.idle", self.entity_id, "info")
        return []


class Speeding(_Incident):
    """The truck drives its route at `speed_kmh` (out and back, so it resumes where it was)."""

    targets: ClassVar[tuple[TargetKind, ...]] = ("truck",)
    kind: Literal["speeding"] = "speeding"
    duration_s: Annotated[float, Field(ge=20, le=86400)] = 300.0
    speed_kmh: Annotated[float, Field(gt=SPEEDING_KMH, le=120)] = 65.0

    def expected_alerts(self, profile: CityProfile, sim_start: datetime) -> list[ExpectedAlert]:
        return _one("fleet.speeding", self.entity_id, "warning")


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


def nearest_zone(profile: CityProfile, route_id: str) -> Zone:
    zones = profile.zones
    if not zones:
        raise IncidentError(f"profile {profile.name!r} has no no-dumping zones")
    return min(zones, key=lambda z: (zone_distance_m(profile, route_id, z.zone_id), z.zone_id))


def zone_distance_m(profile: CityProfile, route_id: str, zone_id: str) -> float:
    """Metres from the route to the zone's centre (where a dumping truck stops)."""
    lon, lat = zone_centre(profile.zone(zone_id))
    distance = profile.distance_to_route_m(route_id, lat, lon)
    return float("inf") if distance is None else distance


def zone_centre(zone: Zone) -> tuple[float, float]:
    """(lon, lat) mean of the ring's distinct vertices (the zones are convex)."""
    pts = zone.ring[:-1] if zone.ring[0] == zone.ring[-1] else zone.ring
    return sum(p[0] for p in pts) / len(pts), sum(p[1] for p in pts) / len(pts)
