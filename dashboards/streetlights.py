"""Streetlights: lit rate per district against 98 %, dark lights and outages, energy."""

from __future__ import annotations

from grafanalib.core import Dashboard

from dashboards import helpers as h
from dashboards.alert_overlays import alert_annotation, open_alerts_table
from dashboards.geomap import SQUARE, MarkersLayer
from dashboards.i18n import Lang

SLUG = "streetlights"

#: Each status message stands for its 5-minute reporting interval (DESIGN.md).
REPORT_INTERVAL_S = 300


def _open_alerts(rule: str) -> str:
    return f"""
        SELECT alert_id, rule, severity, entity_id, district, lat, lon, started_at, summary
        FROM alerts
        WHERE rule = '{rule}' AND state <> 'resolved' AND lat IS NOT NULL AND lon IS NOT NULL
          AND {h.DISTRICT_FILTER}
        ORDER BY started_at
        LIMIT 20000
        """


def build(lang: Lang) -> Dashboard:
    b = h.Board(SLUG, lang)
    tr = b.tr
    lit_steps = h.steps(h.WARN, (h.LIT_RATE_TARGET, h.OK))
    b.stat(
        "lit_now",
        (6, 5),
        [
            h.sql_series(
                f"""
                    SELECT $__timeGroupAlias(bucket, $__interval),
                      sum(lights_lit)::float8 / NULLIF(sum(lights_expected_lit), 0) AS lit_rate
                    FROM rollups_1m
                    WHERE feed = 'streetlight' AND lights_expected_lit > 0
                      AND $__timeFilter(bucket) AND {h.DISTRICT_FILTER}
                    GROUP BY 1
                    ORDER BY 1
                    """,
                expects_rows=False,
            )
        ],
        unit="percentunit",
        decimals=2,
        graph=True,
        thresholds=lit_steps,
    )
    b.stat(
        "dark_count",
        (6, 5),
        [
            h.sql(
                f"""
                    SELECT count(*) AS dark_lights FROM alerts
                    WHERE rule = 'streetlight.dark' AND state <> 'resolved'
                      AND {h.DISTRICT_FILTER}
                    """
            )
        ],
        thresholds=h.steps(h.OK, (1, h.MINOR)),
        no_value="0",
    )
    b.stat(
        "outage_count",
        (6, 5),
        [
            h.sql(
                f"""
                    SELECT count(*) AS circuit_outages FROM alerts
                    WHERE rule = 'streetlight.circuit_outage' AND state <> 'resolved'
                      AND {h.DISTRICT_FILTER}
                    """
            )
        ],
        thresholds=h.steps(h.OK, (1, h.ACTION)),
        color_mode="background",
        no_value="0",
    )
    b.stat(
        "energy_total",
        (6, 5),
        [
            h.sql(
                f"""
                    SELECT coalesce(sum(power_w_sum), 0) * {REPORT_INTERVAL_S} / 3600000.0
                      AS energy_kwh
                    FROM rollups_1m
                    WHERE feed = 'streetlight' AND $__timeFilter(bucket) AND {h.DISTRICT_FILTER}
                    """
            )
        ],
        unit="kwatth",
        decimals=0,
        thresholds=h.steps(h.INFO),
    )
    b.timeseries(
        "lit_rate",
        (12, 10),
        [
            h.sql_series(
                f"""
                    SELECT $__timeGroupAlias(bucket, $__interval), district AS metric,
                      sum(lights_lit)::float8 / NULLIF(sum(lights_expected_lit), 0) AS lit_rate
                    FROM rollups_1m
                    WHERE feed = 'streetlight' AND lights_expected_lit > 0
                      AND $__timeFilter(bucket) AND {h.DISTRICT_FILTER}
                    GROUP BY 1, 2
                    ORDER BY 1
                    """,
                expects_rows=False,
            )
        ],
        unit="percentunit",
        thresholds=lit_steps,
        threshold_style="line",
        soft_min=0.9,
        soft_max=1,
        resolution=h.PER_MINUTE,
    )
    b.barchart(
        "night_kpi",
        (12, 10),
        [
            h.sql(
                f"""
                    SELECT district,
                      sum(lights_lit)::float8 / NULLIF(sum(lights_expected_lit), 0) AS lit_rate
                    FROM kpi_night_lit_rate
                    WHERE {h.day_range("day")} AND {h.DISTRICT_FILTER}
                    GROUP BY district
                    ORDER BY district
                    """,
                expects_rows=False,
            )
        ],
        unit="percentunit",
        thresholds=lit_steps,
        threshold_line=True,
        color_by_threshold=True,
        soft_min=0.9,
        overrides=h.display_names({"lit_rate": tr("col.lit_rate")}),
    )
    b.geomap(
        "map",
        (14, 14),
        [
            h.sql(_open_alerts("streetlight.dark"), "A", expects_rows=False),
            h.sql(_open_alerts("streetlight.circuit_outage"), "B", expects_rows=False),
        ],
        [
            MarkersLayer(
                name=tr("streetlights.map.dark"),
                ref_id="A",
                fixed_color=h.MINOR,
                size=4,
            ),
            MarkersLayer(
                name=tr("streetlights.map.outage"),
                ref_id="B",
                fixed_color=h.ACTION,
                size=12,
                symbol=SQUARE,
                opacity=0.9,
            ),
        ],
        mappings=h.severity_mappings(tr),
        overrides=h.display_names(
            {
                "rule": tr("col.rule"),
                "severity": tr("col.severity"),
                "entity_id": tr("col.entity"),
                "district": tr("col.district"),
                "started_at": tr("col.started_at"),
                "summary": tr("col.summary"),
            }
        ),
    )
    b.timeseries(
        "energy",
        (10, 14),
        [
            h.sql_series(
                f"""
                    SELECT $__timeGroupAlias(bucket, $__interval), district AS metric,
                      sum(power_w_sum) * {REPORT_INTERVAL_S} / 3600000.0 AS energy_kwh
                    FROM rollups_1m
                    WHERE feed = 'streetlight' AND $__timeFilter(bucket) AND {h.DISTRICT_FILTER}
                    GROUP BY 1, 2
                    ORDER BY 1
                    """
            )
        ],
        unit="kwatth",
        bars=True,
        stacked=True,
        legend_calcs=("sum",),
        resolution=h.PER_MINUTE,
    )
    b.add(open_alerts_table(tr, "streetlights.open_alerts", SLUG), (24, 9))
    return b.dashboard(
        templates=[h.district_var(tr)],
        annotations=[alert_annotation(tr, SLUG)],
    )
