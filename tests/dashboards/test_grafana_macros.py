"""Unit tests of tests/fixtures/grafana_macros.py (Grafana's PostgreSQL macro expansion)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.fixtures.grafana_macros import (
    MacroError,
    expand,
    format_interval,
    grafana_interval,
    parse_interval,
)

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
    # The provisioned data source has `timescaledb: true`: Grafana sends time_bucket.
    assert expand(sql, FROM, TO, interval=timedelta(seconds=30)) == (
        "SELECT time_bucket('30.000s',a.bucket) AS \"time\", time_bucket('300.000s',ts)"
    )
    assert expand(sql, FROM, TO, interval=timedelta(seconds=30), timescaledb=False) == (
        'SELECT floor(extract(epoch from a.bucket)/30)*30 AS "time",'
        " floor(extract(epoch from ts)/300)*300"
    )


def test_default_six_hours_at_100_points_is_five_minute_buckets() -> None:
    """Issue 12: 6 h / 100 points = 216 s, which Grafana's ladder rounds to 5 m."""
    to = FROM + timedelta(hours=6)
    sql = "SELECT $__timeGroupAlias(bucket, $__interval), $__interval_ms"
    assert expand(sql, FROM, to) == "SELECT time_bucket('300.000s',bucket) AS \"time\", 300000"
    assert grafana_interval(FROM, to, 100) == timedelta(minutes=5)
    assert expand("$__interval", FROM, to) == "5m"


@pytest.mark.parametrize(
    ("span", "points", "min_interval", "expected"),
    [
        (timedelta(hours=6), 360, None, timedelta(minutes=1)),  # 60 s exactly
        (timedelta(hours=24), 100, None, timedelta(minutes=15)),  # 864 s -> 15m
        (timedelta(hours=24), 360, None, timedelta(minutes=5)),  # 240 s -> 5m
        (timedelta(minutes=30), 100, None, timedelta(minutes=1)),  # 18 s, data source 1m
        (timedelta(minutes=30), 100, "10s", timedelta(seconds=20)),  # panel 10s: 20s
        (timedelta(hours=1), 100, "5m", timedelta(minutes=5)),  # panel minimum wins
        (timedelta(days=30), 100, None, timedelta(hours=6)),  # 25920 s -> 6h
    ],
)
def test_interval_follows_grafanas_ladder(
    span: timedelta, points: int, min_interval: str | None, expected: timedelta
) -> None:
    assert grafana_interval(FROM, FROM + span, points, min_interval) == expected


def test_time_group_followed_by_a_comma_is_the_alias_form() -> None:
    # macros.go keeps pre-5.3 dashboards working: `$__timeGroup(...),` adds AS "time"
    sql = "SELECT $__timeGroup(ts, 1m), v FROM t GROUP BY $__timeGroup(ts, 1m)"
    assert expand(sql, FROM, TO) == (
        "SELECT time_bucket('60.000s',ts) AS \"time\", v FROM t"
        " GROUP BY time_bucket('60.000s',ts) AS \"time\""
    )
    assert expand("ORDER BY $__timeGroup(ts, 1m))", FROM, TO) == (
        "ORDER BY time_bucket('60.000s',ts))"
    )


def test_times_are_go_rfc3339_nano() -> None:
    half = FROM + timedelta(milliseconds=500)
    assert expand("$__timeFrom()", half, TO) == "'2026-11-22T10:00:00.5Z'"
    assert expand("$__unixEpochNanoFrom()", half, TO) == str(
        int(FROM.timestamp()) * 10**9 + 5 * 10**8
    )


def test_time_and_epoch_macros() -> None:
    assert expand("$__time(ts)", FROM, TO) == 'ts AS "time"'
    assert expand("$__timeEpoch(ts)", FROM, TO) == 'extract(epoch from ts) as "time"'
    start, end = int(FROM.timestamp()), int(TO.timestamp())
    assert expand("$__unixEpochFilter(t)", FROM, TO) == f"t >= {start} AND t <= {end}"
    assert expand("$__unixEpochFrom() $__unixEpochTo()", FROM, TO) == f"{start} {end}"
    assert expand("$__unixEpochGroupAlias(t, 1h)", FROM, TO) == 'floor((t)/3600)*3600 AS "time"'


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
    with pytest.raises(MacroError, match="unknown macro"):
        expand("$nope(x)", FROM, TO)  # Grafana's pattern takes any $name( as a macro
    with pytest.raises(MacroError, match="needs time column and interval"):
        expand("$__timeGroup(ts)", FROM, TO)
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
