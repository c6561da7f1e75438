"""Alerts on the dashboards: when they fired (annotations) and which are open (a table).

Both come from the pipeline's own alert store: the annotation from `alert_history`
(one shaded region per alert, from `started_at` to its `resolved` event, open-ended
while it is still open), the table from `alerts` (current state) with the first
acknowledgement from `alert_history`. A feed dashboard shows its own rules: the rule
name's prefix maps to the dashboard in `streams.routing.FEED_DASHBOARDS`, the same
map the notifier's dashboard links use.
"""

from __future__ import annotations

from typing import Any

from grafanalib.core import Table

from dashboards.datasources import POSTGRES
from dashboards.fields import (
    column_names,
    override,
    severity_mappings,
    value_mappings,
)
from dashboards.i18n import Tr
from dashboards.panels import table
from dashboards.sqlparts import (
    TIME_FROM,
    TIME_TO,
    clean_sql,
    district_filter,
    label_case,
    severity_rank_sql,
    sql_literal,
)
from dashboards.style import ACTION, MINOR, SEVERITIES
from dashboards.targets import sql
from streams.routing import FEED_DASHBOARDS

#: How far before the dashboard's range an alert may have started and still be drawn
#: (it is drawn while it overlaps the range). Bounds the scan of `alert_history`,
#: which is indexed on `updated_at` (migration 003); a month covers every rule's
#: plausible lifetime (the longest, an unresolved circuit outage, is days).
LOOKBACK = "interval '30 days'"


def rule_prefix(slug: str) -> str:
    """'gas' -> 'gas.': the rule-name prefix of the feed a dashboard shows."""
    feeds = [feed for feed, dashboard in FEED_DASHBOARDS.items() if dashboard == slug]
    if len(feeds) != 1:
        raise ValueError(f"{slug!r} is not the dashboard of exactly one feed: {feeds}")
    return f"{feeds[0]}."


def _rule_filter(column: str, slug: str | None) -> str:
    if slug is None:
        return "true"
    return f"{column} LIKE {sql_literal(rule_prefix(slug) + '%')}"


def alert_annotation(tr: Tr, slug: str) -> dict[str, Any]:
    """Annotation query: the feed's alerts as regions (time -> timeend), text and tags."""
    severity = label_case("h.severity", {s: tr(f"severity.{s}") for s in SEVERITIES})
    acked = sql_literal(" · " + tr("state.acknowledged"))
    resolved = "max(h.updated_at) FILTER (WHERE h.state = 'resolved')"
    query = f"""
        SELECT h.started_at AS "time",
          {resolved} AS timeend,
          {severity} || ' · ' || h.rule || ' · ' || h.entity_id || ': '
            || (array_agg(h.summary ORDER BY h.updated_at DESC))[1]
            || CASE WHEN bool_or(h.state = 'acknowledged') THEN {acked} ELSE '' END AS text,
          h.rule || ',' || h.severity || ',' || h.district AS tags
        FROM alert_history AS h
        WHERE {_rule_filter("h.rule", slug)} AND {district_filter("h")}
          AND h.updated_at > {TIME_FROM} - {LOOKBACK}
          AND h.started_at > {TIME_FROM} - {LOOKBACK}
          AND h.started_at <= {TIME_TO}
        GROUP BY h.alert_id, h.started_at, h.rule, h.severity, h.entity_id, h.district
        HAVING coalesce({resolved}, 'infinity') >= {TIME_FROM}
        ORDER BY 1
        LIMIT 1000
    """
    return {
        "datasource": POSTGRES,
        "enable": True,
        "hide": False,
        "iconColor": ACTION,
        "name": tr("annotations.alerts"),
        "target": {
            "editorMode": "code",
            "format": "table",
            "rawQuery": True,
            "rawSql": clean_sql(query),
            "refId": "Anno",
        },
    }


def alert_columns(tr: Tr, *, state: bool = True) -> list[dict[str, Any]]:
    """Headers of the alert columns a map of alerts shows (`state` where it selects it)."""
    state_column = " state" if state else ""
    return column_names(tr, f"rule severity{state_column} entity_id district started_at summary")


def open_alerts_table(tr: Tr, key: str, slug: str | None = None) -> Table:
    """Open alerts, most urgent first, with their acknowledgement and runbook link.

    `slug` None = every rule (the alerts dashboard); else the rules of that feed.
    """
    query = f"""
        SELECT a.severity, a.rule, a.state, ack.acknowledged_at, a.entity_type, a.entity_id,
          a.district, a.started_at, a.updated_at,
          extract(epoch FROM {TIME_TO} - a.started_at)::bigint AS open_for_s,
          a.value, a.threshold, a.summary, a.runbook
        FROM alerts AS a
        LEFT JOIN LATERAL (
          SELECT min(h.updated_at) AS acknowledged_at
          FROM alert_history AS h
          WHERE h.alert_id = a.alert_id AND h.state = 'acknowledged'
        ) AS ack ON true
        WHERE a.state <> 'resolved' AND {_rule_filter("a.rule", slug)} AND {district_filter("a")}
        ORDER BY {severity_rank_sql("a.severity")}, a.started_at
        LIMIT 1000
    """
    return table(
        tr(f"{key}.title"),
        tr(f"{key}.description"),
        [sql(query, expects_rows=False)],
        mappings=severity_mappings(tr)
        + value_mappings(
            {
                "firing": (tr("state.firing"), ACTION),
                "acknowledged": (tr("state.acknowledged"), MINOR),
            }
        ),
        overrides=[
            override(
                "severity",
                displayName=tr("col.severity"),
                custom__cellOptions={"type": "color-background"},
                custom__width=90,
            ),
            override("state", displayName=tr("col.state"), custom__width=100),
            *column_names(
                tr,
                "rule acknowledged_at entity_type entity_id district started_at updated_at"
                " value threshold summary",
            ),
            override("open_for_s", displayName=tr("col.open_for"), unit="s"),
            override(
                "runbook",
                displayName=tr("col.runbook"),
                links=[
                    {
                        "targetBlank": True,
                        "title": tr("alerts.open.runbook_link"),
                        "url": "${__value.raw}",
                    }
                ],
            ),
        ],
    )
