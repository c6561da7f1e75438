"""City overview: the four KPIs against their targets, open alerts, a city map."""

from __future__ import annotations

from grafanalib.core import Dashboard, Stat

from dashboards import helpers as h
from dashboards import kpis
from dashboards.alert_overlays import alert_columns
from dashboards.geomap import MarkersLayer
from dashboards.i18n import Lang, Tr

SLUG = "overview"


def open_alerts_by_severity(tr: Tr, key: str) -> Stat:
    """One number per severity; red only when critical or major alerts are open."""
    counts = ",\n".join(f"count(*) FILTER (WHERE severity = '{s}') AS {s}" for s in h.SEVERITIES)
    overrides = [
        h.override(
            s,
            displayName=tr(f"severity.{s}"),
            thresholds={"mode": "absolute", "steps": h.steps(h.OK, (1, h.SEVERITY_COLOR[s]))},
        )
        for s in h.SEVERITIES
    ]
    return h.stat(
        tr(f"{key}.title"),
        tr(f"{key}.description"),
        [
            h.sql(
                f"""
                SELECT {counts}
                FROM alerts
                WHERE state <> 'resolved' AND {h.DISTRICT_FILTER}
                """
            )
        ],
        unit="none",
        overrides=overrides,
        color_mode="background",
        no_value="0",
    )


def build(lang: Lang) -> Dashboard:
    b = h.Board(SLUG, lang)
    tr = b.tr
    b.stat(
        "lit_rate",
        (6, 5),
        [
            h.sql(
                f"""
                SELECT sum(lights_lit)::float8 / NULLIF(sum(lights_expected_lit), 0)
                  AS lit_rate
                FROM kpi_night_lit_rate
                WHERE {h.day_range("day")} AND {h.DISTRICT_FILTER}
                """
            )
        ],
        unit="percentunit",
        decimals=2,
        thresholds=h.steps(h.WARN, (h.LIT_RATE_TARGET, h.OK)),
    )
    b.stat(
        "closure",
        (6, 5),
        [
            h.sql(
                f"""
                SELECT sum(alerts_resolved)::float8 / NULLIF(sum(alerts_total), 0)
                  AS closure_rate
                FROM kpi_alert_response
                WHERE {h.DISTRICT_FILTER}
                """
            )
        ],
        unit="percentunit",
        decimals=2,
        thresholds=h.steps(h.WARN, (0.95, h.MINOR), (0.99, h.OK)),
    )
    b.add(kpis.detector_online_rate(tr, "overview.online"), (6, 5))
    b.add(kpis.heating_compliance(tr, "overview.heating"), (6, 5))
    b.add(open_alerts_by_severity(tr, "overview.open_alerts"), (24, 4))
    b.geomap(
        "map",
        (14, 14),
        [
            h.sql(
                f"""
                SELECT alert_id, rule, severity, state, entity_id, district, lat, lon,
                  started_at, summary
                FROM alerts
                WHERE state <> 'resolved' AND lat IS NOT NULL AND lon IS NOT NULL
                  AND {h.DISTRICT_FILTER}
                ORDER BY {h.severity_rank_sql()} DESC, started_at
                LIMIT 5000
                """,
                expects_rows=False,
            )
        ],
        [
            MarkersLayer(
                name=tr("overview.map.layer"),
                ref_id="A",
                color_field="severity",
                size=8,
                text_field=None,
            )
        ],
        mappings=h.severity_mappings(tr),
        overrides=alert_columns(tr),
    )
    b.table(
        "districts",
        (10, 14),
        [
            h.sql(
                f"""
                WITH d AS (
                  SELECT DISTINCT district FROM rollups_1m
                  WHERE $__timeFilter(bucket) AND {h.DISTRICT_FILTER}
                ), lit AS (
                  SELECT district,
                    {h.LIT_RATE}
                  FROM kpi_night_lit_rate WHERE {h.day_range("day")}
                  GROUP BY district
                ), det AS (
                  SELECT DISTINCT ON (district) district, online_rate
                  FROM kpi_detector_online_rate WHERE {h.hour_range("bucket")}
                  ORDER BY district, bucket DESC
                ), heat AS (
                  SELECT DISTINCT ON (district) district, warm_share
                  FROM kpi_heating_compliance WHERE {h.hour_range("bucket")}
                  ORDER BY district, bucket DESC
                ), open_alerts AS (
                  SELECT district, count(*) AS open_alerts
                  FROM alerts WHERE state <> 'resolved'
                  GROUP BY district
                )
                SELECT d.district, lit.lit_rate, det.online_rate, heat.warm_share,
                  coalesce(open_alerts.open_alerts, 0) AS open_alerts
                FROM d
                LEFT JOIN lit USING (district)
                LEFT JOIN det USING (district)
                LEFT JOIN heat USING (district)
                LEFT JOIN open_alerts USING (district)
                ORDER BY d.district
                """
            )
        ],
        overrides=[
            h.override("district", displayName=tr("col.district")),
            h.rate_cell("lit_rate", tr("col.lit_rate"), h.steps(h.WARN, (h.LIT_RATE_TARGET, h.OK))),
            h.rate_cell("online_rate", tr("col.online_rate"), kpis.ONLINE_STEPS),
            h.rate_cell("warm_share", tr("col.warm_share"), kpis.WARM_STEPS),
            h.override(
                "open_alerts",
                displayName=tr("col.open_alerts"),
                unit="none",
            ),
        ],
    )
    return b.dashboard(templates=[h.district_var(tr)])
