"""Compare the alerts a run produced with a scenario's expectations, per (rule, entity).

An alert's lifecycle on `alerts.v1` is a list of events; for the comparison each
(rule, entity) is summarised as its severity sequence and state sequence with
consecutive repeats collapsed (an escalation is `firing, firing` with `major, critical`;
a resolved event repeats the last severity), so `severity: [major, critical]` and
`states: [firing, resolved]` describe a leak that passes both alarm levels and clears.
Exact duplicates (at-least-once redelivery after a worker restart) are dropped first.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from sensors_sim.scenario import ExpectedAlertSpec
from streams.models import Alert

Key = tuple[str, str]


def _collapse(items: Iterable[str]) -> tuple[str, ...]:
    out: list[str] = []
    for item in items:
        if not out or out[-1] != item:
            out.append(item)
    return tuple(out)


@dataclass(frozen=True)
class ActualAlert:
    rule: str
    entity: str
    severity: tuple[str, ...]
    states: tuple[str, ...]
    first_started_at: datetime
    events: int

    def describe(self) -> str:
        return f"{'>'.join(self.severity)} {'>'.join(self.states)}"


def unique(alerts: Iterable[Alert]) -> list[Alert]:
    """Drop exact re-deliveries, keeping the first occurrence's order."""
    seen: set[tuple[str, str, str, datetime]] = set()
    out = []
    for a in alerts:
        ident = (a.alert_id, a.state, a.severity, a.updated_at)
        if ident not in seen:
            seen.add(ident)
            out.append(a)
    return out


def summarise(alerts: Iterable[Alert]) -> dict[Key, ActualAlert]:
    by_key: dict[Key, list[Alert]] = {}
    for a in unique(alerts):
        by_key.setdefault((a.rule, a.entity_id), []).append(a)
    return {
        key: ActualAlert(
            rule=key[0],
            entity=key[1],
            severity=_collapse(a.severity for a in items),
            states=_collapse(a.state for a in items),
            first_started_at=min(a.started_at for a in items),
            events=len(items),
        )
        for key, items in by_key.items()
    }


def describe_expected(spec: ExpectedAlertSpec) -> str:
    text = f"{'>'.join(spec.severity)} {'>'.join(spec.states)}"
    if spec.within is not None:
        text += f" starting in [+{_span(spec.within[0])}, +{_span(spec.within[1])}]"
    return text


def _span(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m{secs:02d}s" if secs else f"{minutes}m"


@dataclass(frozen=True)
class Difference:
    kind: Literal["missing", "differs", "unexpected"]
    rule: str
    entity: str
    expected: str
    actual: str
    why: str = ""


@dataclass
class CheckReport:
    scenario: str
    start: datetime
    matched: list[Key] = field(default_factory=list)
    differences: list[Difference] = field(default_factory=list)
    ignored: int = 0

    @property
    def ok(self) -> bool:
        return not self.differences

    def format(self) -> str:
        """A readable diff: one line per differing (rule, entity), expected vs actual."""
        counts = {k: sum(d.kind == k for d in self.differences) for k in _MARK}
        head = f"scenario {self.scenario} (start {self.start.isoformat()}): "
        if self.ok:
            lines = [head + f"OK, {len(self.matched)} expected alert(s) matched"]
        else:
            summary = ", ".join(f"{n} {k}" for k, n in counts.items() if n)
            lines = [head + f"FAILED ({summary}; {len(self.matched)} matched)"]
            width_rule = max(len(d.rule) for d in self.differences)
            width_entity = max(len(d.entity) for d in self.differences)
            for d in sorted(self.differences, key=lambda d: (d.rule, d.entity)):
                lines.append(
                    f"  {_MARK[d.kind]} {d.rule:<{width_rule}}  {d.entity:<{width_entity}}"
                    f"  expected: {d.expected}"
                )
                pad = " " * (5 + width_rule + width_entity)
                lines.append(f"{pad}  actual:   {d.actual}" + (f"  ({d.why})" if d.why else ""))
        for rule, entity in sorted(self.matched):
            lines.append(f"  = {rule} {entity}")
        if self.ignored:
            lines.append(f"  ({self.ignored} alert(s) of ignored rules not compared)")
        return "\n".join(lines)


_MARK = {"missing": "-", "differs": "~", "unexpected": "+"}


def check(
    scenario: str,
    start: datetime,
    expected: Sequence[ExpectedAlertSpec],
    alerts: Iterable[Alert],
    *,
    ignore_rules: Sequence[str] = (),
) -> CheckReport:
    actual = summarise(alerts)
    report = CheckReport(scenario, start)
    for key in [k for k in actual if k[0] in ignore_rules]:
        del actual[key]
        report.ignored += 1
    for spec in expected:
        got = actual.pop(spec.key, None)
        if got is None:
            report.differences.append(
                Difference("missing", spec.rule, spec.entity, describe_expected(spec), "(none)")
            )
            continue
        why = _mismatch(spec, got, start)
        if why:
            report.differences.append(
                Difference(
                    "differs", spec.rule, spec.entity, describe_expected(spec), got.describe(), why
                )
            )
        else:
            report.matched.append(spec.key)
    for key, got in sorted(actual.items()):
        report.differences.append(
            Difference("unexpected", key[0], key[1], "(none)", got.describe())
        )
    return report


def _mismatch(spec: ExpectedAlertSpec, got: ActualAlert, start: datetime) -> str:
    problems = []
    if got.severity != spec.severity:
        problems.append("severity")
    if got.states != spec.states:
        problems.append("states")
    if spec.within is not None:
        offset = (got.first_started_at - start) / timedelta(seconds=1)
        lo, hi = spec.within
        if not lo <= offset <= hi:
            problems.append(f"started at +{_span(offset)}, outside the window")
    return ", ".join(problems)
