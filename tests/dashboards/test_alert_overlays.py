"""Alerts on the feed dashboards: annotation regions and the open-alert table, run for real.

The queries run as the read-only `cityops_grafana` role against the seeded city of
test_sql_live.py (real PostgreSQL, real migrations), expanded as Grafana expands them.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import psycopg
import pytest

from dashboards.alert_overlays import rule_prefix
from dashboards.build import build
from dashboards.datasources import POSTGRES_UID
from dashboards.i18n import LANGS, Lang, Tr
from dashboards.queries import SqlQuery, iter_sql_targets
from sinks.migrate import GRAFANA_ROLE
from streams.routing import FEED_DASHBOARDS
from tests.dashboards.test_sql_live import FROM, NOW, _variables, city_db
from tests.fixtures.grafana_macros import expand

__all__ = ["city_db"]  # the seeded database fixture, shared with test_sql_live
pytestmark = pytest.mark.integration

FEEDS = tuple(FEED_DASHBOARDS.values())
#: Alerts of the seed (test_sql_live.SEED) per feed dashboard
SEEDED = {
    "gas": {"gas.lel_high"},
    "streetlights": {"streetlight.dark", "streetlight.circuit_outage"},
    "heating": {"heating.indoor_cold"},
    "fleet": {"fleet.off_route", "fleet.speeding"},
}
OPEN = {**SEEDED, "fleet": {"fleet.speeding"}}


def run(conn: psycopg.Connection, sql: str) -> tuple[list[str], list[tuple[object, ...]]]:
    with conn.transaction():
        conn.execute("SET TRANSACTION READ ONLY")
        conn.execute(f"SET LOCAL ROLE {GRAFANA_ROLE}")
        cur = conn.execute(sql)
        return [c.name for c in cur.description or []], cur.fetchall()


def query(lang: Lang, slug: str, panel: str) -> SqlQuery:
    return next(q for q in iter_sql_targets(lang) if q.dashboard == slug and q.panel == panel)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("slug", FEEDS)
def test_feed_dashboard_draws_its_alerts_as_regions(
    city_db: psycopg.Connection, lang: Lang, slug: str
) -> None:
    tr = Tr(lang)
    (annotation,) = build(slug, lang).annotations.list
    assert annotation["datasource"]["uid"] == POSTGRES_UID and annotation["enable"]
    variables = _variables(city_db, iter_sql_targets(lang))
    sql = query(lang, slug, f"@{tr('annotations.alerts')}").sql
    columns, rows = run(city_db, expand(sql, FROM, NOW, variables))
    assert columns == ["time", "timeend", "text", "tags"]  # what Grafana maps
    rules = {str(tags).split(",")[0] for *_, tags in rows}
    assert rules == SEEDED[slug]
    assert all(r.startswith(rule_prefix(slug)) for r in rules)
    for start, end, text, tags in rows:
        rule, severity, _district = str(tags).split(",")
        assert str(text).startswith(tr(f"severity.{severity}") + " · " + rule)
        assert isinstance(start, datetime)
        if rule == "fleet.off_route":  # resolved 25 minutes ago: a closed region
            assert end == NOW - timedelta(minutes=25)
        else:  # still open: a region without an end
            assert end is None
        acked = rule in ("streetlight.dark", "fleet.off_route")  # the seed's acknowledged ones
        assert str(text).endswith(" · " + tr("state.acknowledged")) == acked


def test_regions_follow_the_time_range_and_district(city_db: psycopg.Connection) -> None:
    variables = _variables(city_db, iter_sql_targets("en"))
    sql = query("en", "fleet", "@Alerts").sql

    def rules(start: datetime, end: datetime, districts: list[str]) -> set[str]:
        _, rows = run(city_db, expand(sql, start, end, {**variables, "district": districts}))
        return {str(tags).split(",")[0] for *_, tags in rows}

    everywhere = variables["district"]
    assert rules(FROM, NOW, everywhere) == {"fleet.off_route", "fleet.speeding"}
    # off_route resolved 25 minutes ago: not drawn in the last 20 minutes
    assert rules(NOW - timedelta(minutes=20), NOW, everywhere) == {"fleet.speeding"}
    # speeding started 10 minutes ago: not drawn in a range that ends 15 minutes ago
    assert rules(FROM, NOW - timedelta(minutes=15), everywhere) == {"fleet.off_route"}
    assert rules(FROM, NOW, ["市南区"]) == {"fleet.off_route"}  # speeding is in 崂山区


@pytest.mark.parametrize("slug", FEEDS)
def test_feed_dashboard_lists_its_open_alerts(city_db: psycopg.Connection, slug: str) -> None:
    tr = Tr("zh")
    variables = _variables(city_db, iter_sql_targets("zh"))
    sql = query("zh", slug, tr(f"{slug}.open_alerts.title")).sql
    columns, rows = run(city_db, expand(sql, FROM, NOW, variables))
    assert columns[:4] == ["severity", "rule", "state", "acknowledged_at"]
    assert columns[-1] == "runbook"
    found = {row[1] for row in rows}
    assert found == OPEN[slug]
    for row in rows:
        state, acknowledged_at = row[2], row[3]
        assert state in ("firing", "acknowledged")
        if row[1] == "streetlight.dark":  # the seed acknowledged it 2 minutes after start
            assert state == "acknowledged"
            assert acknowledged_at == NOW - timedelta(minutes=40) + timedelta(minutes=2)
        else:
            assert acknowledged_at is None
        assert str(row[-1]).endswith(".md")  # the alert's runbook page, linked in the panel


@pytest.mark.parametrize("slug", FEEDS)
def test_open_alert_table_links_the_runbook(slug: str) -> None:
    dashboard = build(slug, "en")
    panel = next(p for p in dashboard.panels if p.title == Tr("en")(f"{slug}.open_alerts.title"))
    runbook = next(o for o in panel.overrides if o["matcher"]["options"] == "runbook")
    (links,) = [p["value"] for p in runbook["properties"] if p["id"] == "links"]
    assert links[0]["url"] == "${__value.raw}"
    state_map = panel.extraJson["fieldConfig"]["defaults"]["mappings"]
    assert any("acknowledged" in m["options"] for m in state_map)


def test_rule_prefix_comes_from_the_routing_map() -> None:
    assert [rule_prefix(slug) for slug in FEEDS] == [f"{feed}." for feed in FEED_DASHBOARDS]
    with pytest.raises(ValueError, match="exactly one feed"):
        rule_prefix("alerts")
