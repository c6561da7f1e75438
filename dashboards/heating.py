"""Heating: supply/return temperatures and pressures per enterprise and station,
indoor compliance against 18 °C."""

from __future__ import annotations

from grafanalib.core import Dashboard

from dashboards import helpers as h
from dashboards import kpis
from dashboards.alert_overlays import alert_annotation, open_alerts_table
from dashboards.i18n import Lang

SLUG = "heating"

READINGS_FILTER = f"$__timeFilter(ts) AND {h.DISTRICT_FILTER} AND {h.ENTERPRISE_FILTER}"
PRESSURE_UNIT = "suffix: MPa"


def _per_entity(column: str, entity: str, label: str, agg: str, ref_id: str) -> h.CitySqlTarget:
    """One series per enterprise/station: `<entity> · <translated label>`."""
    return h.sql_series(
        f"""
        SELECT $__timeGroupAlias(ts, $__interval),
          {entity} || {h.sql_literal(" · " + label)} AS metric,
          {agg}({column}) AS value
        FROM heating_station_readings
        WHERE {READINGS_FILTER}
        GROUP BY 1, 2
        ORDER BY 1
        """,
        ref_id,
    )


def build(lang: Lang) -> Dashboard:
    b = h.Board(SLUG, lang)
    tr = b.tr
    warm_steps = kpis.WARM_STEPS
    b.add(kpis.heating_compliance(tr, "heating.compliance"), (6, 5))
    b.count(
        "cold_stations",
        (6, 5),
        [
            h.sql(
                f"""
                SELECT count(*) FILTER (WHERE indoor_temp_c < {h.INDOOR_MIN_C})
                  AS stations_cold
                FROM (
                  SELECT DISTINCT ON (station_id) station_id, indoor_temp_c
                  FROM heating_station_readings
                  WHERE {READINGS_FILTER}
                  ORDER BY station_id, ts DESC
                ) AS latest
                """
            )
        ],
        alarm=h.ACTION,
    )
    b.count(
        "pressure_alerts",
        (6, 5),
        [
            h.sql(
                f"""
                SELECT count(*) AS open_heating_alerts FROM alerts
                WHERE rule LIKE 'heating.%' AND state <> 'resolved'
                  AND severity IN ('critical', 'major') AND {h.DISTRICT_FILTER}
                """
            )
        ],
        alarm=h.ACTION,
    )
    b.stat(
        "stations",
        (6, 5),
        [
            h.sql(
                f"""
                SELECT count(DISTINCT station_id) AS stations_reporting
                FROM heating_station_readings
                WHERE {READINGS_FILTER}
                """
            )
        ],
        thresholds=h.steps(h.INFO),
    )
    b.timeseries(
        "indoor_min",
        (12, 9),
        [
            h.sql_series(
                h.rollup_series(
                    "heating", "min(indoor_temp_min_c) AS indoor_temp_min_c", by_district=True
                )
            )
        ],
        unit="celsius",
        thresholds=h.steps(h.ACTION, (h.INDOOR_MIN_C, h.OK)),
        threshold_style="line+area",
        soft_min=14,
        soft_max=24,
        resolution=h.PER_MINUTE,
    )
    b.timeseries(
        "compliance_by_district",
        (12, 9),
        [h.sql_series(h.kpi_series("kpi_heating_compliance", "warm_share"))],
        unit="percentunit",
        thresholds=warm_steps,
        threshold_style="line",
        soft_min=0.8,
        soft_max=1,
        resolution=h.HOURLY,
    )
    b.timeseries(
        "temps",
        (12, 10),
        [
            _per_entity("supply_temp_c", "enterprise_id", tr("legend.supply"), "avg", "A"),
            _per_entity("return_temp_c", "enterprise_id", tr("legend.return"), "avg", "B"),
        ],
        unit="celsius",
        resolution=h.PER_MINUTE,
    )
    b.timeseries(
        "pressures",
        (12, 10),
        [
            _per_entity("supply_pressure_mpa", "station_id", tr("legend.supply"), "avg", "A"),
            _per_entity("return_pressure_mpa", "station_id", tr("legend.return"), "avg", "B"),
        ],
        unit=PRESSURE_UNIT,
        legend_calcs=("lastNotNull", "min"),
        resolution=h.PER_MINUTE,
    )
    b.table(
        "table",
        (24, 10),
        [
            h.sql(
                f"""
                SELECT DISTINCT ON (station_id) station_id, enterprise_id, district,
                  supply_temp_c, return_temp_c, supply_pressure_mpa, return_pressure_mpa,
                  flow_m3h, indoor_temp_c, outdoor_temp_c, ts AS last_seen
                FROM heating_station_readings
                WHERE {READINGS_FILTER}
                ORDER BY station_id, ts DESC
                """
            )
        ],
        overrides=[
            *h.column_names(tr, "station_id enterprise_id district last_seen"),
            h.override("supply_temp_c", displayName=tr("col.supply_temp"), unit="celsius"),
            h.override("return_temp_c", displayName=tr("col.return_temp"), unit="celsius"),
            h.override(
                "supply_pressure_mpa",
                displayName=tr("col.supply_pressure"),
                unit=PRESSURE_UNIT,
            ),
            h.override(
                "return_pressure_mpa",
                displayName=tr("col.return_pressure"),
                unit=PRESSURE_UNIT,
            ),
            h.override("flow_m3h", displayName=tr("col.flow"), unit="suffix: m³/h"),
            h.override(
                "indoor_temp_c",
                displayName=tr("col.indoor_temp"),
                unit="celsius",
                thresholds={
                    "mode": "absolute",
                    "steps": h.steps(h.ACTION, (h.INDOOR_MIN_C, h.OK)),
                },
                custom__cellOptions={"type": "color-background"},
            ),
            h.override("outdoor_temp_c", displayName=tr("col.outdoor_temp"), unit="celsius"),
        ],
        sort_by=tr("col.indoor_temp"),
    )
    b.add(open_alerts_table(tr, "heating.open_alerts", SLUG), (24, 9))
    return b.dashboard(
        templates=[h.district_var(tr), h.enterprise_var(tr)],
        annotations=[alert_annotation(tr, SLUG)],
    )
