"""The event contract: one model per topic, exactly the fields of DESIGN.md.

Models are strict (a number sent as a string is a type error, not coerced) and
forbid unknown fields, so a producer's typo is caught and dead-lettered rather
than silently dropped. `ts` is RFC 3339 with an offset; it is normalised to
UTC. The JSON Schema files under `streams/schemas/` are exported from these
models (`cityops schemas export`) and a test keeps them in step.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from streams import topics


def _to_utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+14:00 has no UTC time (review, 2026-11-22)
        raise ValueError("timestamp is outside the representable range") from None


UtcDatetime = Annotated[AwareDatetime, AfterValidator(_to_utc)]
EntityId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")]
# No control characters: PostgreSQL text cannot hold NUL, and a row the sink
# cannot store must be dead-lettered by the worker, not retried for ever.
PlainText = r"^[^\x00-\x1f\x7f]*$"
#: A district is a name a person reads on a dashboard: printable words separated
#: by single spaces. No Unicode "other" characters (\p{C}: controls, format
#: characters such as bidi overrides U+202A-202E/2066-2069 and zero-width
#: U+200B-200D/FEFF/2060, private use, unassigned) and no separators but the
#: ASCII space (\p{Z}: U+00A0, U+2028, ...), so two districts that look the same
#: are the same string (issue 12: "shi\u202enan" was accepted). pydantic-core's
#: Rust regex evaluates this in the same time as the old control-character class
#: (~0.4 µs per 1-field model either way, measured 2026-12-01).
_NOT_PRINTABLE = r"\p{C}\p{Z}"
PRINTABLE_WORDS = rf"^[^{_NOT_PRINTABLE}]+(?: [^{_NOT_PRINTABLE}]+)*$"
#: The same rule for JSON Schema consumers whose regex engine has no \p{...}
#: (Python's `re`, ECMA-262 without the u flag): the BMP controls, format and
#: separator characters spelled out. It is looser than PRINTABLE_WORDS (it lets
#: unassigned, private-use and astral format characters through), never
#: stricter; tests/streams/test_validation.py checks that over the whole BMP.
_NOT_PRINTABLE_BMP = (
    r"\s\x00-\x1f\x7f-\x9f\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2"
    r"\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb"
)
PRINTABLE_WORDS_BMP = rf"^[^{_NOT_PRINTABLE_BMP}]+(?: [^{_NOT_PRINTABLE_BMP}]+)*$"
District = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        pattern=PRINTABLE_WORDS,
        json_schema_extra={"pattern": PRINTABLE_WORDS_BMP},
    ),
]
Latitude = Annotated[float, Field(ge=-90, le=90, description="WGS-84 degrees")]
Longitude = Annotated[float, Field(ge=-180, le=180, description="WGS-84 degrees")]
Percent = Annotated[float, Field(ge=0, le=100)]

SiteType = Literal["restaurant", "pipeline", "station", "residential"]
DetectorStatus = Literal["ok", "fault", "tamper"]
PowerState = Literal["on", "off", "dim"]
LightFault = Literal["lamp", "driver", "cable", "comm"]
WasteKind = Literal["kitchen", "recyclable", "other", "hazardous"]
Severity = Literal["critical", "major", "minor", "warning", "info"]
AlertState = Literal["firing", "acknowledged", "resolved"]


class Event(BaseModel):
    """Base of the four input feeds."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    ts: UtcDatetime

    @property
    def entity_id(self) -> str:  # pragma: no cover - overridden
        raise NotImplementedError


class GasDetectorReading(Event):
    """`gas.detector.v1`: a combustible-gas detector heartbeat (every 60 s and on change)."""

    detector_id: EntityId
    site_type: SiteType
    district: District
    lat: Latitude
    lon: Longitude
    lel_pct: Percent = Field(description="% of the lower explosive limit")
    status: DetectorStatus
    battery_pct: Percent

    @property
    def entity_id(self) -> str:
        return self.detector_id


class StreetlightStatus(Event):
    """`streetlight.status.v1`: one message per light every 5 min and on change."""

    light_id: EntityId
    circuit_id: EntityId
    cabinet_id: EntityId
    district: District
    lat: Latitude
    lon: Longitude
    power_state: PowerState
    power_w: float = Field(ge=0, le=10_000)
    voltage_v: float = Field(ge=0, le=1_000)
    fault: LightFault | None

    @property
    def entity_id(self) -> str:
        return self.light_id


class HeatingStationReading(Event):
    """`heating.station.v1`: a heat-exchange station, every 60 s."""

    station_id: EntityId
    enterprise_id: EntityId
    district: District
    lat: Latitude
    lon: Longitude
    supply_temp_c: float = Field(ge=-50, le=200)
    return_temp_c: float = Field(ge=-50, le=200)
    supply_pressure_mpa: float = Field(ge=0, le=10)
    return_pressure_mpa: float = Field(ge=0, le=10)
    flow_m3h: float = Field(ge=0, le=100_000)
    indoor_temp_c: float = Field(ge=-50, le=60)
    outdoor_temp_c: float = Field(ge=-60, le=60)

    @property
    def entity_id(self) -> str:
        return self.station_id


class FleetGpsFix(Event):
    """`fleet.gps.v1`: a garbage truck position, every 10 s."""

    truck_id: EntityId
    route_id: EntityId
    district: District
    lat: Latitude
    lon: Longitude
    speed_kmh: float = Field(ge=0, le=250)
    heading_deg: float = Field(ge=0, lt=360)
    ignition: bool
    load_kg: float = Field(ge=0, le=100_000)
    waste_kind: WasteKind

    @property
    def entity_id(self) -> str:
        return self.truck_id


class Alert(BaseModel):
    """`alerts.v1`: one alert lifecycle event; key = `rule:entity_id`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    alert_id: str
    rule: str
    severity: Severity
    state: AlertState
    entity_type: str
    entity_id: str
    district: str
    lat: float | None
    lon: float | None
    started_at: UtcDatetime
    updated_at: UtcDatetime
    resolved_at: UtcDatetime | None
    value: float | None
    threshold: float | None
    summary: str
    runbook: str
    labels: dict[str, str] = Field(
        default_factory=dict,
        description="routing context for Alertmanager inhibition: circuit_id, station_id, ...",
    )

    @property
    def key(self) -> str:
        return f"{self.rule}:{self.entity_id}"


class AlertAck(BaseModel):
    """`alerts.ack.v1`: a human acknowledgement, flowing through the pipeline."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    alert_id: Annotated[str, Field(min_length=1, max_length=200)]
    by: Annotated[str, Field(min_length=1, max_length=100, pattern=PlainText)]
    at: UtcDatetime
    note: Annotated[str, Field(max_length=2000, pattern=r"^[^\x00]*$")] = ""
    # Not in DESIGN.md's record: optional, so records without it (all earlier ones) stay
    # valid acknowledgements. `resolve` closes the alert, for the rules that allow it
    # (`streams.rules.catalog.MANUAL_RESOLVE`); others ignore it.
    action: Literal["ack", "resolve"] = "ack"


class DeadLetter(BaseModel):
    """`deadletter.v1`: a rejected input with enough context to replay or fix it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    original_b64: str
    key_b64: str | None
    topic: str
    partition: int
    offset: int
    reason: str
    message: str
    rejected_at: UtcDatetime


class Rollup(BaseModel):
    """`rollups.v1`: one record per (feed, district, 1-minute window), on window close.

    Counts and sums are stored so that hourly and daily roll-ups are plain sums
    (continuous aggregates); the ratios and means are derived from them and
    carried for convenience. Fields of other feeds are null.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    feed: Literal["gas", "streetlight", "heating", "fleet"]
    district: str
    bucket: UtcDatetime = Field(description="window start (inclusive)")
    bucket_end: UtcDatetime = Field(description="window end (exclusive)")
    readings: int = Field(ge=0, description="valid readings in the window")
    # gas
    detectors_reporting: int | None = None
    detectors_known: int | None = None
    detectors_online: int | None = None
    detector_online_rate: float | None = None
    lel_max_pct: float | None = None
    detectors_alarming: int | None = None
    # streetlight
    lights_reporting: int | None = None
    lights_expected_lit: int | None = None
    lights_lit: int | None = None
    lit_rate: float | None = None
    power_w_sum: float | None = None
    # heating
    stations_reporting: int | None = None
    supply_temp_sum_c: float | None = None
    return_temp_sum_c: float | None = None
    supply_temp_mean_c: float | None = None
    return_temp_mean_c: float | None = None
    indoor_temp_min_c: float | None = None
    stations_warm: int | None = None
    warm_share: float | None = None
    # fleet
    trucks_active: int | None = None
    km_travelled: float | None = None
    load_kitchen_kg: float | None = None
    load_recyclable_kg: float | None = None
    load_other_kg: float | None = None
    load_hazardous_kg: float | None = None


#: The input model of each feed topic.
MODEL_BY_TOPIC: dict[str, type[Event]] = {
    topics.GAS_DETECTOR: GasDetectorReading,
    topics.STREETLIGHT_STATUS: StreetlightStatus,
    topics.HEATING_STATION: HeatingStationReading,
    topics.FLEET_GPS: FleetGpsFix,
}

#: Every model with a topic, for the JSON Schema export.
SCHEMA_MODELS: dict[str, type[BaseModel]] = {
    **MODEL_BY_TOPIC,
    topics.ALERTS: Alert,
    topics.ALERTS_ACK: AlertAck,
    topics.ROLLUPS: Rollup,
    topics.DEADLETTER: DeadLetter,
}


def iso_z(value: datetime) -> str:
    """RFC 3339 in UTC with milliseconds and a `Z`, the wire form of DESIGN.md."""
    utc = value.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
