"""The alert lifecycle shared by every rule: firing -> acknowledged -> resolved.

Escalation (DESIGN.md "Escalation"): a record also keeps its escalation level
(`esc`, 0 when absent) and when it next escalates (`esc_at`, epoch ms of event
time; None = not scheduled). Firing schedules it `Escalation.delays_ms[severity]`
ahead, an acknowledgement cancels it, `escalate` raises the level (carried to
Alertmanager as the `escalation` label) and schedules the next one until
`max_level`. The engine keeps the due-time index (`streams/rules/engine.py`).

An entity's state keeps its open alerts as plain JSON records, one per rule
(so one open alert per (rule, entity)). `AlertBook` wraps those records for one
evaluation: rules say `fire` or `resolve` whenever they like, and the book
emits an `Alert` only when something actually changes (a new alert, a severity
change, an acknowledgement, a resolution). Records are replaced, never mutated,
so the caller's previous state stays untouched.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, NamedTuple

from streams.models import Alert, AlertState, Severity
from streams.routing import ESCALATION_LABEL, rule_runbook_url
from streams.rules.timeutil import from_ms

Record = dict[str, Any]


class Escalation(NamedTuple):
    """Per severity, ms of event time before an unacknowledged alert escalates (0 = never)."""

    delays_ms: Mapping[str, int]
    max_level: int


NO_ESCALATION = Escalation({}, 0)


class Subject(NamedTuple):
    """What an alert is about: copied into every alert the entity raises.

    A NamedTuple, not a frozen dataclass: every reading builds one (before the
    rules know whether anything fires), and a frozen dataclass's __init__ sets
    each field through object.__setattr__: ~5 % of the megacity processing
    time (py-spy on `python -m cityops.bench.processing`)."""

    entity_type: str
    entity_id: str
    district: str
    lat: float | None = None
    lon: float | None = None


_EPOCH_MS = re.compile(r"[0-9]{1,15}")


def alert_id(rule: str, entity_id: str, started_ms: int) -> str:
    return f"{rule}:{entity_id}:{started_ms}"


def parse_alert_id(value: str) -> tuple[str, str, int] | None:
    """(rule, entity_id, started_ms), or None when the id is not one of ours."""
    rule, sep, rest = value.partition(":")
    entity_id, sep2, started = rest.rpartition(":")
    # ASCII digits only: str.isdigit() accepts "²", which int() then rejects
    if not (sep and sep2 and rule and entity_id and _EPOCH_MS.fullmatch(started)):
        return None
    return rule, entity_id, int(started)


class AlertBook:
    """The open alerts of one entity, for the length of one evaluation.

    Streetlight events make three books each (light, circuit, district), so the
    book is slotted. Rules test `rule in book.open` before building a `resolve`
    summary: nearly every reading resolves nothing, yet each built its f-string
    (gas alone: `resolve` calls 3.5 % of the megacity processing time, plus the
    f-strings in the callers; pyinstrument on `python -m cityops.bench.processing`)."""

    __slots__ = ("_base_url", "_escalation", "_owned", "emitted", "open")

    def __init__(
        self,
        open_alerts: Mapping[str, Record] | None,
        runbook_base_url: str,
        escalation: Escalation = NO_ESCALATION,
    ) -> None:
        # Copied on the first change only (`_own`): nearly every reading changes no
        # alert, and its new state may share the previous state's records dict, as
        # records and their dicts are never changed in place (the module docstring).
        if type(open_alerts) is dict:
            self.open: dict[str, Record] = open_alerts
            self._owned = False
        else:
            self.open = dict(open_alerts or {})
            self._owned = True
        self.emitted: list[Alert] = []
        self._base_url = runbook_base_url
        self._escalation = escalation

    def _own(self) -> dict[str, Record]:
        """`open`, made this book's own before its first change."""
        if not self._owned:
            self.open = dict(self.open)
            self._owned = True
        return self.open

    def _next_escalation(self, severity: str, level: int, from_ms: int) -> int | None:
        delay = self._escalation.delays_ms.get(severity, 0)
        if delay <= 0 or level >= self._escalation.max_level:
            return None
        return from_ms + delay

    def is_open(self, rule: str) -> bool:
        return rule in self.open

    def get(self, rule: str) -> Record | None:
        return self.open.get(rule)

    def fire(
        self,
        rule: str,
        severity: Severity,
        subject: Subject,
        at_ms: int,
        *,
        value: float | None,
        threshold: float | None,
        summary: str,
    ) -> None:
        """Open the alert, or change its severity; a repeat of the same condition is silent."""
        current = self.open.get(rule)
        if current is not None and current["severity"] == severity:
            return
        updated = at_ms if current is None else max(at_ms, current["updated"] + 1)
        level = 0 if current is None else current.get("esc", 0)
        record: Record = {
            "severity": severity,
            # a severity change pages again, even when the old level was acknowledged
            "state": "firing",
            "entity_type": subject.entity_type,
            "entity_id": subject.entity_id,
            "district": subject.district,
            "lat": subject.lat,
            "lon": subject.lon,
            "started": at_ms if current is None else current["started"],
            # strictly after the last change: an ack stamps wall-clock time, and a
            # re-page must still order after it (the sink's upsert keeps the newest)
            "updated": updated,
            "value": value,
            "threshold": threshold,
            "summary": summary,
            # a severity change keeps the level reached and restarts the delay
            "esc": level,
            "esc_at": self._next_escalation(severity, level, updated),
        }
        self._own()[rule] = record
        self.emitted.append(self._alert(rule, record, resolved_ms=None))

    def resolve(self, rule: str, at_ms: int, *, value: float | None, summary: str) -> None:
        """Close the open alert of `rule`, if there is one."""
        if rule not in self.open:
            return
        current = self._own().pop(rule)
        # never before the last change, even if the clearing reading was itself late
        at = max(at_ms, current["updated"])
        record = {**current, "state": "resolved", "updated": at, "value": value, "summary": summary}
        self.emitted.append(self._alert(rule, record, resolved_ms=at))

    def acknowledge(self, rule: str, started_ms: int, at_ms: int) -> None:
        """firing -> acknowledged; acks for another incarnation, or older than its
        last change (a later escalation re-pages), are ignored."""
        current = self.open.get(rule)
        if (
            current is None
            or current["started"] != started_ms
            or current["state"] != "firing"
            or at_ms < current["updated"]
        ):
            return
        record = {**current, "state": "acknowledged", "updated": at_ms, "esc_at": None}
        self._own()[rule] = record
        self.emitted.append(self._alert(rule, record, resolved_ms=None))

    def escalate(self, rule: str, watermark_ms: int) -> None:
        """Raise the level of `rule`'s alert if it is still firing (unacknowledged) and
        its escalation was due by `watermark_ms`. The event is stamped with the due time,
        not the watermark, so replays and the processing-time fallback agree on it."""
        current = self.open.get(rule)
        if current is None or current["state"] != "firing":
            return
        due = current.get("esc_at")
        if due is None or due > watermark_ms:
            return
        level = current.get("esc", 0) + 1
        updated = max(due, current["updated"] + 1)
        record = {
            **current,
            "updated": updated,
            "esc": level,
            "esc_at": self._next_escalation(current["severity"], level, updated),
        }
        self._own()[rule] = record
        self.emitted.append(self._alert(rule, record, resolved_ms=None))

    def next_escalation(self) -> int | None:
        """The earliest scheduled escalation of the open alerts (epoch ms), if any."""
        dues = [r["esc_at"] for r in self.open.values() if r.get("esc_at") is not None]
        return min(dues) if dues else None

    def _alert(self, rule: str, record: Record, *, resolved_ms: int | None) -> Alert:
        state: AlertState = record["state"]
        level = record.get("esc", 0)
        return Alert(
            alert_id=alert_id(rule, record["entity_id"], record["started"]),
            rule=rule,
            severity=record["severity"],
            state=state,
            entity_type=record["entity_type"],
            entity_id=record["entity_id"],
            district=record["district"],
            lat=record["lat"],
            lon=record["lon"],
            started_at=from_ms(record["started"]),
            updated_at=from_ms(record["updated"]),
            resolved_at=None if resolved_ms is None else from_ms(resolved_ms),
            value=record["value"],
            threshold=record["threshold"],
            summary=record["summary"],
            runbook=rule_runbook_url(self._base_url, rule),
            labels={ESCALATION_LABEL: str(level)} if level else {},
        )
