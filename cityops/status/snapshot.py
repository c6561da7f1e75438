"""What `cityops status` shows, as data: a snapshot, and how metrics and alerts fill it (pure)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from streams import topics

log = logging.getLogger(__name__)

SEVERITIES = ("critical", "major", "minor", "warning", "info")

NEWEST_ALERTS = 8

# --------------------------------------------------------------------------- snapshot


@dataclass(frozen=True)
class OpenAlert:
    severity: str
    rule: str
    district: str
    entity_id: str
    summary: str
    started_at: datetime | None
    state: str = "firing"


@dataclass
class StatusSnapshot:
    taken_at: datetime
    #: source name -> "ok" or why it is unavailable
    sources: dict[str, str] = field(default_factory=dict)
    events_total: dict[str, float] = field(default_factory=dict)  # feed -> messages
    events_per_s: dict[str, float] = field(default_factory=dict)  # feed -> rate
    deadletters: dict[str, float] = field(default_factory=dict)  # reason -> messages
    alerts_by_severity: dict[str, int] = field(default_factory=dict)
    newest_alerts: list[OpenAlert] = field(default_factory=list)
    alerts_source: str = ""
    lit_rate: dict[str, float] = field(default_factory=dict)  # district -> 0..1
    heating_warm_share: dict[str, float] = field(default_factory=dict)  # district -> 0..1
    districts_source: str = ""
    consumer_lag: dict[tuple[str, str], float] = field(default_factory=dict)  # (group, topic)


def feed_of_topic(topic: str) -> str | None:
    """`gas` for `<prefix>gas.detector.v1`, None for other topics."""
    for name, feed in topics.FEED_NAME.items():
        if topic.endswith(name):  # with or without the topic prefix
            return feed
    return None


Samples = dict[str, list[tuple[dict[str, str], float]]]


def parse_metrics(text: str) -> Samples:
    """Prometheus text -> sample name -> [(labels, value)]."""
    out: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out.setdefault(sample.name, []).append((dict(sample.labels), float(sample.value)))
    return out


def apply_metrics(snapshot: StatusSnapshot, samples: Samples) -> None:
    """Fold the samples of one process into the snapshot (pure)."""
    for labels, value in samples.get("cityops_events_in_total", []):
        feed = feed_of_topic(labels.get("topic", ""))
        if feed:
            snapshot.events_total[feed] = snapshot.events_total.get(feed, 0.0) + value
    for labels, value in samples.get("cityops_deadletters_total", []):
        reason = labels.get("reason", "?")
        snapshot.deadletters[reason] = snapshot.deadletters.get(reason, 0.0) + value
    for labels, value in samples.get("cityops_consumer_lag_messages", []):
        key = (labels.get("group", "?"), labels.get("topic", "?"))
        snapshot.consumer_lag[key] = value
    for labels, value in samples.get("cityops_district_lit_rate_ratio", []):
        snapshot.lit_rate.setdefault(labels.get("district", "?"), value)
        snapshot.districts_source = snapshot.districts_source or "worker metrics"
    for labels, value in samples.get("cityops_district_heating_warm_share_ratio", []):
        snapshot.heating_warm_share.setdefault(labels.get("district", "?"), value)
        snapshot.districts_source = snapshot.districts_source or "worker metrics"
    if not snapshot.alerts_source:
        firing = samples.get("cityops_notifier_firing_alerts", [])
        if firing:
            for labels, value in firing:
                severity = labels.get("severity", "?")
                snapshot.alerts_by_severity[severity] = int(value)
            snapshot.alerts_source = "notifier metrics"


def apply_simulator_fallback(snapshot: StatusSnapshot, samples: Samples) -> None:
    """Without a worker, show what the simulator sent."""
    if snapshot.events_total:
        return
    for labels, value in samples.get("cityops_simulator_events_sent_total", []):
        feed = feed_of_topic(labels.get("topic", ""))
        if feed:
            snapshot.events_total[feed] = snapshot.events_total.get(feed, 0.0) + value


def with_rates(current: StatusSnapshot, previous: StatusSnapshot | None) -> StatusSnapshot:
    """Fill `events_per_s` from the previous snapshot (counter resets count as 0)."""
    if previous is None:
        return current
    seconds = (current.taken_at - previous.taken_at).total_seconds()
    if seconds <= 0:
        return current
    for feed, total in current.events_total.items():
        before = previous.events_total.get(feed, 0.0)
        current.events_per_s[feed] = max(0.0, total - before) / seconds
    return current


def alerts_from_alertmanager(
    payload: Sequence[Mapping[str, Any]],
) -> tuple[dict[str, int], list[OpenAlert]]:
    counts: dict[str, int] = {}
    alerts: list[OpenAlert] = []
    for item in payload:
        labels = item.get("labels", {})
        annotations = item.get("annotations", {})
        severity = labels.get("severity", "?")
        counts[severity] = counts.get(severity, 0) + 1
        started = item.get("startsAt")
        alerts.append(
            OpenAlert(
                severity=severity,
                rule=labels.get("alertname", "?"),
                district=labels.get("district", ""),
                entity_id=labels.get("entity_id", ""),
                summary=annotations.get("summary", ""),
                started_at=_parse_time(started) if started else None,
                state=annotations.get("state", "firing"),
            )
        )
    alerts.sort(key=lambda a: a.started_at or datetime.min.replace(tzinfo=UTC), reverse=True)
    return counts, alerts[:NEWEST_ALERTS]


def _parse_time(value: str) -> datetime | None:
    with contextlib.suppress(ValueError):
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    return None
