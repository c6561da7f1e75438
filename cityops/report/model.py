"""The month's figures: what the KPI views return, merged into city, district and rule figures.

Pure: `queries.fetch` fills a `MonthData` from the database, everything after it is
arithmetic. Rates are ratios of sums (never means of rates), so a district with more
lights weighs more in the city's lit rate, as in the KPI views themselves; mean times
are weighted by the number of alerts behind each mean.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

#: Waste kinds in the order the bureaus report them (DESIGN.md, Licheng figures).
WASTE_KINDS = ("kitchen", "recyclable", "other", "hazardous")
#: Severities counted as the month's major incidents.
INCIDENT_SEVERITIES = ("critical", "major")


@dataclass(frozen=True)
class Share:
    """A ratio of two sums (lights lit / lights expected lit, ...)."""

    part: float = 0.0
    whole: float = 0.0

    @property
    def value(self) -> float | None:
        return self.part / self.whole if self.whole else None

    def __add__(self, other: Share) -> Share:
        return Share(self.part + other.part, self.whole + other.whole)


def total(shares: Iterable[Share]) -> Share:
    return sum(shares, Share())


@dataclass(frozen=True)
class AlertStats:
    """Alerts that started in the month, for one (district, rule) or merged."""

    total: int = 0
    resolved: int = 0
    acknowledged: int = 0
    ack_s_sum: float = 0.0  # mean time to acknowledge x acknowledged
    resolve_s_sum: float = 0.0  # mean time to resolve x resolved

    @classmethod
    def from_means(
        cls,
        total: int,
        resolved: int,
        acknowledged: int,
        mean_ack_s: float | None,
        mean_resolve_s: float | None,
    ) -> AlertStats:
        return cls(
            total,
            resolved,
            acknowledged,
            (mean_ack_s or 0.0) * acknowledged,
            (mean_resolve_s or 0.0) * resolved,
        )

    @property
    def closure_rate(self) -> float | None:
        return self.resolved / self.total if self.total else None

    @property
    def mtta_s(self) -> float | None:
        return self.ack_s_sum / self.acknowledged if self.acknowledged else None

    @property
    def mttr_s(self) -> float | None:
        return self.resolve_s_sum / self.resolved if self.resolved else None

    def __add__(self, other: AlertStats) -> AlertStats:
        return AlertStats(
            self.total + other.total,
            self.resolved + other.resolved,
            self.acknowledged + other.acknowledged,
            self.ack_s_sum + other.ack_s_sum,
            self.resolve_s_sum + other.resolve_s_sum,
        )


@dataclass(frozen=True)
class Step:
    """One lifecycle event of an incident (a row of alert_history)."""

    state: str
    at: datetime


@dataclass(frozen=True)
class Incident:
    alert_id: str
    rule: str
    severity: str
    district: str
    entity_id: str
    summary: str
    started_at: datetime
    steps: tuple[Step, ...]


@dataclass(frozen=True)
class Waste:
    """Tonnes per waste kind over `days` days with collections."""

    tonnes: Mapping[str, float]
    days: int

    def per_day(self, kind: str | None = None) -> float | None:
        if not self.days:
            return None
        if kind is None:
            return sum(self.tonnes.values()) / self.days
        return self.tonnes.get(kind, 0.0) / self.days


@dataclass(frozen=True)
class MonthData:
    """Everything the report shows, as read from the KPI views for one month."""

    month: date  # the first day of the month
    district: str | None  # None = the whole city
    lit_target: float | None  # kpi_night_lit_rate.target
    warm_min_c: float  # the indoor temperature counted as warm
    lit: Mapping[str, Share]  # per district
    lit_daily: Mapping[date, Share]
    online: Mapping[str, Share]
    warm: Mapping[str, Share]
    waste_daily: Mapping[date, Mapping[str, float]]  # tonnes per kind, per day
    waste: Mapping[str, Waste]  # per district
    alerts: Mapping[tuple[str, str], AlertStats]  # per (district, rule)
    incidents_total: int
    incidents: tuple[Incident, ...] = field(default=())

    @property
    def empty(self) -> bool:
        return not (self.lit or self.online or self.warm or self.waste_daily or self.alerts)

    # --- the city (or the chosen district) as a whole ---
    @property
    def districts(self) -> list[str]:
        names = {*self.lit, *self.online, *self.warm, *self.waste}
        names.update(d for d, _ in self.alerts)
        return sorted(names)

    @property
    def rules(self) -> list[str]:
        return sorted({r for _, r in self.alerts})

    @property
    def city_lit(self) -> Share:
        return total(self.lit.values())

    @property
    def city_online(self) -> Share:
        return total(self.online.values())

    @property
    def city_warm(self) -> Share:
        return total(self.warm.values())

    @property
    def city_waste(self) -> Waste:
        tonnes = {k: sum(day.get(k, 0.0) for day in self.waste_daily.values()) for k in WASTE_KINDS}
        return Waste(tonnes, len(self.waste_daily))

    @property
    def city_alerts(self) -> AlertStats:
        return sum(self.alerts.values(), AlertStats())

    def district_alerts(self, district: str) -> AlertStats:
        return sum((s for (d, _), s in self.alerts.items() if d == district), AlertStats())

    def rule_alerts(self, rule: str) -> AlertStats:
        return sum((s for (_, r), s in self.alerts.items() if r == rule), AlertStats())

    def below_target(self) -> list[tuple[str, float]]:
        """Districts whose night lit rate missed the target, worst first."""
        if self.lit_target is None:
            return []
        out = [
            (d, v)
            for d, share in self.lit.items()
            if (v := share.value) is not None and v < self.lit_target
        ]
        return sorted(out, key=lambda dv: dv[1])
