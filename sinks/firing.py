"""The alerts the notifier keeps firing in Alertmanager, and what each event changes.

Pure bookkeeping, no I/O: `FiringSet.apply` judges one alerts.v1 event against
what was already sent (stale, new, or a label set to end).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sinks.alert_payload import Change, identity
from streams.models import Alert
from streams.routing import alert_labels

PartitionKey = tuple[str, int]


@dataclass
class _Entry:
    alert: Alert
    labels: dict[str, str]
    partition: PartitionKey | None


@dataclass
class FiringSet:
    """The alerts currently firing (or acknowledged), by alert key (`rule:entity_id`).

    Events for one key arrive in order (same Kafka key, same partition), but
    redeliveries and replays can repeat old ones: an event of the same incarnation
    (alert_id) with an older `updated_at`, or of an older incarnation, is stale
    and changes nothing.
    Resolved keys are remembered (bounded) so a replayed firing event cannot
    resurrect them.
    """

    max_resolved: int = 100_000
    _firing: dict[str, _Entry] = field(default_factory=dict)
    _resolved: OrderedDict[str, tuple[str, datetime]] = field(default_factory=OrderedDict)

    def __len__(self) -> int:
        return len(self._firing)

    def __contains__(self, key: object) -> bool:
        return key in self._firing

    def alerts(self) -> list[Alert]:
        return [entry.alert for entry in self._firing.values()]

    def entries(self) -> list[tuple[Alert, dict[str, str]]]:
        return [(entry.alert, entry.labels) for entry in self._firing.values()]

    def by_severity(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for entry in self._firing.values():
            counts[entry.alert.severity] = counts.get(entry.alert.severity, 0) + 1
        return counts

    def _is_stale(self, alert: Alert, previous: _Entry | None) -> bool:
        # Staleness is judged per incarnation (alert_id), not per rule:entity key:
        # an acknowledgement stamps wall-clock time, which during catch-up is far
        # ahead of event time, and a new incarnation that starts at an earlier
        # wall-clock-looking time must still page (review finding, 2026-11-22).
        if previous is not None:
            last = previous.alert
            if alert.alert_id == last.alert_id:
                return alert.updated_at < last.updated_at
            return alert.started_at < last.started_at
        resolved = self._resolved.get(alert.key)
        if resolved is None:
            return False
        resolved_id, resolved_started = resolved
        # a resolved incarnation is final; older incarnations cannot come back
        return alert.alert_id == resolved_id or alert.started_at <= resolved_started

    def apply(self, alert: Alert, partition: PartitionKey | None = None) -> Change:
        key = alert.key
        previous = self._firing.get(key)
        if self._is_stale(alert, previous):
            return Change(alert, stale=True)
        labels = alert_labels(alert)
        if previous is not None and previous.alert.alert_id == alert.alert_id:
            # Routing labels are sticky within an incarnation: acknowledgements and
            # escalations come from the rule state, without the causing event's
            # labels (enterprise_id, route_id ...), and must not change its identity.
            labels = {**previous.labels, **labels}
        retired = None
        # An escalation adds a copy, it does not replace the alert (alert_payload.py).
        if previous is not None and identity(previous.labels) != identity(labels):
            retired = (previous.alert, previous.labels)
        if alert.state == "resolved":
            self._firing.pop(key, None)
            self._resolved[key] = (alert.alert_id, alert.started_at)
            self._resolved.move_to_end(key)
            while len(self._resolved) > self.max_resolved:
                self._resolved.popitem(last=False)
        else:
            self._firing[key] = _Entry(alert, labels, partition)
            self._resolved.pop(key, None)
        return Change(alert, retired=retired, labels=labels)

    def drop_partitions(self, partitions: Iterable[PartitionKey]) -> int:
        """Forget the alerts of partitions this notifier no longer owns (not resolved)."""
        gone = set(partitions)
        keys = [k for k, e in self._firing.items() if e.partition in gone]
        for key in keys:
            del self._firing[key]
        return len(keys)
