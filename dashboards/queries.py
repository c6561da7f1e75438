"""Every SQL query of the dashboards, for tests that run them against a real database."""

from __future__ import annotations

from typing import NamedTuple

from grafanalib.core import Dashboard

from dashboards.build import DASHBOARDS, build
from dashboards.helpers import POSTGRES_UID, CitySqlTarget
from dashboards.i18n import Lang


class SqlQuery(NamedTuple):
    dashboard: str  # slug, e.g. "gas"
    panel: str  # panel title, or "$<name>" for a template variable
    sql: str  # with Grafana macros and template variables, as stored
    expects_rows: bool  # a simulated run of the small profile fills it
    # The panel's maxDataPoints and interval, from which Grafana derives $__interval
    # (grafanalib's defaults for variable and annotation queries, which have none).
    max_data_points: int = 100
    min_interval: str | None = None


def _variable_queries(slug: str, dashboard: Dashboard) -> list[SqlQuery]:
    return [
        SqlQuery(slug, f"${template.name}", template.query, True)
        for template in dashboard.templating.list
        if template.type == "query" and template.dataSource.get("uid") == POSTGRES_UID
    ]


def _annotation_queries(slug: str, dashboard: Dashboard) -> list[SqlQuery]:
    """Annotation queries on PostgreSQL, named "@<name>"; a calm run may draw none."""
    return [
        SqlQuery(slug, f"@{annotation['name']}", annotation["target"]["rawSql"], False)
        for annotation in dashboard.annotations.list
        if annotation.get("datasource", {}).get("uid") == POSTGRES_UID
    ]


def iter_sql_targets(lang: Lang = "en") -> list[SqlQuery]:
    """(dashboard, panel title, sql, expects_rows) of every SQL target and variable query.

    Panel order, then target order. Variable queries come first in each dashboard
    (Grafana runs them before the panels); they expect rows. Annotation queries
    (panel "@<name>") follow them.
    """
    queries: list[SqlQuery] = []
    for slug in DASHBOARDS:
        dashboard = build(slug, lang)
        queries.extend(_variable_queries(slug, dashboard))
        queries.extend(_annotation_queries(slug, dashboard))
        for panel in dashboard.panels:
            for target in panel.targets:
                if isinstance(target, CitySqlTarget):
                    queries.append(
                        SqlQuery(
                            slug,
                            panel.title,
                            target.rawSql,
                            target.expects_rows,
                            panel.maxDataPoints,
                            panel.interval,
                        )
                    )
    return queries
