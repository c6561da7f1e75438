"""Read one month of KPIs from the database's KPI views, as the read-only role.

The only I/O of the report besides writing files. Every query is parameterised
(month bounds, optional district) and runs in a READ ONLY transaction under
`SET LOCAL ROLE cityops_grafana`, the role the dashboards use, so the report can read
exactly what Grafana can and write nothing. Months and days are UTC, as in the views.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

import psycopg

from cityops.report.model import (
    INCIDENT_SEVERITIES,
    AlertStats,
    Incident,
    MonthData,
    Share,
    Step,
    Waste,
)
from sinks.migrate import as_grafana
from streams.windows.common import WARM_INDOOR_C

#: `district` is NULL for the whole city.
_IN_SCOPE = "(%(district)s::text IS NULL OR district = %(district)s)"

LIT = f"""
SELECT district, sum(lights_lit), sum(lights_expected_lit), max(target)
FROM kpi_night_lit_rate
WHERE day >= %(start)s AND day < %(end)s AND {_IN_SCOPE}
GROUP BY district"""

LIT_DAILY = f"""
SELECT day, sum(lights_lit), sum(lights_expected_lit)
FROM kpi_night_lit_rate
WHERE day >= %(start)s AND day < %(end)s AND {_IN_SCOPE}
GROUP BY day"""


def _hourly_share(view: str, part: str, whole: str) -> str:
    """Per district, the month's sums of an hourly KPI view's `part` and `whole` counts."""
    # Hour buckets are timestamptz: compare against the month's bounds at UTC midnight.
    return f"""
SELECT district, sum({part}), sum({whole})
FROM {view}
WHERE bucket >= %(start)s::timestamp AT TIME ZONE 'UTC'
  AND bucket < %(end)s::timestamp AT TIME ZONE 'UTC' AND {_IN_SCOPE}
GROUP BY district"""


ONLINE = _hourly_share("kpi_detector_online_rate", "detectors_online", "detectors_known")
WARM = _hourly_share("kpi_heating_compliance", "stations_warm", "stations_reporting")

WASTE_DAILY = f"""
SELECT day, waste_kind, sum(tonnes)
FROM kpi_waste_tonnes_daily
WHERE day >= %(start)s AND day < %(end)s AND {_IN_SCOPE}
GROUP BY day, waste_kind"""

WASTE_DISTRICT = f"""
SELECT district, waste_kind, sum(tonnes), count(DISTINCT day)
FROM kpi_waste_tonnes_daily
WHERE day >= %(start)s AND day < %(end)s AND {_IN_SCOPE}
GROUP BY district, waste_kind"""

ALERTS = f"""
SELECT district, rule, alerts_total, alerts_resolved, alerts_acknowledged,
       mean_time_to_ack_s, mean_time_to_resolve_s
FROM kpi_alert_response_monthly
WHERE month = %(start)s AND {_IN_SCOPE}"""

_INCIDENT_WHERE = f"""
WHERE started_at >= %(start)s::timestamp AT TIME ZONE 'UTC'
  AND started_at < %(end)s::timestamp AT TIME ZONE 'UTC'
  AND severity = ANY(%(severities)s) AND {_IN_SCOPE}"""

INCIDENTS_TOTAL = f"SELECT count(*) FROM alerts {_INCIDENT_WHERE}"

# Critical before major, then the earliest; the timeline is the alert's history.
INCIDENTS = f"""
SELECT alert_id, rule, severity, district, entity_id, summary, started_at
FROM alerts {_INCIDENT_WHERE}
ORDER BY array_position(%(severities)s, severity), started_at, alert_id
LIMIT %(limit)s"""

TIMELINES = """
SELECT alert_id, state, updated_at
FROM alert_history
WHERE alert_id = ANY(%(ids)s)
ORDER BY alert_id, updated_at, array_position(ARRAY['firing', 'acknowledged', 'resolved'], state)"""


def _share(part: Any, whole: Any) -> Share:
    return Share(float(part or 0), float(whole or 0))


def month_bounds(month: date) -> tuple[date, date]:
    start = month.replace(day=1)
    end = date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return start, end


def fetch(
    conn: psycopg.Connection[Any], month: date, district: str | None, incidents: int = 8
) -> MonthData:
    """The month's figures for the city (district None) or one district."""
    start, end = month_bounds(month)
    params: dict[str, Any] = {
        "start": start,
        "end": end,
        "district": district,
        "severities": list(INCIDENT_SEVERITIES),
        "limit": incidents,
    }
    with as_grafana(conn):
        conn.execute("SET LOCAL TIME ZONE 'UTC'")  # incident times are printed in UTC

        def rows(query: str, extra: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
            return conn.execute(query, {**params, **(extra or {})}).fetchall()

        lit_rows = rows(LIT)
        targets = {float(t) for *_, t in lit_rows if t is not None}
        waste_daily: dict[date, dict[str, float]] = defaultdict(dict)
        for day, kind, tonnes in rows(WASTE_DAILY):
            waste_daily[day][kind] = float(tonnes)
        waste_tonnes: dict[str, dict[str, float]] = defaultdict(dict)
        waste_days: dict[str, int] = defaultdict(int)
        for d, kind, tonnes, days in rows(WASTE_DISTRICT):
            waste_tonnes[d][kind] = float(tonnes)
            waste_days[d] = max(waste_days[d], int(days))
        found = rows(INCIDENTS)
        steps: dict[str, list[Step]] = defaultdict(list)
        for alert_id, state, at in rows(TIMELINES, {"ids": [r[0] for r in found]}):
            steps[alert_id].append(Step(state, at))
        return MonthData(
            month=start,
            district=district,
            lit_target=max(targets) if targets else None,
            warm_min_c=WARM_INDOOR_C,
            lit={d: _share(p, w) for d, p, w, _ in lit_rows},
            lit_daily={day: _share(p, w) for day, p, w in rows(LIT_DAILY)},
            online={d: _share(p, w) for d, p, w in rows(ONLINE) if w},
            warm={d: _share(p, w) for d, p, w in rows(WARM) if w},
            waste_daily=dict(waste_daily),
            waste={d: Waste(waste_tonnes[d], waste_days[d]) for d in waste_tonnes},
            alerts={
                (d, rule): AlertStats.from_means(int(n), int(res), int(ack), mtta, mttr)
                for d, rule, n, res, ack, mtta, mttr in rows(ALERTS)
            },
            incidents_total=int(rows(INCIDENTS_TOTAL)[0][0]),
            incidents=tuple(
                Incident(aid, rule, sev, d, entity, summary, started, tuple(steps[aid]))
                for aid, rule, sev, d, entity, summary, started in found
            ),
        )
