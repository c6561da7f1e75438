"""Heating incidents: burst pipes, cold buildings, low supply temperature, silent
stations, cold snaps."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, ClassVar, Literal

from pydantic import (
    Field,
    model_validator,
)

from sensors_sim.incidents.base import (
    _SLACK_S,
    INDOOR_COLD_S,
    STATION_OFFLINE_S,
    ExpectedAlert,
    TargetKind,
    _Incident,
    _one,
)

if TYPE_CHECKING:
    from cityops.base.city.profiles import CityProfile


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
