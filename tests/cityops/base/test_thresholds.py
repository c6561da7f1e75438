"""The thresholds file: defaults as in DESIGN.md, overrides, and clear error messages."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from cityops.base.thresholds import Thresholds, ThresholdsError, load_thresholds
from tests.fixtures.events import gas
from tests.streams.rules.support import feed, make_engine


def test_defaults_are_the_design_numbers() -> None:
    t = load_thresholds(None)
    assert (t.gas.lel_major_pct, t.gas.lel_critical_pct, t.gas.lel_clear_pct) == (25, 50, 10)
    assert (t.gas.lel_clear_readings, t.gas.offline_s) == (3, 180)
    assert (t.streetlight.circuit_outage_ratio, t.streetlight.day_burning_s) == (0.5, 1800)
    assert (t.streetlight.lit_rate_min, t.streetlight.lit_rate_window_s) == (0.98, 600)
    assert (t.heating.indoor_min_c, t.heating.indoor_cold_s, t.heating.offline_s) == (18, 1800, 300)
    assert (t.heating.pressure_drop_mpa, t.heating.pressure_window_s) == (0.1, 300)
    assert (t.fleet.off_route_m, t.fleet.off_route_s, t.fleet.idle_s) == (300, 120, 600)
    assert t.fleet.speeding_kmh == 50


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rules.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_override_merges_over_the_defaults(tmp_path: Path) -> None:
    t = load_thresholds(write(tmp_path, "[gas]\nlel_major_pct = 20\n"))
    assert (t.gas.lel_major_pct, t.gas.lel_critical_pct, t.fleet.speeding_kmh) == (20, 50, 50)


def test_engine_uses_the_override() -> None:
    assert feed(make_engine({"gas": {"lel_major_pct": 20}}), [gas(0, lel_pct=22)]) != []
    assert feed(make_engine(), [gas(0, lel_pct=22)]) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[gas]\nlel_majr_pct = 20\n", ["gas.lel_majr_pct", "unknown key", "spelling"]),
        ("[gass]\nlel_major_pct = 20\n", ["gass", "unknown key"]),
        ('[fleet]\nspeeding_kmh = "fast"\n', ["fleet.speeding_kmh", "expected a number"]),
        ("[gas]\nlel_clear_readings = 2.5\n", ["gas.lel_clear_readings", "whole number"]),
        (
            "[gas]\nlel_clear_pct = 30\n",
            ["gas.lel_clear_pct (30", "lower than gas.lel_major_pct", "lower gas.lel_clear_pct"],
        ),
        (
            "[fleet]\nspeeding_clear_kmh = 50\n",
            ["fleet.speeding_clear_kmh", "must be lower than fleet.speeding_kmh"],
        ),
        ("[heating]\nindoor_cold_s = -60\n", ["heating.indoor_cold_s", "cannot be negative"]),
        ("[engine]\nallowed_lateness_s = -1\n", ["engine.allowed_lateness_s", "negative"]),
        ("[streetlight]\nlit_rate_min = 1.5\n", ["streetlight.lit_rate_min", "fix the value"]),
        ("[gas\n", ["not valid TOML"]),
        ("[heating]\nindoor_min_c = nan\n", ["heating.indoor_min_c"]),
        ("[fleet]\nspeeding_kmh = inf\n", ["fleet.speeding_kmh"]),
    ],
)
def test_invalid_overrides_name_the_key_and_the_fix(
    tmp_path: Path, text: str, expected: list[str]
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ThresholdsError) as info:
        load_thresholds(path)
    message = str(info.value)
    assert str(path) in message
    for part in expected:
        assert part in message


def test_missing_override_file_says_what_to_fix(tmp_path: Path) -> None:
    with pytest.raises(ThresholdsError, match="does not exist; fix CITYOPS_RULES_FILE"):
        load_thresholds(tmp_path / "nope.toml")


def test_a_section_with_ordered_keys_names_its_own_table() -> None:
    # the messages name a section by its class (GasThresholds -> gas): that must be the
    # table the section is read from, and every ordered key one of its fields
    for table, field in Thresholds.model_fields.items():
        section = field.annotation
        assert isinstance(section, type) and issubclass(section, BaseModel)
        ordered = getattr(section, "ORDERED", ())
        if ordered:
            assert section.table() == table  # type: ignore[attr-defined]
        for low, high in ordered:
            assert {low, high} <= set(section.model_fields)
