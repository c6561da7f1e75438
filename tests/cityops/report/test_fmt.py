from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from cityops.report.fmt import Fmt


@pytest.mark.parametrize(
    ("lang", "value", "target", "text"),
    [
        ("zh", 0.9862, None, "98.6%"),
        ("en", 0.9862, None, "98.6 %"),
        ("zh", 0.97996, 0.98, "97.996%"),  # not "98.0%" beside "below the target"
        ("en", 0.98004, 0.98, "98.004 %"),
        ("zh", 0.98, 0.98, "98.0%"),
        ("zh", None, 0.98, "—"),
    ],
)
def test_percentages(lang: str, value: float | None, target: float | None, text: str) -> None:
    assert Fmt(lang).pct(value, target) == text  # type: ignore[arg-type]


def test_targets_counts_tonnes_and_temperatures() -> None:
    zh, en = Fmt("zh"), Fmt("en")
    assert zh.target_pct(0.98) == "98%" and en.target_pct(0.985) == "98.5 %"
    assert zh.count(57192) == "57192" and en.count(57192) == "57,192"
    assert zh.tonnes(84.0649) == "84.06" and en.tonnes(1234.5) == "1,234.50"
    assert en.tonnes(None) == "—"
    assert zh.celsius(18.0) == "18 °C" and en.celsius(18.5) == "18.5 °C"


@pytest.mark.parametrize(
    ("seconds", "zh", "en"),
    [(252, "4.2 分钟", "4.2 min"), (7140, "119.0 分钟", "119.0 min"), (9000, "2.5 小时", "2.5 h")],
)
def test_durations_in_minutes_then_hours(seconds: float, zh: str, en: str) -> None:
    assert Fmt("zh").duration(seconds) == zh
    assert Fmt("en").duration(seconds) == en
    assert Fmt("zh").duration(None) == "—"


def test_dates() -> None:
    at = datetime(2026, 11, 3, 14, 5, tzinfo=UTC)
    assert Fmt("zh").when(at) == "11月3日 14:05"
    assert Fmt("en").when(at) == "3 Nov 14:05"
    assert Fmt("zh").month(date(2026, 11, 1)) == "2026年11月"
    assert Fmt("en").month(date(2026, 1, 1)) == "January 2026"
    assert Fmt("en").day(date(2026, 12, 31)) == "31 Dec"


def test_figures_are_tagged_and_escaped() -> None:
    html = Fmt.fig("incident|a<b|summary", "<x>", "<x>")
    assert html == (
        '<span class="fig" data-key="incident|a&lt;b|summary" data-value="&lt;x&gt;">'
        "&lt;x&gt;</span>"
    )
    assert 'data-value="2026-11-01"' in Fmt.fig("month", date(2026, 11, 1), "x")
    assert 'data-value=""' in Fmt.fig("mtta_s|city", None, "—")
