"""Streetlights: lit rate per district against 98 %, dark lights and outages, energy."""

from __future__ import annotations

from grafanalib.core import Dashboard

from dashboards import helpers as h
from dashboards.alert_overlays import alert_annotation, alert_columns, open_alerts_table
from dashboards.geomap import SQUARE, MarkersLayer
from dashboards.i18n import Lang

SLUG = "streetlights"

#: Each status message stands for its 5-minute reporting interval (DESIGN.md).
REPORT_INTERVAL_S = 300
ENERGY = f"sum(power_w_sum) * {REPORT_INTERVAL_S} / 3600000.0 AS energy_kwh"
#: Roll-ups with lights expected lit: the lit rate is judged only at night.
LIT = "lights_expected_lit > 0"
DARK = "streetlight.dark"
OUTAGE = "streetlight.circuit_outage"


def _open_count(rule: str, alias: str) -> str:
    return f"""
        SELECT count(*) AS {alias} FROM alerts
        WHERE rule = '{rule}' AND state <> 'resolved'
          AND {h.DISTRICT_FILTER}
        """


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
        [h.sql_series(h.rollup_series("streetlight", h.LIT_RATE, where=LIT), expects_rows=False)],
        unit="percentunit",
        decimals=2,
        graph=True,
        thresholds=lit_steps,
    )
    b.count("dark_count", (6, 5), [h.sql(_open_count(DARK, "dark_lights"))], alarm=h.MINOR)
    b.count("outage_count", (6, 5), [h.sql(_open_count(OUTAGE, "circuit_outages"))], alarm=h.ACTION)
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
                h.rollup_series("streetlight", h.LIT_RATE, by_district=True, where=LIT),
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
                  {h.LIT_RATE}
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
        judged=True,
        soft_min=0.9,
        overrides=h.column_names(tr, "lit_rate"),
    )
    b.geomap(
        "map",
        (14, 14),
        [
            h.sql(_open_alerts(DARK), "A", expects_rows=False),
            h.sql(_open_alerts(OUTAGE), "B", expects_rows=False),
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
        overrides=alert_columns(tr, state=False),
    )
    b.timeseries(
        "energy",
        (10, 14),
        [h.sql_series(h.rollup_series("streetlight", ENERGY, by_district=True))],
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
