"""Rule thresholds: `thresholds.toml` beside this file, optionally overridden.

The TOML file is the only place the numbers live; the models below give them
types and check that they make sense together (a clear level on the right side
of its firing threshold, durations positive). `load_thresholds` merges an
override file over the defaults and turns every problem into one
`ThresholdsError` whose lines name the key and say what to fix.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

DEFAULTS_FILE = Path(__file__).with_name("thresholds.toml")
_DEFAULTS_NAME = "cityops/base/thresholds.toml"

Seconds = Annotated[float, Field(gt=0, description="event-time seconds")]
Ratio = Annotated[float, Field(gt=0, le=1)]
Positive = Annotated[float, Field(gt=0)]
Count = Annotated[int, Field(ge=1)]


class ThresholdsError(ValueError):
    """The thresholds cannot be used; the message says which key and what to fix."""


def _below(model: BaseModel, section: str, low_key: str, high_key: str) -> None:
    low, high = getattr(model, low_key), getattr(model, high_key)
    if low >= high:
        raise ValueError(
            f"{section}.{low_key} ({low}) must be lower than {section}.{high_key} ({high}); "
            f"lower {section}.{low_key} or raise {section}.{high_key}"
        )


class _Section(BaseModel):
    # strict: a quoted "25" in the file is a mistake to report, not to coerce
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, allow_inf_nan=False)

    #: (low, high) key pairs whose values must be ordered, low < high, checked in order
    ORDERED: ClassVar[tuple[tuple[str, str], ...]] = ()

    @classmethod
    def table(cls) -> str:
        """The section's TOML table, for the messages: its class name without
        `Thresholds` (GasThresholds -> gas; tests/cityops/base/test_thresholds.py checks
        each section with ORDERED pairs)."""
        return cls.__name__.removesuffix("Thresholds").lower()

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        for low_key, high_key in self.ORDERED:
            _below(self, self.table(), low_key, high_key)
        return self


class EngineThresholds(_Section):
    allowed_lateness_s: Annotated[float, Field(ge=0)]
    timer_bucket_s: Seconds


class WindowThresholds(_Section):
    close_after_s: Annotated[float, Field(ge=0)]


Delay = Annotated[float, Field(ge=0, description="event-time seconds; 0 = never")]


class EscalationThresholds(_Section):
    critical_s: Delay
    major_s: Delay
    minor_s: Delay
    warning_s: Delay
    info_s: Delay
    max_level: Annotated[int, Field(ge=1, le=9)]
    fallback_idle_s: Seconds

    def delay_s(self, severity: str) -> float:
        """Seconds before an unacknowledged alert of `severity` escalates (0 = never)."""
        value: float = getattr(self, f"{severity}_s")
        return value


class GasThresholds(_Section):
    ORDERED = (("lel_clear_pct", "lel_major_pct"), ("lel_major_pct", "lel_critical_pct"))

    lel_major_pct: Annotated[float, Field(gt=0, le=100)]
    lel_critical_pct: Annotated[float, Field(gt=0, le=100)]
    lel_clear_pct: Annotated[float, Field(gt=0, le=100)]
    lel_clear_readings: Count
    heartbeat_s: Seconds
    offline_heartbeats: Count

    @property
    def offline_s(self) -> float:
        return self.heartbeat_s * self.offline_heartbeats


class StreetlightThresholds(_Section):
    ORDERED = (("circuit_clear_ratio", "circuit_outage_ratio"), ("lit_rate_min", "lit_rate_clear"))

    circuit_outage_ratio: Ratio
    circuit_clear_ratio: Ratio
    circuit_min_lights: Count
    circuit_settle_s: Annotated[float, Field(ge=0)]
    day_burning_s: Seconds
    lit_rate_min: Ratio
    lit_rate_window_s: Seconds
    lit_rate_clear: Ratio
    lit_rate_min_lights: Count


class HeatingThresholds(_Section):
    ORDERED = (("indoor_min_c", "indoor_clear_c"), ("pressure_recover_mpa", "pressure_drop_mpa"))

    indoor_min_c: float
    indoor_cold_s: Seconds
    indoor_clear_c: float
    pressure_drop_mpa: Positive
    pressure_window_s: Seconds
    pressure_recover_mpa: Positive
    supply_temp_margin_c: Annotated[float, Field(ge=0)]
    offline_s: Seconds


class FleetThresholds(_Section):
    ORDERED = (
        ("off_route_clear_m", "off_route_m"),
        ("stop_speed_kmh", "moving_speed_kmh"),
        ("speeding_clear_kmh", "speeding_kmh"),
    )

    off_route_m: Positive
    off_route_s: Seconds
    off_route_clear_m: Positive
    idle_s: Seconds
    stop_speed_kmh: Annotated[float, Field(ge=0)]
    moving_speed_kmh: Positive
    speeding_kmh: Positive
    speeding_clear_kmh: Positive
    dump_drop_kg: Positive


class PipelineThresholds(_Section):
    # processing-time seconds (wall clock), unlike every other duration here
    feed_silent_s: Annotated[float, Field(gt=0)]


class Thresholds(_Section):
    engine: EngineThresholds
    pipeline: PipelineThresholds
    windows: WindowThresholds
    escalation: EscalationThresholds
    gas: GasThresholds
    streetlight: StreetlightThresholds
    heating: HeatingThresholds
    fleet: FleetThresholds


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ThresholdsError(
            f"rule thresholds file {path} does not exist; "
            "fix CITYOPS_RULES_FILE or unset it to use the defaults"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ThresholdsError(f"rule thresholds file {path} is not valid TOML: {exc}") from None


def _describe(err: Any) -> str:
    key = ".".join(str(part) for part in err["loc"])
    kind = err["type"]
    if kind == "extra_forbidden":
        return f"{key}: unknown key; remove it or fix its spelling (see {_DEFAULTS_NAME})"
    if kind == "missing":
        return f"{key}: missing; add it (see {_DEFAULTS_NAME} for the default)"
    if kind in {"float_type", "int_type", "model_type", "dict_type"}:
        expected = {"float_type": "a number", "int_type": "a whole number"}.get(kind, "a table")
        return f"{key}: expected {expected}, got {err.get('input')!r}; write it without quotes"
    if kind in {"greater_than", "greater_than_equal"} and key.endswith("_s"):
        zero_ok = kind == "greater_than_equal"
        return (
            f"{key}: durations cannot be negative{'' if zero_ok else ' or zero'}, "
            f"got {err.get('input')!r}; use "
            f"{'0 or ' if zero_ok else ''}a positive number of seconds"
        )
    if kind == "value_error":
        # our own cross-key checks already name the keys and the fix
        return str(err["msg"]).removeprefix("Value error, ")
    return f"{key}: {err['msg']} (got {err.get('input')!r}); fix the value"


def load_thresholds(path: Path | None = None) -> Thresholds:
    """The defaults, with the keys of the TOML file at `path` (if any) merged over them."""
    if path is None:
        return with_overrides({}, source=str(DEFAULTS_FILE))
    return with_overrides(_read_toml(path), source=str(path))


def with_overrides(overrides: Mapping[str, Any], *, source: str = "overrides") -> Thresholds:
    """The defaults with `overrides` (same shape as the TOML file) merged over them."""
    data = _merge(_read_toml(DEFAULTS_FILE), dict(overrides))
    try:
        return Thresholds.model_validate(data)
    except ValidationError as exc:
        lines = [f"invalid rule thresholds (from {source}):"]
        lines += [f"  {_describe(err)}" for err in exc.errors()]
        raise ThresholdsError("\n".join(lines)) from None
