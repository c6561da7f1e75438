"""Fleet incidents: off route, illegal dumping, idling, speeding."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, ClassVar, Literal

from pydantic import (
    Field,
)

from sensors_sim.incidents.base import (
    _SLACK_S,
    IDLE_S,
    OFF_ROUTE_M,
    OFF_ROUTE_S,
    SPEEDING_KMH,
    ExpectedAlert,
    TargetKind,
    _Incident,
    _one,
    nearest_zone,
    zone_distance_m,
)

if TYPE_CHECKING:
    from cityops.base.city.profiles import CityProfile


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
