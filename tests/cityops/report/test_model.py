from __future__ import annotations

from datetime import date

from cityops.report.model import AlertStats, MonthData, Share, Waste


def month(**kw: object) -> MonthData:
    base: dict[str, object] = {
        "month": date(2026, 11, 1),
        "district": None,
        "lit_target": 0.98,
        "warm_min_c": 18.0,
        "lit": {},
        "lit_daily": {},
        "online": {},
        "warm": {},
        "waste_daily": {},
        "waste": {},
        "alerts": {},
        "incidents_total": 0,
    }
    base.update(kw)
    return MonthData(**base)  # type: ignore[arg-type]


def test_rates_are_ratios_of_sums_not_means_of_rates() -> None:
    data = month(lit={"a": Share(99, 100), "b": Share(900, 1000)})
    # mean of the rates would be 0.945; 999 of 1100 lights were lit
    assert data.city_lit.value == 999 / 1100
    assert data.below_target() == [("b", 0.9)]
    assert Share().value is None


def test_mean_times_are_weighted_by_the_alerts_behind_them() -> None:
    a = AlertStats.from_means(10, 8, 4, 60.0, 600.0)
    b = AlertStats.from_means(2, 1, 1, 300.0, None)
    merged = a + b
    assert (merged.total, merged.resolved, merged.acknowledged) == (12, 9, 5)
    assert merged.mtta_s == (4 * 60 + 300) / 5
    assert merged.mttr_s == 8 * 600 / 9
    assert merged.closure_rate == 9 / 12
    assert AlertStats().closure_rate is None and AlertStats().mtta_s is None


def test_district_and_rule_views_of_the_alerts() -> None:
    data = month(
        alerts={
            ("a", "gas.lel_high"): AlertStats(3, 3, 3, 30.0, 300.0),
            ("b", "gas.lel_high"): AlertStats(1, 0, 0, 0.0, 0.0),
            ("b", "fleet.idle"): AlertStats(2, 1, 1, 10.0, 100.0),
        }
    )
    assert data.rules == ["fleet.idle", "gas.lel_high"]
    assert data.districts == ["a", "b"]
    assert data.rule_alerts("gas.lel_high").total == 4
    assert data.district_alerts("b").resolved == 1
    assert data.city_alerts.total == 6
    assert not data.empty and month().empty


def test_waste_per_day_over_days_with_collections() -> None:
    data = month(
        waste_daily={
            date(2026, 11, 1): {"kitchen": 80.0, "other": 200.0},
            date(2026, 11, 2): {"kitchen": 90.0},
        }
    )
    city = data.city_waste
    assert city.days == 2
    assert city.per_day("kitchen") == 85.0
    assert city.per_day("hazardous") == 0.0
    assert city.per_day() == 185.0
    assert Waste({}, 0).per_day() is None
