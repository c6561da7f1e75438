"""Sanitation fleet: trucks and today's tracks on a map, load per waste kind, route adherence."""

from __future__ import annotations

from grafanalib.core import Dashboard

from dashboards import helpers as h
from dashboards.alert_overlays import alert_annotation, open_alerts_table
from dashboards.geomap import MarkersLayer
from dashboards.i18n import Lang

SLUG = "fleet"

GPS_FILTER = f"{h.DISTRICT_FILTER} AND {h.ROUTE_FILTER}"
#: fleet.gps.v1 fixes arrive every 10 s (DESIGN.md): one fix stands for 10 s of driving.
FIX_INTERVAL_S = 10
WASTE_KINDS: tuple[str, ...] = ("kitchen", "recyclable", "other", "hazardous")
WASTE_COLOR = {"kitchen": "green", "recyclable": "blue", "other": "text", "hazardous": "purple"}


def build(lang: Lang) -> Dashboard:
    b = h.Board(SLUG, lang)
    tr = b.tr
    waste_labels = {k: tr(f"waste.{k}") for k in WASTE_KINDS}
    b.geomap(
        "map",
        (16, 16),
        [
            h.sql(
                f"""
                SELECT truck_id, route_id, date_trunc('minute', ts) AS minute,
                  avg(lat) AS lat, avg(lon) AS lon
                FROM fleet_gps_readings
                WHERE ts >= date_trunc('day', {h.TIME_TO}) AND ts <= {h.TIME_TO}
                  AND {GPS_FILTER}
                GROUP BY truck_id, route_id, minute
                ORDER BY truck_id, minute
                LIMIT 100000
                """,
                "A",
            ),
            h.sql(
                f"""
                SELECT DISTINCT ON (truck_id) truck_id, route_id, district, lat, lon,
                  speed_kmh, heading_deg, ignition, load_kg, waste_kind, ts AS last_seen
                FROM fleet_gps_readings
                WHERE $__timeFilter(ts) AND {GPS_FILTER}
                ORDER BY truck_id, ts DESC
                """,
                "B",
            ),
        ],
        [
            MarkersLayer(
                name=tr("fleet.map.tracks"),
                ref_id="A",
                fixed_color="light-blue",
                size=2,
                opacity=0.5,
                show_legend=False,
                tooltip=False,
            ),
            MarkersLayer(
                name=tr("fleet.map.trucks"),
                ref_id="B",
                color_field="waste_kind",
                size=9,
                opacity=0.9,
                text_field="truck_id",
            ),
        ],
        mappings=h.value_mappings({k: (waste_labels[k], WASTE_COLOR[k]) for k in WASTE_KINDS}),
        overrides=[
            *h.column_names(tr, "truck_id route_id district waste_kind ignition last_seen minute"),
            h.override("speed_kmh", displayName=tr("col.speed"), unit="velocitykmh"),
            h.override("heading_deg", displayName=tr("col.heading"), unit="degree"),
            h.override("load_kg", displayName=tr("col.load"), unit="masskg"),
        ],
        zoom=12.0,
    )
    b.stat(
        "active",
        (8, 4),
        [
            h.sql(
                f"""
                SELECT count(DISTINCT truck_id) AS trucks_active
                FROM fleet_gps_readings
                WHERE ts > {h.TIME_TO} - interval '5 minutes' AND ts <= {h.TIME_TO}
                  AND ignition AND {GPS_FILTER}
                """
            )
        ],
        thresholds=h.steps(h.INFO),
    )
    b.stat(
        "off_route_now",
        (8, 4),
        [
            h.sql(
                f"""
                SELECT
                  count(*) FILTER (WHERE rule = 'fleet.off_route') AS off_route,
                  count(*) FILTER (WHERE rule = 'fleet.geofence_violation') AS geofence,
                  count(*) FILTER (WHERE rule = 'fleet.speeding') AS speeding
                FROM alerts
                WHERE rule LIKE 'fleet.%' AND state <> 'resolved' AND {h.DISTRICT_FILTER}
                """
            )
        ],
        overrides=[
            h.override(
                "off_route",
                displayName=tr("fleet.off_route_now.off_route"),
                thresholds={"mode": "absolute", "steps": h.steps(h.OK, (1, h.MINOR))},
            ),
            h.override(
                "geofence",
                displayName=tr("fleet.off_route_now.geofence"),
                thresholds={"mode": "absolute", "steps": h.steps(h.OK, (1, h.ACTION))},
            ),
            h.override(
                "speeding",
                displayName=tr("fleet.off_route_now.speeding"),
                thresholds={"mode": "absolute", "steps": h.steps(h.OK, (1, h.WARN))},
            ),
        ],
        no_value="0",
    )
    b.timeseries(
        "tonnes",
        (8, 8),
        [
            h.sql_series(
                f"""
                SELECT day::timestamp AT TIME ZONE 'UTC' AS "time",
                  {h.label_case("waste_kind", waste_labels)} AS metric,
                  sum(tonnes) AS tonnes
                FROM kpi_waste_tonnes_daily
                WHERE {h.day_range("day")} AND {h.DISTRICT_FILTER}
                GROUP BY 1, 2
                ORDER BY 1
                """
            )
        ],
        unit="masst",
        bars=True,
        stacked=True,
        legend_calcs=("sum",),
        overrides=[
            h.override(waste_labels[k], color=h.fixed_color(WASTE_COLOR[k])) for k in WASTE_KINDS
        ],
        resolution=h.DAILY,
    )
    b.table(
        "adherence",
        (12, 10),
        [
            h.sql(
                f"""
                WITH fixes AS (
                  SELECT route_id, truck_id, count(*) AS fixes
                  FROM fleet_gps_readings
                  WHERE $__timeFilter(ts) AND ignition AND {GPS_FILTER}
                  GROUP BY route_id, truck_id
                ), off_route AS (
                  SELECT entity_id AS truck_id, count(*) AS off_route_alerts,
                    sum(extract(epoch FROM
                      least(coalesce(resolved_at, {h.TIME_TO}), {h.TIME_TO})
                      - greatest(started_at, {h.TIME_FROM}))) AS off_route_s
                  FROM alerts
                  WHERE rule = 'fleet.off_route' AND started_at < {h.TIME_TO}
                    AND coalesce(resolved_at, 'infinity') > {h.TIME_FROM}
                  GROUP BY entity_id
                )
                SELECT f.route_id, count(DISTINCT f.truck_id) AS trucks,
                  sum(f.fixes) * {FIX_INTERVAL_S} AS driving_s,
                  coalesce(sum(o.off_route_alerts), 0) AS off_route_alerts,
                  coalesce(sum(o.off_route_s), 0) AS off_route_s,
                  greatest(0, 1 - coalesce(sum(o.off_route_s), 0)
                    / NULLIF(sum(f.fixes) * {FIX_INTERVAL_S}.0, 0)) AS adherence
                FROM fixes AS f
                LEFT JOIN off_route AS o USING (truck_id)
                GROUP BY f.route_id
                ORDER BY adherence, f.route_id
                """
            )
        ],
        overrides=[
            h.override("route_id", displayName=tr("col.route")),
            h.override("trucks", displayName=tr("col.trucks"), unit="none"),
            h.override("driving_s", displayName=tr("col.driving"), unit="s"),
            h.override("off_route_alerts", displayName=tr("col.off_route_alerts")),
            h.override("off_route_s", displayName=tr("col.off_route_time"), unit="s"),
            h.rate_cell(
                "adherence", tr("col.adherence"), h.steps(h.WARN, (0.9, h.MINOR), (0.98, h.OK))
            ),
        ],
    )
    b.timeseries(
        "trucks",
        (12, 10),
        [
            h.sql_series(
                f"""
                SELECT $__timeGroupAlias(bucket, $__interval), district AS metric,
                  max(trucks_active) AS trucks_active
                FROM rollups_1m
                WHERE feed = 'fleet' AND $__timeFilter(bucket) AND {h.DISTRICT_FILTER}
                GROUP BY 1, 2
                ORDER BY 1
                """
            )
        ],
        unit="none",
        stacked=True,
        resolution=h.PER_MINUTE,
    )
    b.add(open_alerts_table(tr, "fleet.open_alerts", SLUG), (24, 9))
    return b.dashboard(
        templates=[h.district_var(tr), h.route_var(tr)],
        annotations=[alert_annotation(tr, SLUG)],
    )
