"""Alerts and response: open alerts with runbooks, time to acknowledge/resolve, closure rate."""

from __future__ import annotations

from grafanalib.core import Dashboard

from dashboards import helpers as h
from dashboards.alert_overlays import open_alerts_table
from dashboards.i18n import Lang
from dashboards.overview import open_alerts_by_severity

SLUG = "alerts"


def build(lang: Lang) -> Dashboard:
    b = h.Board(SLUG, lang)
    tr = b.tr
    severity_labels = {s: tr(f"severity.{s}") for s in h.SEVERITIES}
    b.add(open_alerts_by_severity(tr, "alerts.open_by_severity"), (24, 4))
    b.add(open_alerts_table(tr, "alerts.open"), (24, 12))
    b.timeseries(
        "raised",
        (12, 9),
        [
            h.sql_series(
                f"""
                SELECT $__timeGroupAlias(started_at, $__interval),
                  {h.label_case("severity", severity_labels)} AS metric,
                  count(*) AS alerts
                FROM alerts
                WHERE $__timeFilter(started_at) AND {h.DISTRICT_FILTER}
                GROUP BY 1, 2
                ORDER BY 1
                """,
                expects_rows=False,
            )
        ],
        unit="none",
        bars=True,
        stacked=True,
        legend_calcs=("sum",),
        overrides=[
            h.override(severity_labels[s], color=h.fixed_color(h.SEVERITY_COLOR[s]))
            for s in h.SEVERITIES
        ],
        resolution=h.EVENTS,
    )
    b.timeseries(
        "response_time",
        (12, 9),
        [
            h.sql_series(
                f"""
                SELECT $__timeGroupAlias(a.started_at, $__interval),
                  avg(extract(epoch FROM ack.acknowledged_at - a.started_at))
                    AS time_to_ack_s,
                  avg(extract(epoch FROM a.resolved_at - a.started_at))
                    AS time_to_resolve_s
                FROM alerts AS a
                LEFT JOIN (
                  SELECT alert_id, min(updated_at) AS acknowledged_at
                  FROM alert_history
                  WHERE state = 'acknowledged'
                  GROUP BY alert_id
                ) AS ack USING (alert_id)
                WHERE $__timeFilter(a.started_at) AND {h.district_filter("a")}
                GROUP BY 1
                ORDER BY 1
                """,
                expects_rows=False,
            )
        ],
        unit="s",
        overrides=[
            h.override(
                "time_to_ack_s",
                displayName=tr("legend.time_to_ack"),
                color=h.fixed_color(h.INFO),
            ),
            h.override(
                "time_to_resolve_s",
                displayName=tr("legend.time_to_resolve"),
                color=h.fixed_color("purple"),
            ),
        ],
        resolution=h.EVENTS,
    )
    b.barchart(
        "closure",
        (12, 10),
        [
            h.sql(
                f"""
                SELECT district,
                  sum(alerts_resolved)::float8 / NULLIF(sum(alerts_total), 0)
                    AS closure_rate
                FROM kpi_alert_response
                WHERE {h.DISTRICT_FILTER}
                GROUP BY district
                ORDER BY district
                """,
                expects_rows=False,
            )
        ],
        unit="percentunit",
        thresholds=h.steps(h.WARN, (0.95, h.MINOR), (0.99, h.OK)),
        judged=True,
        overrides=h.column_names(tr, "closure_rate"),
    )
    b.table(
        "by_rule",
        (12, 10),
        [
            h.sql(
                f"""
                SELECT rule, sum(alerts_total) AS alerts_total,
                  sum(alerts_resolved) AS alerts_resolved,
                  sum(alerts_resolved)::float8 / NULLIF(sum(alerts_total), 0)
                    AS closure_rate,
                  sum(mean_time_to_ack_s * alerts_total)
                    / NULLIF(sum(alerts_total)
                      FILTER (WHERE mean_time_to_ack_s IS NOT NULL), 0)
                    AS mean_time_to_ack_s,
                  sum(mean_time_to_resolve_s * alerts_resolved)
                    / NULLIF(sum(alerts_resolved)
                      FILTER (WHERE mean_time_to_resolve_s IS NOT NULL), 0)
                    AS mean_time_to_resolve_s
                FROM kpi_alert_response
                WHERE {h.DISTRICT_FILTER}
                GROUP BY rule
                ORDER BY rule
                """,
                expects_rows=False,
            )
        ],
        overrides=[
            *h.column_names(tr, "rule alerts_total alerts_resolved"),
            h.rate_cell(
                "closure_rate",
                tr("col.closure_rate"),
                h.steps(h.WARN, (0.95, h.MINOR), (0.99, h.OK)),
            ),
            h.override("mean_time_to_ack_s", displayName=tr("col.mtta"), unit="s"),
            h.override("mean_time_to_resolve_s", displayName=tr("col.mttr"), unit="s"),
        ],
    )
    return b.dashboard(templates=[h.district_var(tr)])
