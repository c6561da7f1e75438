"""What routes an alert, in one place: its labels, its runbook and its dashboard.

The worker copies the routing context of the causing event into `alert.labels`
(`with_routing_labels`); the notifier turns an alert into Alertmanager labels
(`alert_labels`) and links (`runbook_url`, `dashboard_url`). The dashboards take
their uids from `dashboard_uid`, so a link cannot name a dashboard that is not
generated (tests/streams/test_routing.py checks every rule against
`dashboards/generated/`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from urllib.parse import urlencode

from streams.models import Alert, Event

#: Event fields copied into an alert's labels so Alertmanager can group and
#: inhibit on them (a circuit outage inhibits that circuit's dark lights).
ROUTING_FIELDS = ("circuit_id", "cabinet_id", "station_id", "enterprise_id", "route_id")

#: The label carrying an alert's escalation level, 1 .. max_level (absent = 0): set by
#: the rules (`streams/rules/lifecycle.py`), routed to the next on-call tier by
#: deploy/alertmanager.yml (the notifier sends one copy per level reached).
ESCALATION_LABEL = "escalation"

#: Labels every alert has, in this order.
BASE_LABELS = ("alertname", "severity", "district", "entity_type", "entity_id")

#: Heating alerts whose entity is not one station (no `station_id` label derived).
_NOT_A_STATION = frozenset({"enterprise", "district", "city"})

_LABEL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

#: Dashboard slug per feed (the rule name's prefix); `dashboards/build.py` builds
#: one dashboard per slug and language.
FEED_DASHBOARDS: Mapping[str, str] = {
    "gas": "gas",
    "streetlight": "streetlights",
    "heating": "heating",
    "fleet": "fleet",
}
#: Where alerts of any other rule prefix link to.
ALERTS_DASHBOARD = "alerts"
#: The language of the dashboards alerts link to (`dashboards/i18n.py` LANGS).
LINK_LANG = "en"


def dashboard_uid(slug: str, lang: str) -> str:
    """The Grafana uid of a generated dashboard: stable, so links and bookmarks last."""
    return f"cityops-{slug}-{lang}"


def escalation_level(alert: Alert) -> int:
    """The escalation level an alerts.v1 event carries (0 for events without the label)."""
    raw = alert.labels.get(ESCALATION_LABEL, "0")
    return int(raw) if raw.isascii() and raw.isdigit() else 0


def with_routing_labels(alert: Alert, event: Event) -> Alert:
    """The alert with the routing context of the event that caused it."""
    if alert.entity_id != event.entity_id:  # a group alert (circuit, district)
        return alert
    labels = {f: str(getattr(event, f)) for f in ROUTING_FIELDS if hasattr(event, f)}
    if not labels or labels.items() <= alert.labels.items():
        return alert
    return alert.model_copy(update={"labels": {**labels, **alert.labels}})


def alert_labels(alert: Alert) -> dict[str, str]:
    """The Alertmanager label set of an alert (its identity there: keep it stable).

    `alert.labels` may add routing keys such as `circuit_id`; it cannot override
    the base labels. `circuit_id` of a circuit alert and `station_id` of a
    heating alert are derived from `entity_id`, so the inhibition rules of
    deploy/alertmanager.yml can match them.
    """
    labels: dict[str, str] = {
        "alertname": alert.rule,
        "severity": alert.severity,
        "district": alert.district,
        "entity_type": alert.entity_type,
        "entity_id": alert.entity_id,
    }
    extra: Mapping[str, object] = getattr(alert, "labels", None) or {}
    for name in sorted(extra):
        value = extra[name]
        if name in labels or name.startswith("__") or not _LABEL_NAME.match(name):
            continue
        if value is None or value == "":
            continue
        labels[name] = str(value)
    if alert.entity_type == "circuit" or alert.rule == "streetlight.circuit_outage":
        labels.setdefault("circuit_id", alert.entity_id)
    if alert.rule.startswith("heating.") and alert.entity_type not in _NOT_A_STATION:
        labels.setdefault("station_id", alert.entity_id)
    return {name: value for name, value in labels.items() if value != ""}


def rule_runbook_url(base_url: str, rule: str) -> str:
    """The runbook page of a rule: `docs/runbooks/<rule>.md` under `base_url`."""
    return f"{base_url.rstrip('/')}/{rule}.md"


def runbook_url(alert: Alert, runbook_base_url: str) -> str:
    """The alert's runbook as a URL: absolute as given, else under `runbook_base_url`."""
    runbook = alert.runbook.strip()
    if runbook.startswith(("http://", "https://")):
        return runbook
    if not runbook:
        return rule_runbook_url(runbook_base_url, alert.rule)
    return f"{runbook_base_url.rstrip('/')}/{runbook.removeprefix('docs/runbooks/').lstrip('/')}"


def dashboard_url(alert: Alert, dashboard_base_url: str, lang: str = LINK_LANG) -> str:
    """The Grafana dashboard of the alert's feed, on its district, from 1 h before it started."""
    slug = FEED_DASHBOARDS.get(alert.rule.split(".", 1)[0], ALERTS_DASHBOARD)
    start_ms = int((alert.started_at - timedelta(hours=1)).timestamp() * 1000)
    query = urlencode({"var-district": alert.district, "from": start_ms, "to": "now"})
    return f"{dashboard_base_url.rstrip('/')}/d/{dashboard_uid(slug, lang)}?{query}"
