"""Query targets: raw SQL on the TimescaleDB datasource, PromQL on Prometheus."""

from __future__ import annotations

from typing import Any

import attr
from grafanalib.core import (
    SqlTarget,
    Target,
)

from dashboards.datasources import POSTGRES, PROMETHEUS
from dashboards.sqlparts import clean_sql


@attr.s
class CitySqlTarget(SqlTarget):
    """A raw-SQL target in code mode on the TimescaleDB datasource.

    `expects_rows` is metadata for the live-database test (does a simulated
    run fill this query?); it is not part of the dashboard JSON.
    """

    expects_rows: bool = attr.ib(default=True, kw_only=True)

    def to_json_data(self) -> dict[str, Any]:
        return {
            "datasource": POSTGRES,
            "editorMode": "code",
            "format": self.format,
            "hide": self.hide,
            "rawQuery": True,
            "rawSql": self.rawSql,
            "refId": self.refId,
        }


@attr.s
class PromTarget(Target):
    """A PromQL range query on the Prometheus datasource."""

    def to_json_data(self) -> dict[str, Any]:
        return {
            "datasource": PROMETHEUS,
            "editorMode": "code",
            "expr": self.expr,
            "instant": self.instant,
            "legendFormat": self.legendFormat,
            "range": not self.instant,
            "refId": self.refId,
        }


def sql(
    query: str, ref_id: str = "A", fmt: str = "table", *, expects_rows: bool = True
) -> CitySqlTarget:
    # mypy's attrs plugin cannot see the fields inherited from untyped grafanalib classes
    return CitySqlTarget(  # type: ignore[call-arg]
        rawSql=clean_sql(query), refId=ref_id, format=fmt, expects_rows=expects_rows
    )


def sql_series(query: str, ref_id: str = "A", *, expects_rows: bool = True) -> CitySqlTarget:
    """A time-series SQL target (columns `time`, optional `metric`, values)."""
    return sql(query, ref_id, "time_series", expects_rows=expects_rows)


def prom(expr: str, legend: str, ref_id: str = "A", *, instant: bool = False) -> PromTarget:
    return PromTarget(expr=expr, legendFormat=legend, refId=ref_id, instant=instant)  # type: ignore[call-arg]
