"""Scripted scenarios: a YAML file naming a city, a seed, a start, incidents and the
alerts the pipeline must raise.

    name: gas_leak
    profile: small
    seed: 42
    start: "-2h"            # or "@22:00", or "2026-11-20T14:00:00Z"
    duration: 40m           # event time
    incidents:
      - type: gas_leak      # any incident of sensors_sim.incidents; its fields pass through
        entity: GD-centre-00001
        at: 10m
        duration: 15m
        peak_lel_pct: 60
    expect:
      - rule: gas.lel_high
        entity: GD-centre-00001
        severity: [major, critical]   # one, or the sequence it escalates through
        states: [firing, resolved]    # default [firing, resolved]
        within: [10m, 35m]            # it starts in this event-time window (from `start`)

`start` forms: an absolute RFC 3339 time; relative to now (`-3h`, `-1h30m`), rounded down
to the minute; or `@HH:MM`, the latest local time HH:MM (the profile's time zone) at
which the whole run lies in the past - for scenarios that need night or day, which a
plain relative start cannot promise. Relative forms keep shipped scenarios inside the
worker's 7-day event-age limit; a run is byte-identical for the same resolved start.

`expect_from_incidents: true` adds the alerts the incidents themselves predict
(`Incident.expected_alerts`; explicit `expect` entries win for the same rule and entity),
for incidents that darken dozens of lights. `ignore_rules` lists rules whose alerts
neither count nor fail a check (background noise a scenario does not care about).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from cityops.base.city.profiles import PROFILES, CityProfile, load_profile
from sensors_sim.incidents import Incident, IncidentError, incident_from_dict
from sensors_sim.simulation import Simulation
from sensors_sim.wire import SimEvent

#: the shipped scenarios
SCENARIO_DIR = Path(__file__).with_name("scenarios")

Severity = Literal["critical", "major", "minor", "warning", "info"]
State = Literal["firing", "acknowledged", "resolved"]

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(d|h|m|s)")
_UNIT_S = {"d": 86400, "h": 3600, "m": 60, "s": 1}


class ScenarioError(ValueError):
    """A scenario file is invalid; the message names the file and the problem."""


def parse_duration(value: object) -> float:
    """Seconds from `90`, `90s`, `10m`, `1h30m`, `2d`."""
    if isinstance(value, bool):
        raise ValueError(f"not a duration: {value!r}")
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip().replace(" ", "")
    if not text or _DURATION.sub("", text):
        raise ValueError(f"not a duration: {value!r} (use 90s, 10m, 1h30m, 2d or seconds)")
    return float(sum(float(n) * _UNIT_S[u] for n, u in _DURATION.findall(text)))


Duration = Annotated[float, BeforeValidator(parse_duration), Field(ge=0)]


def _as_tuple(value: object) -> object:
    return (value,) if isinstance(value, str) else value


class ExpectedAlertSpec(BaseModel):
    """One (rule, entity) the run must alert on, and how."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rule: str
    entity: str
    severity: Annotated[tuple[Severity, ...], BeforeValidator(_as_tuple), Field(min_length=1)]
    states: Annotated[tuple[State, ...], BeforeValidator(_as_tuple), Field(min_length=1)] = (
        "firing",
        "resolved",
    )
    #: event-time window (offsets from the scenario start) in which the alert starts
    within: tuple[Duration, Duration] | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.rule, self.entity)


class Scenario(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    description: str = ""
    profile: str = "small"
    seed: int = 42
    start: str
    duration: Duration
    incidents: tuple[dict[str, Any], ...] = ()
    expect: tuple[ExpectedAlertSpec, ...] = ()
    #: also expect what the incidents predict (explicit `expect` entries win per key)
    expect_from_incidents: bool = False
    ignore_rules: tuple[str, ...] = ()

    # --- resolution ---

    def city(self) -> CityProfile:
        if self.profile not in PROFILES:
            raise ScenarioError(f"{self.name}: unknown profile {self.profile!r}")
        return load_profile(self.profile)

    def resolve_start(self, now: datetime | None = None) -> datetime:
        return resolve_start(self.start, self.duration, self.city().timezone, now)

    def incident_specs(self) -> list[Incident]:
        out = []
        for number, raw in enumerate(self.incidents, 1):
            try:
                out.append(incident_from_dict(incident_dict(raw)))
            except (IncidentError, ValueError) as exc:
                raise ScenarioError(f"{self.name}: incident {number}: {exc}") from None
        return out

    def expected(self, start: datetime) -> tuple[ExpectedAlertSpec, ...]:
        if not self.expect_from_incidents:
            return self.expect
        city = self.city()
        by_key: dict[tuple[str, str], ExpectedAlertSpec] = {}
        for incident in self.incident_specs():
            for exp in incident.expected_alerts(city, start):
                severity = exp.severity if isinstance(exp.severity, tuple) else (exp.severity,)
                # validated: the simulator's strings become the checked literals
                spec = ExpectedAlertSpec.model_validate(
                    {
                        "rule": exp.rule,
                        "entity": exp.entity_id,
                        "severity": severity,
                        "states": exp.states,
                    }
                )
                by_key.setdefault(spec.key, spec)
        by_key.update((spec.key, spec) for spec in self.expect)
        return tuple(by_key.values())

    def simulation(self, start: datetime) -> Simulation:
        try:
            return Simulation(self.city(), self.seed, start, self.incident_specs())
        except IncidentError as exc:
            raise ScenarioError(f"{self.name}: {exc}") from None

    def events(self, start: datetime) -> Iterator[SimEvent]:
        """The scenario's stream: deterministic for (file, resolved start)."""
        return self.simulation(start).events(self.duration)


_INCIDENT_ALIASES = {"type": "kind", "entity": "entity_id"}
_INCIDENT_DURATIONS = {"at": "at_s", "duration": "duration_s"}


def incident_dict(raw: dict[str, Any]) -> dict[str, Any]:
    """Scenario spelling (type, entity, at: 10m, ...) -> `incident_from_dict` fields.

    Other keys (`peak_lel_pct`, `ramp_s`, ... the incident's shape) pass through, and
    so do the simulator's own names (`kind`, `entity_id`, `at_s`, `duration_s`).
    """
    if not isinstance(raw, dict):
        raise ValueError(f"an incident must be a mapping, got {type(raw).__name__}")
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if key in _INCIDENT_ALIASES:
            out[_INCIDENT_ALIASES[key]] = value
        elif key in _INCIDENT_DURATIONS:
            out[_INCIDENT_DURATIONS[key]] = parse_duration(value)
        elif key.endswith("_s") and isinstance(value, str):
            out[key] = parse_duration(value)
        else:
            out[key] = value
    return out


def resolve_start(
    spec: str, duration_s: float, timezone: str, now: datetime | None = None
) -> datetime:
    """The absolute UTC start of a run (see the module docstring for the forms)."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    text = spec.strip()
    if text.startswith("-"):
        back = parse_duration(text[1:])
        return (now - timedelta(seconds=back)).replace(second=0, microsecond=0)
    if text.startswith("@"):
        return _latest_local(text[1:], duration_s, timezone, now)
    try:
        start = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"start {spec!r}: use RFC 3339 (2026-11-20T14:00:00Z), -3h, or @22:00"
        ) from None
    if start.tzinfo is None:
        raise ValueError(f"start {spec!r} has no timezone (add Z or +08:00)")
    return start.astimezone(UTC)


def _latest_local(hhmm: str, duration_s: float, timezone: str, now: datetime) -> datetime:
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", hhmm)
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        raise ValueError(f"start @{hhmm}: expected @HH:MM (local time of the city)")
    zone = ZoneInfo(timezone)
    latest_start = now - timedelta(seconds=duration_s)
    local = latest_start.astimezone(zone)
    candidate = local.replace(hour=int(match[1]), minute=int(match[2]), second=0, microsecond=0)
    if candidate > local:
        candidate = (candidate - timedelta(days=1)).replace(tzinfo=zone)
    return candidate.astimezone(UTC)


def load_scenario(path: Path | str) -> Scenario:
    """Read a scenario file; a bare name (`gas_leak` or `gas_leak.yaml`) is a shipped one."""
    file = find_scenario(path)
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{file}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ScenarioError(f"{file}: a scenario is a mapping (name, profile, start, ...)")
    data.setdefault("name", file.stem)
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        problems = [
            f"{'.'.join(str(p) for p in err['loc']) or 'scenario'}: {err['msg']}"
            for err in exc.errors(include_url=False)
        ]
        raise ScenarioError(f"{file}: " + "; ".join(problems)) from None
    scenario.incident_specs()  # fail on load, not halfway through a run
    return scenario


def find_scenario(path: Path | str) -> Path:
    file = Path(path)
    if file.exists():
        return file
    for candidate in (SCENARIO_DIR / file.name, SCENARIO_DIR / f"{file.name}.yaml"):
        if candidate.exists():
            return candidate
    raise ScenarioError(f"no scenario {str(path)!r} (shipped ones: {', '.join(shipped())})")


def shipped() -> list[str]:
    return sorted(p.name for p in SCENARIO_DIR.glob("*.yaml"))


@dataclass(frozen=True)
class ResolvedScenario:
    """A scenario with its start fixed: everything a run needs."""

    scenario: Scenario
    start: datetime

    @property
    def end(self) -> datetime:
        return self.start + timedelta(seconds=self.scenario.duration)

    def events(self) -> Iterator[SimEvent]:
        return self.scenario.events(self.start)

    def expected(self) -> tuple[ExpectedAlertSpec, ...]:
        return self.scenario.expected(self.start)


def resolve(scenario: Scenario, now: datetime | None = None) -> ResolvedScenario:
    try:
        return ResolvedScenario(scenario, scenario.resolve_start(now))
    except ValueError as exc:
        raise ScenarioError(f"{scenario.name}: {exc}") from None
