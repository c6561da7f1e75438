"""Every figure the report may print, computed independently from the raw tables.

Not from the KPI views the report reads: from `rollups_1m`, `alerts` and
`alert_history` directly, with the definitions of docs/ARCHITECTURE.md written out
again, so a wrong view, a wrong merge of districts or a wrong weighting shows up as a
mismatch. Keys are the `data-key`s of the report (cityops/report/fmt.py `Fmt.fig`).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import psycopg

from cityops.base.thresholds import load_thresholds

KINDS = ("kitchen", "recyclable", "other", "hazardous")


def _scopes(district: str | None) -> str:
    return "(%(district)s::text IS NULL OR district = %(district)s)"


def expected_figures(
    conn: psycopg.Connection[Any], start: date, end: date, district: str | None
) -> dict[str, Any]:
    p = {"start": start, "end": end, "district": district}
    scope = _scopes(district)
    month = (
        "bucket >= %(start)s::timestamp AT TIME ZONE 'UTC' "
        "AND bucket < %(end)s::timestamp AT TIME ZONE 'UTC'"
    )
    out: dict[str, Any] = {}
    conn.execute("SET TIME ZONE 'UTC'")

    def q(sql: str) -> list[tuple[Any, ...]]:
        return conn.execute(sql, p).fetchall()

    # night lit rate: lights lit / lights expected lit, summed over the month's minutes
    by = "GROUPING SETS ((), (district))"
    for d, g, value in q(
        f"SELECT district, grouping(district), sum(lights_lit)::float8 / sum(lights_expected_lit)"
        f" FROM rollups_1m WHERE feed = 'streetlight' AND {month} AND {scope} GROUP BY {by}"
    ):
        out[f"lit_rate|{'city' if g else 'd:' + d}"] = value
    for day, value in q(
        "SELECT (bucket AT TIME ZONE 'UTC')::date,"
        " sum(lights_lit)::float8 / sum(lights_expected_lit)"
        f" FROM rollups_1m WHERE feed = 'streetlight' AND {month} AND {scope} GROUP BY 1"
    ):
        out[f"chart.lit_daily|{day.isoformat()}"] = value
    # online / warm: per hour the per-minute mean count, then summed over the hours
    for feed, key, part, whole in (
        ("gas", "online_rate", "detectors_online", "detectors_known"),
        ("heating", "warm_share", "stations_warm", "stations_reporting"),
    ):
        for d, g, value in q(
            f"SELECT district, grouping(district), sum(p) / sum(w) FROM ("
            f"  SELECT district, sum({part})::float8 / count(*) AS p,"
            f"         sum({whole})::float8 / count(*) AS w"
            f"  FROM rollups_1m WHERE feed = '{feed}' AND {month} AND {scope}"
            f"  GROUP BY district, date_trunc('hour', bucket)) AS h GROUP BY {by}"
        ):
            out[f"{key}|{'city' if g else 'd:' + d}"] = value
    for metric in ("lit_rate", "online_rate", "warm_share"):
        for k in [k for k in out if k.startswith(f"{metric}|d:")]:
            out[f"chart.districts|{metric}|{k.split('|d:')[1]}"] = out[k]
    # tonnes per day: the month's kg / 1000 over the days with collections
    loads = " + ".join(f"coalesce(load_{k}_kg, 0)" for k in KINDS)
    fleet = f"FROM rollups_1m WHERE feed = 'fleet' AND {month} AND {scope}"
    (row,) = q(
        "SELECT count(DISTINCT (bucket AT TIME ZONE 'UTC')::date), "
        + ", ".join(f"sum(load_{k}_kg) / 1000.0" for k in KINDS)
        + f" {fleet}"
    )
    for kind, tonnes in zip(KINDS, row[1:], strict=True):
        out[f"tonnes_per_day|city|{kind}"] = float(tonnes) / row[0] if row[0] else None
    for d, days, tonnes in q(
        f"SELECT district, count(DISTINCT (bucket AT TIME ZONE 'UTC')::date),"
        f" sum({loads}) / 1000.0 {fleet} GROUP BY district"
    ):
        out[f"tonnes_per_day|d:{d}|all"] = float(tonnes) / days
    (row,) = q(
        f"SELECT count(DISTINCT (bucket AT TIME ZONE 'UTC')::date), sum({loads}) / 1000.0 {fleet}"
    )
    out["tonnes_per_day|city|all"] = float(row[1]) / row[0] if row[0] else None
    for day, *tonnes in q(
        "SELECT (bucket AT TIME ZONE 'UTC')::date, "
        + ", ".join(f"sum(load_{k}_kg) / 1000.0" for k in KINDS)
        + f" {fleet} GROUP BY 1"
    ):
        for kind, t in zip(KINDS, tonnes, strict=True):
            out[f"chart.waste|{day.isoformat()}|{kind}"] = float(t)
    # alerts raised in the month: counts, closure, mean times (first ack, resolved_at)
    started = (
        "a.started_at >= %(start)s::timestamp AT TIME ZONE 'UTC' "
        "AND a.started_at < %(end)s::timestamp AT TIME ZONE 'UTC'"
    )
    for d, rule, gd, gr, total, resolved, mtta, mttr in q(
        "SELECT a.district, a.rule, grouping(a.district), grouping(a.rule), count(*),"
        " count(*) FILTER (WHERE a.state = 'resolved'),"
        " avg(extract(EPOCH FROM h.acked - a.started_at)),"
        " avg(extract(EPOCH FROM a.resolved_at - a.started_at)) FILTER (WHERE a.state = 'resolved')"
        " FROM alerts AS a LEFT JOIN LATERAL (SELECT min(updated_at) AS acked FROM alert_history"
        "   WHERE alert_id = a.alert_id AND state = 'acknowledged') AS h ON true"
        f" WHERE {started} AND (%(district)s::text IS NULL OR a.district = %(district)s)"
        " GROUP BY GROUPING SETS ((), (a.district), (a.rule))"
    ):
        tag = "city" if gd and gr else f"d:{d}" if not gd else f"r:{rule}"
        out[f"alerts_total|{tag}"] = total
        out[f"alerts_resolved|{tag}"] = resolved
        out[f"closure_rate|{tag}"] = resolved / total
        out[f"mtta_s|{tag}"] = None if mtta is None else float(mtta)
        out[f"mttr_s|{tag}"] = None if mttr is None else float(mttr)
        if tag.startswith("r:"):
            out[f"chart.rules|total|{rule}"] = total
            out[f"chart.rules|resolved|{rule}"] = resolved
    # major incidents and their timelines
    (row,) = q(
        f"SELECT count(*) FROM alerts AS a WHERE {started} AND severity IN ('critical', 'major')"
        " AND (%(district)s::text IS NULL OR a.district = %(district)s)"
    )
    out["incidents_total"] = row[0]
    for alert_id, entity, summary in q(
        f"SELECT alert_id, entity_id, summary FROM alerts AS a WHERE {started}"
        " AND severity IN ('critical', 'major')"
        " AND (%(district)s::text IS NULL OR a.district = %(district)s)"
    ):
        out[f"incident|{alert_id}|entity"] = entity
        out[f"incident|{alert_id}|summary"] = summary
        times = conn.execute(
            "SELECT updated_at FROM alert_history WHERE alert_id = %s ORDER BY updated_at",
            (alert_id,),
        ).fetchall()
        for i, (at,) in enumerate(times):
            out[f"incident|{alert_id}|step|{i}"] = at
    thresholds = load_thresholds()
    out["lit_target"] = thresholds.streetlight.lit_rate_min
    out["warm_min_c"] = thresholds.heating.indoor_min_c
    out["month"] = start
    out["doc_no"] = start
    return out
