"""What every incident has: a target entity, a start and a duration, the alerts it
should cause; the rule thresholds that decide those; the no-dumping zone geometry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated, ClassVar, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    model_validator,
)

from cityops.base.city.layout import Zone

if TYPE_CHECKING:
    from cityops.base.city.profiles import CityProfile
from cityops.base.thresholds import load_thresholds

# The rule thresholds (cityops/base/thresholds.toml, its defaults) that decide whether
# an incident of a given size is expected to alert.
_T = load_thresholds()
LEL_MAJOR, LEL_CRITICAL = _T.gas.lel_major_pct, _T.gas.lel_critical_pct
GAS_OFFLINE_S = _T.gas.offline_s
DAY_BURNING_S = _T.streetlight.day_burning_s
LIT_RATE_MIN, LIT_RATE_WINDOW_S, LIT_RATE_MIN_LIGHTS = (
    _T.streetlight.lit_rate_min,
    _T.streetlight.lit_rate_window_s,
    _T.streetlight.lit_rate_min_lights,
)
CIRCUIT_OUTAGE_RATIO, CIRCUIT_MIN_LIGHTS = (
    _T.streetlight.circuit_outage_ratio,
    _T.streetlight.circuit_min_lights,
)
INDOOR_MIN_C, INDOOR_COLD_S = _T.heating.indoor_min_c, _T.heating.indoor_cold_s
STATION_OFFLINE_S = _T.heating.offline_s
OFF_ROUTE_M, OFF_ROUTE_S = _T.fleet.off_route_m, _T.fleet.off_route_s
IDLE_S = _T.fleet.idle_s
SPEEDING_KMH = _T.fleet.speeding_kmh
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
