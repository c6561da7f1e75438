"""Gas detector incidents: leaks, faults, silent detectors."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, ClassVar, Literal

from pydantic import (
    Field,
    model_validator,
)

from sensors_sim.incidents.base import (
    _SLACK_S,
    GAS_OFFLINE_S,
    LEL_CRITICAL,
    LEL_MAJOR,
    ExpectedAlert,
    TargetKind,
    _Incident,
    _one,
)

if TYPE_CHECKING:
    from cityops.base.city.profiles import CityProfile


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
