"""Streetlight incidents: dark lamps, cable faults, cabinet storms, day burning."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, ClassVar, Literal

from pydantic import (
    Field,
)

from sensors_sim.incidents.base import (
    _SLACK_S,
    CIRCUIT_MIN_LIGHTS,
    CIRCUIT_OUTAGE_RATIO,
    DAY_BURNING_S,
    LIT_RATE_MIN,
    LIT_RATE_MIN_LIGHTS,
    LIT_RATE_WINDOW_S,
    ExpectedAlert,
    IncidentError,
    TargetKind,
    _Incident,
)

if TYPE_CHECKING:
    from cityops.base.city.profiles import CityProfile


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
