"""SQL fragments shared by the dashboards (Grafana PostgreSQL macros)."""

from __future__ import annotations

from dashboards.style import SEVERITIES

DISTRICT_FILTER = "district IN (${district:sqlstring})"
ENTERPRISE_FILTER = "enterprise_id IN (${enterprise:sqlstring})"
ROUTE_FILTER = "route_id IN (${route:sqlstring})"
TIME_TO = "$__timeTo()::timestamptz"
TIME_FROM = "$__timeFrom()::timestamptz"


#: The night lit rate of streetlight roll-ups (lit over expected lit), as `lit_rate`.
LIT_RATE = "sum(lights_lit)::float8 / NULLIF(sum(lights_expected_lit), 0) AS lit_rate"


def rollup_series(feed: str, value: str, *, by_district: bool = False, where: str = "") -> str:
    """`value` (`<expression> AS <name>`) of `feed`'s minute roll-ups per time bucket over
    the dashboard's range and districts; one series per district with `by_district`;
    `where`: a further condition on the roll-up rows."""
    metric = " district AS metric," if by_district else ""
    rows = f"feed = '{feed}' AND {where}\n  AND " if where else f"feed = '{feed}' AND "
    return f"""
        SELECT $__timeGroupAlias(bucket, $__interval),{metric}
          {value}
        FROM rollups_1m
        WHERE {rows}$__timeFilter(bucket) AND {DISTRICT_FILTER}
        GROUP BY {"1, 2" if by_district else "1"}
        ORDER BY 1
        """


def kpi_series(view: str, column: str) -> str:
    """`column` of an hourly KPI view, one series per district, over the dashboard's range."""
    return f"""
        SELECT bucket AS "time", district AS metric, {column}
        FROM {view}
        WHERE {hour_range("bucket")} AND {DISTRICT_FILTER}
        ORDER BY 1
        """


def district_filter(alias: str = "") -> str:
    """`district IN ($district)`, optionally qualified with a table alias."""
    return f"{alias}.{DISTRICT_FILTER}" if alias else DISTRICT_FILTER


def hour_range(col: str) -> str:
    """Hourly KPI buckets overlapping the dashboard range (the first one starts before it)."""
    return f"{col} >= date_trunc('hour', {TIME_FROM}) AND {col} < {TIME_TO}"


def day_range(col: str) -> str:
    """Daily KPI rows (UTC days, like the views) overlapping the dashboard range."""
    return (
        f"{col} >= ({TIME_FROM} AT TIME ZONE 'UTC')::date"
        f" AND {col} <= ({TIME_TO} AT TIME ZONE 'UTC')::date"
    )


def sql_literal(text: str) -> str:
    """A SQL string literal (legends are text, translated, in the query)."""
    return "'" + text.replace("'", "''") + "'"


def label_case(column: str, labels: dict[str, str]) -> str:
    """`CASE column WHEN 'x' THEN 'label' ... ELSE column END` for translated legends."""
    whens = " ".join(f"WHEN {sql_literal(k)} THEN {sql_literal(v)}" for k, v in labels.items())
    return f"CASE {column} {whens} ELSE {column} END"


def severity_rank_sql(column: str = "severity") -> str:
    """1 for critical .. 5 for info, to sort the most urgent first."""
    whens = " ".join(f"WHEN '{s}' THEN {i}" for i, s in enumerate(SEVERITIES, start=1))
    return f"CASE {column} {whens} ELSE 9 END"


def clean_sql(sql: str) -> str:
    """Strip the indentation of triple-quoted SQL so the JSON stays readable."""
    lines = [line.strip() for line in sql.strip().splitlines()]
    return "\n".join(line for line in lines if line)
