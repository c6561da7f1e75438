"""Gas safety: max LEL by district, detectors on a map by status, offline detectors."""

from __future__ import annotations

from grafanalib.core import Dashboard

from dashboards import helpers as h
from dashboards import kpis
from dashboards.alert_overlays import alert_annotation, open_alerts_table
from dashboards.geomap import MarkersLayer
from dashboards.i18n import Lang

SLUG = "gas"

#: A detector is offline after 3 missed 60 s heartbeats (gas.detector_offline).
OFFLINE_AFTER = f"interval '{h.GAS_OFFLINE_S} seconds'"
LEL_MAX = "max(lel_max_pct) AS lel_max_pct"


def build(lang: Lang) -> Dashboard:
    b = h.Board(SLUG, lang)
    tr = b.tr
    lel_steps = h.steps(h.OK, (h.LEL_FIRST, h.WARN), (h.LEL_SECOND, h.ACTION))
    b.count(
        "alarming",
        (6, 5),
        [
            h.sql(
                f"""
                SELECT coalesce(sum(detectors_alarming), 0) AS detectors_alarming
                FROM rollups_1m
                WHERE feed = 'gas' AND {h.DISTRICT_FILTER}
                  AND bucket = (
                    SELECT max(bucket) FROM rollups_1m
                    WHERE feed = 'gas' AND $__timeFilter(bucket)
                  )
                """
            )
        ],
        alarm=h.ACTION,
    )
    b.stat(
        "max_lel",
        (6, 5),
        [h.sql_series(h.rollup_series("gas", LEL_MAX))],
        unit="percent",
        decimals=1,
        graph=True,
        thresholds=lel_steps,
    )
    b.add(kpis.detector_online_rate(tr, "gas.online"), (6, 5))
    b.count(
        "offline_count",
        (6, 5),
        [
            h.sql(
                f"""
                SELECT count(*) AS detectors_offline
                FROM (
                  SELECT detector_id FROM gas_detector_readings
                  WHERE $__timeFilter(ts) AND {h.DISTRICT_FILTER}
                  GROUP BY detector_id
                  HAVING max(ts) < {h.TIME_TO} - {OFFLINE_AFTER}
                ) AS silent
                """
            )
        ],
        alarm=h.WARN,
    )
    b.timeseries(
        "lel_by_district",
        (12, 10),
        [h.sql_series(h.rollup_series("gas", LEL_MAX, by_district=True))],
        unit="percent",
        thresholds=lel_steps,
        threshold_style="line+area",
        soft_min=0,
        soft_max=60,
        resolution=h.PER_MINUTE,
    )
    b.timeseries(
        "online_by_district",
        (12, 10),
        [h.sql_series(h.kpi_series("kpi_detector_online_rate", "online_rate"))],
        unit="percentunit",
        thresholds=h.steps(h.WARN, (0.95, h.OK)),
        threshold_style="line",
        soft_min=0.9,
        soft_max=1,
        resolution=h.HOURLY,
    )
    state_labels = {
        "lel_critical": (tr("gas.state.lel_critical"), h.ACTION),
        "lel_major": (tr("gas.state.lel_major"), h.WARN),
        "tamper": (tr("gas.state.tamper"), h.MINOR),
        "fault": (tr("gas.state.fault"), h.MINOR),
        "offline": (tr("gas.state.offline"), "purple"),
        "ok": (tr("gas.state.ok"), h.OK),
    }
    b.geomap(
        "map",
        (14, 15),
        [
            h.sql(
                f"""
                WITH latest AS (
                  SELECT DISTINCT ON (detector_id) detector_id, site_type, district,
                    lat, lon, lel_pct, status, battery_pct, ts
                  FROM gas_detector_readings
                  WHERE $__timeFilter(ts) AND {h.DISTRICT_FILTER}
                  ORDER BY detector_id, ts DESC
                )
                SELECT detector_id, site_type, district, lat, lon, lel_pct, status,
                  battery_pct, ts AS last_seen,
                  CASE
                    WHEN lel_pct >= {h.LEL_SECOND} THEN 'lel_critical'
                    WHEN lel_pct >= {h.LEL_FIRST} THEN 'lel_major'
                    WHEN status <> 'ok' THEN status
                    WHEN ts < {h.TIME_TO} - {OFFLINE_AFTER} THEN 'offline'
                    ELSE 'ok'
                  END AS state
                FROM latest
                ORDER BY lel_pct
                """
            )
        ],
        [MarkersLayer(name=tr("gas.map.layer"), ref_id="A", color_field="state", size=5)],
        mappings=h.value_mappings(state_labels),
        overrides=[
            *h.column_names(tr, "detector_id site_type district status last_seen state"),
            h.override("lel_pct", displayName=tr("col.lel_pct"), unit="percent"),
            h.override("battery_pct", displayName=tr("col.battery_pct"), unit="percent"),
        ],
    )
    b.table(
        "offline",
        (10, 15),
        [
            h.sql(
                f"""
                SELECT detector_id, district, site_type, max(ts) AS last_seen,
                  extract(epoch FROM {h.TIME_TO} - max(ts))::bigint AS silent_s
                FROM gas_detector_readings
                WHERE $__timeFilter(ts) AND {h.DISTRICT_FILTER}
                GROUP BY detector_id, district, site_type
                HAVING max(ts) < {h.TIME_TO} - {OFFLINE_AFTER}
                ORDER BY last_seen
                LIMIT 500
                """,
                expects_rows=False,
            )
        ],
        overrides=[
            *h.column_names(tr, "detector_id district site_type last_seen"),
            h.override("silent_s", displayName=tr("col.silent_for"), unit="s"),
        ],
    )
    b.add(open_alerts_table(tr, "gas.open_alerts", SLUG), (24, 9))
    return b.dashboard(
        templates=[h.district_var(tr)],
        annotations=[alert_annotation(tr, SLUG)],
    )
