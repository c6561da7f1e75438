"""Alert links: every dashboard an alert links to exists in `dashboards/generated/`.

Issue 12.3: the notifier linked `cityops-gas` / `cityops-streetlight`, while the
generated dashboards are `cityops-<slug>-<lang>` (and the slug is `streetlights`).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from dashboards.build import DASHBOARDS
from streams.models import Alert
from streams.routing import ALERTS_DASHBOARD, FEED_DASHBOARDS, dashboard_url
from streams.rules.catalog import RULES

GENERATED = Path(__file__).resolve().parents[2] / "dashboards" / "generated"
T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def generated() -> dict[str, dict[str, Any]]:
    """uid -> dashboard JSON of every generated dashboard."""
    out = {}
    for path in GENERATED.glob("*/*.json"):
        dashboard = json.loads(path.read_text(encoding="utf-8"))
        out[dashboard["uid"]] = dashboard
    return out


def alert_of(rule: str) -> Alert:
    return Alert.model_validate(
        {
            "alert_id": f"{rule}:e-1:1795341600000",
            "rule": rule,
            "severity": "major",
            "state": "firing",
            "entity_type": RULES.get(rule, RULES["gas.lel_high"]).entity_type,
            "entity_id": "e-1",
            "district": "Shinan",
            "lat": None,
            "lon": None,
            "started_at": T0,
            "updated_at": T0,
            "resolved_at": None,
            "value": None,
            "threshold": None,
            "summary": "s",
            "runbook": "",
        }
    )


@pytest.mark.parametrize("rule", [*RULES, "pipeline.something_else"])
def test_every_alert_links_to_a_generated_dashboard(rule: str) -> None:
    dashboards = generated()
    assert dashboards, f"no dashboards in {GENERATED}"
    link = urlsplit(dashboard_url(alert_of(rule), "http://grafana.test:3000"))
    uid = link.path.removeprefix("/d/")
    assert uid in dashboards, f"{rule} links to {uid!r}, not one of {sorted(dashboards)}"
    # the link's variables are variables of that dashboard
    variables = {v["name"] for v in dashboards[uid]["templating"]["list"]}
    for name in parse_qs(link.query):
        if name.startswith("var-"):
            assert name.removeprefix("var-") in variables, (uid, name)


def test_feed_dashboards_are_built() -> None:
    assert set(FEED_DASHBOARDS.values()) | {ALERTS_DASHBOARD} <= set(DASHBOARDS)
