"""Unit tests of tests/fixtures/grafana_macros.py (Grafana's PostgreSQL macro expansion)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.fixtures.grafana_macros import MacroError, expand, format_interval, parse_interval

FROM = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
TO = datetime(2026, 11, 22, 11, 30, 15, tzinfo=UTC)


def test_time_filter_from_to() -> None:
    sql = "SELECT 1 FROM t WHERE $__timeFilter(ts) AND x < $__timeTo()::timestamptz"
    assert expand(sql, FROM, TO) == (
        "SELECT 1 FROM t WHERE ts BETWEEN '2026-11-22T10:00:00Z' AND '2026-11-22T11:30:15Z'"
        " AND x < '2026-11-22T11:30:15Z'::timestamptz"
    )
    assert expand("$__timeFrom()", FROM, TO) == "'2026-11-22T10:00:00Z'"


def test_time_group_uses_the_interval_variable() -> None:
    sql = "SELECT $__timeGroupAlias(a.bucket, $__interval), $__timeGroup(ts, '5m')"
    assert expand(sql, FROM, TO, interval=timedelta(seconds=30)) == (
        'SELECT floor(extract(epoch from a.bucket)/30)*30 AS "time",'
        " floor(extract(epoch from ts)/300)*300"
    )


def test_time_and_epoch_macros() -> None:
    assert expand("$__time(ts)", FROM, TO) == 'ts AS "time"'
    assert expand("$__timeEpoch(ts)", FROM, TO) == 'extract(epoch from ts) AS "time"'
    start, end = int(FROM.timestamp()), int(TO.timestamp())
    assert expand("$__unixEpochFilter(t)", FROM, TO) == f"t >= {start} AND t <= {end}"
    assert expand("$__unixEpochGroupAlias(t, 1h)", FROM, TO) == 'floor(t/3600)*3600 AS "time"'


def test_template_variable_formats() -> None:
    variables = {"district": ["市南区", "O'Brien"], "route": "R01"}
    assert expand("IN (${district:sqlstring})", FROM, TO, variables) == "IN ('市南区','O''Brien')"
    assert expand("IN ($district)", FROM, TO, variables) == "IN ('市南区','O''Brien')"
    assert expand("${district:csv}", FROM, TO, variables) == "市南区,O'Brien"
    assert expand("${district:doublequote}", FROM, TO, variables) == '"市南区","O\'Brien"'
    assert expand("r = '$route' OR r = [[route]]", FROM, TO, variables) == "r = 'R01' OR r = R01"
    assert expand("${route:sqlstring}", FROM, TO, variables) == "'R01'"


def test_builtin_variables() -> None:
    text = expand("$__interval $__interval_ms $__range $__range_s", FROM, TO)
    assert text == "1m 60000 5415s 5415"
    assert expand("$__range", FROM, FROM + timedelta(hours=6)) == "6h"
    assert expand("$__rate_interval", FROM, TO, interval=timedelta(seconds=15)) == "1m"


def test_unknown_variable_or_macro_fails() -> None:
    with pytest.raises(MacroError, match="unknown template variable"):
        expand("WHERE d IN ($nope)", FROM, TO)
    with pytest.raises(MacroError, match="unknown macro"):
        expand("$__nope(x)", FROM, TO)
    with pytest.raises(MacroError, match="no value"):
        expand("$district", FROM, TO, {"district": []})
    with pytest.raises(MacroError, match="timezone"):
        expand("SELECT 1", FROM.replace(tzinfo=None), TO)


def test_interval_round_trip() -> None:
    for text, seconds in (("30s", 30), ("1m", 60), ("2h", 7200), ("1d", 86400), ("250ms", 0.25)):
        assert parse_interval(text).total_seconds() == seconds
        assert format_interval(timedelta(seconds=seconds)) == text


def test_every_dashboard_query_expands_completely() -> None:
    from dashboards.queries import iter_sql_targets

    variables = {"district": ["a", "b"], "enterprise": ["e"], "route": ["r"]}
    queries = iter_sql_targets("en")
    assert {q.dashboard for q in queries} >= {"overview", "gas", "fleet", "alerts"}
    for query in queries:
        sql = expand(query.sql, FROM, TO, variables)
        assert "$" not in sql and "[[" not in sql, (query.dashboard, query.panel)
