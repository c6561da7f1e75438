"""The monthly report rendered from PostgreSQL, every printed figure checked against SQL.

A month of roll-ups and alert lifecycles goes through the real migrations and the
sink's writer (tests/fixtures/report_month.py); the report reads the KPI views as the
read-only role, and each figure it prints (text and chart marks) is compared with
independent SQL over the raw tables (expected.py). Nothing printed escapes the check:
digits outside tagged figures fail the test.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime
from typing import Any

import psycopg
import pytest

from cityops.report.fmt import LANGS, Lang
from cityops.report.queries import fetch, month_bounds
from cityops.report.render import MAX_INCIDENTS, render
from tests.cityops.report.expected import expected_figures
from tests.cityops.report.figures import Printed, number_and_half_unit, read
from tests.fixtures.report_month import MONTH, write_month

pytestmark = pytest.mark.integration

TODAY = date(2026, 12, 1)
START, END = month_bounds(MONTH.date())
RATES = ("lit_rate", "online_rate", "warm_share", "closure_rate", "lit_target")
COUNTS = ("alerts_total", "alerts_resolved", "incidents_total", "incidents_unlisted")
MONTHS_EN = ["", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov"]


@pytest.fixture
def month_db(database_url: str) -> str:
    write_month(database_url)
    return database_url


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def check_figure(key: str, raw: str, text: str, want: Any, lang: Lang) -> None:
    kind = key.split("|")[0]
    where = f"{key}: printed {text!r} (value {raw!r}), expected {want!r}"
    if want is None:
        assert raw == "" and text == "—", where
        return
    if kind in RATES or kind == "tonnes_per_day":
        assert _close(float(raw), want), where
        number, half = number_and_half_unit(text)
        scale = 100 if kind in RATES else 1
        assert abs(number - want * scale) <= half + 1e-9, where
        if kind in RATES:
            assert text.endswith(" %" if lang == "en" else "%") and (lang == "en") == (
                " %" in text
            ), where
    elif kind in ("mtta_s", "mttr_s"):
        assert _close(float(raw), want), where
        number, half = number_and_half_unit(text)
        unit = {"min": 60, "分钟": 60, "h": 3600, "小时": 3600}[text.split()[-1]]
        assert abs(number * unit - want) <= half * unit + 1e-6, where
    elif kind in COUNTS:
        assert int(raw) == want and int(text.replace(",", "")) == want, where
    elif kind == "incident" and key.split("|")[2] == "step":
        at = want.astimezone(UTC)
        assert raw == at.isoformat(), where
        if lang == "zh":
            assert text == f"{at.month}月{at.day}日 {at:%H:%M}", where
        else:
            assert text == f"{at.day} {MONTHS_EN[at.month]} {at:%H:%M}", where
    elif kind == "incident":
        assert raw == want and text == want, where
    elif kind == "month":
        assert raw == want.isoformat(), where
        assert text == ("2026年11月" if lang == "zh" else "November 2026"), where
    elif kind == "doc_no":
        assert text == ("城运月报〔2026〕11号" if lang == "zh" else "Monthly report 2026/11"), where
    elif kind == "warm_min_c":
        assert _close(float(raw), want) and text == f"{want:g} °C", where
    elif kind == "generated_on":
        assert raw == want.isoformat() and text == want.isoformat(), where
    else:
        raise AssertionError(f"unchecked figure {where}")


def listed_incidents(conn: psycopg.Connection[Any], district: str | None) -> list[str]:
    """Critical before major, then the earliest: the order the report promises."""
    rows = conn.execute(
        "SELECT alert_id FROM alerts WHERE started_at >= %(s)s AND started_at < %(e)s"
        " AND severity IN ('critical', 'major') AND (%(d)s::text IS NULL OR district = %(d)s)"
        " ORDER BY CASE severity WHEN 'critical' THEN 0 ELSE 1 END, started_at, alert_id",
        {
            "s": datetime.combine(START, datetime.min.time(), UTC),
            "e": datetime.combine(END, datetime.min.time(), UTC),
            "d": district,
        },
    ).fetchall()
    return [r[0] for r in rows]


def render_month(url: str, lang: Lang, district: str | None, **connect: Any) -> str:
    with psycopg.connect(url, **connect) as conn:
        data = fetch(conn, MONTH.date(), district, incidents=MAX_INCIDENTS)
    assert not data.empty
    return render(data, lang, TODAY)


def check_report(url: str, lang: Lang, district: str | None, **connect: Any) -> None:
    """Render the month and check every figure and chart mark against independent SQL."""
    printed = read(render_month(url, lang, district, **connect))
    with psycopg.connect(url, **connect) as conn:
        want = expected_figures(conn, START, END, district)
        order = listed_incidents(conn, district)
    want["generated_on"] = TODAY
    want["incidents_unlisted"] = want["incidents_total"] - min(MAX_INCIDENTS, len(order))

    assert len(printed.figures) > 100
    for key, raw, text in printed.figures:
        assert key in want, f"printed figure {key}={text!r} has no independent check"
        check_figure(key, raw, text, want[key], lang)
    for key, raw in printed.marks:
        assert key in want, f"chart mark {key} has no independent check"
        assert _close(float(raw), want[key]), f"chart mark {key}: {raw} != {want[key]}"

    # Nothing of the month is left out: every district, rule, day and kind is shown.
    shown = {k for k, _, _ in printed.figures} | {k for k, _ in printed.marks}
    required = {
        k
        for k in want
        if not k.startswith(("incident|", "alerts_resolved|d:"))
        and not (k == "incidents_unlisted" and want[k] == 0)
    }
    assert required - shown == set()
    # The listed incidents are the first by severity and time, with full timelines.
    listed = [k.split("|")[1] for k, _, _ in printed.figures if k.endswith("|entity")]
    assert listed == order[:MAX_INCIDENTS] and listed
    for alert_id in listed:
        steps = {k for k in want if k.startswith(f"incident|{alert_id}|step|")}
        assert steps and steps <= shown

    _no_unchecked_digits(printed)
    _self_contained(printed)


@pytest.mark.parametrize("district", [None, "崂山区"], ids=["city", "district"])
@pytest.mark.parametrize("lang", LANGS)
def test_every_figure_matches_independent_sql(
    month_db: str, lang: Lang, district: str | None
) -> None:
    check_report(month_db, lang, district)


@pytest.mark.slow
def test_every_figure_matches_on_timescaledb(timescale_url: str) -> None:
    """The same month on TimescaleDB, where the KPI views read continuous aggregates."""
    # PGlite is one backend behind every connection: no server-side prepared statements
    write_month(timescale_url, "insert", prepare_threshold=None)
    check_report(timescale_url, "zh", None, prepare_threshold=None)


def _no_unchecked_digits(printed: Printed) -> None:
    loose = "".join(printed.loose_text)
    assert not re.search(r"\d", loose), re.findall(r".{0,30}\d.{0,30}", loose)[:5]


def _self_contained(printed: Printed) -> None:
    assert printed.links == [], "the report must not load or link anything"
    assert not printed.tags & {"script", "link", "img", "iframe", "object"}
    assert "svg" in printed.tags


def test_sentences_say_above_or_below_target_as_the_figures_do(month_db: str) -> None:
    html = render_month(month_db, "zh", None)
    with psycopg.connect(month_db) as conn:
        want = expected_figures(conn, START, END, None)
    city, target = want["lit_rate|city"], want["lit_target"]
    verb = "高于" if city > target else "低于"
    assert re.search(rf'data-key="lit_rate\|city"[^>]*>[^<]*</span>，{verb}', html)
    below = sorted(
        (v, k.split("|d:")[1])
        for k, v in want.items()
        if k.startswith("lit_rate|d:") and v < target
    )
    assert [d for _, d in below] == ["崂山区"]  # the fixture's one district below target
    issues = html.split('id="issues"')[1]
    assert 'data-key="lit_rate|d:崂山区"' in issues and "需重点排查" in issues

    en = render_month(month_db, "en", None)
    assert re.search(
        rf'night lit rate was <span class="fig" data-key="lit_rate\|city"[^>]*>[^<]*</span>, '
        rf"{'above' if city > target else 'below'} the",
        en,
    )
