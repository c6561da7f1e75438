"""Scenario files without a broker: parsing, start resolution, determinism, the diff."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sensors_sim.incidents import KINDS
from sensors_sim.scenario import (
    ExpectedAlertSpec,
    ScenarioError,
    load_scenario,
    parse_duration,
    resolve,
    resolve_start,
    shipped,
)
from sensors_sim.scenario_check import check
from streams.models import Alert

NOW = datetime(2026, 11, 22, 21, 47, 31, 250000, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [(90, 90.0), ("90s", 90.0), ("10m", 600.0), ("1h30m", 5400.0), ("2d", 172800.0)],
)
def test_parse_duration(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["", "10 minutes", "m10", "1x"])
def test_parse_duration_rejects(bad: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(bad)


def test_relative_start_is_rounded_down_to_the_minute() -> None:
    assert resolve_start("-3h", 600, "Asia/Shanghai", NOW) == datetime(
        2026, 11, 22, 18, 47, tzinfo=UTC
    )


def test_local_anchor_is_the_latest_time_the_run_fits_before_now() -> None:
    # 21:47 UTC = 05:47 in Shanghai: 22:00 local yesterday is 14:00 UTC today
    assert resolve_start("@22:00", 1800, "Asia/Shanghai", NOW) == datetime(
        2026, 11, 22, 14, 0, tzinfo=UTC
    )
    # a run of 30 min from 05:30 local would end after now: the day before
    assert resolve_start("@05:30", 1800, "Asia/Shanghai", NOW) == datetime(
        2026, 11, 21, 21, 30, tzinfo=UTC
    )


def test_absolute_start_needs_a_timezone() -> None:
    assert resolve_start("2026-11-20T14:00:00Z", 60, "UTC") == datetime(
        2026, 11, 20, 14, tzinfo=UTC
    )
    with pytest.raises(ValueError, match="no timezone"):
        resolve_start("2026-11-20T14:00:00", 60, "UTC")


def _digest(name: str, now: datetime) -> str:
    h = hashlib.sha256()
    for event in resolve(load_scenario(name), now).events():
        h.update(event.topic.encode() + b"\0" + event.key + b"\0" + event.value + b"\n")
    return h.hexdigest()


def test_same_scenario_and_resolved_start_give_byte_identical_streams() -> None:
    assert _digest("gas_leak", NOW) == _digest("gas_leak.yaml", NOW + timedelta(seconds=20))
    assert _digest("gas_leak", NOW) != _digest("gas_leak", NOW + timedelta(minutes=1))


def test_shipped_scenarios_load_use_relative_starts_and_cover_every_incident() -> None:
    names = shipped()
    assert len(names) >= 10
    kinds = set()
    for name in names:
        scenario = load_scenario(name)
        assert scenario.start.startswith(("-", "@")), f"{name}: a fixed start goes stale"
        assert scenario.duration <= 3600, f"{name}: keep scenarios short"
        kinds |= {i.kind for i in scenario.incident_specs()}
    assert kinds >= set(KINDS), f"no scenario for {sorted(set(KINDS) - kinds)}"
    assert {"calm_night.yaml", "storm_cabinet.yaml", "cold_snap_district.yaml"} <= set(names)


def test_a_bad_incident_is_reported_with_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "start: '-1h'\nduration: 10m\nincidents:\n  - {type: gas_leak, entity: NOPE!}\n"
    )
    with pytest.raises(ScenarioError, match="bad: incident 1"):
        load_scenario(path)


def _alert(rule: str, entity: str, severity: str, state: str, minute: int) -> Alert:
    at = datetime(2026, 11, 22, 10, minute, tzinfo=UTC)
    return Alert(
        alert_id=f"{rule}:{entity}:0",
        rule=rule,
        severity=severity,  # type: ignore[arg-type]
        state=state,  # type: ignore[arg-type]
        entity_type="detector",
        entity_id=entity,
        district="centre",
        lat=None,
        lon=None,
        started_at=datetime(2026, 11, 22, 10, 5, tzinfo=UTC),
        updated_at=at,
        resolved_at=at if state == "resolved" else None,
        value=None,
        threshold=None,
        summary="",
        runbook="",
    )


def test_check_reports_missing_differing_and_unexpected_alerts() -> None:
    start = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
    expected = [
        ExpectedAlertSpec(rule="gas.lel_high", entity="GD-1", severity=("major", "critical")),
        ExpectedAlertSpec(rule="gas.detector_fault", entity="GD-2", severity=("warning",)),
        ExpectedAlertSpec(rule="fleet.idle", entity="TR-1", severity=("info",), within=(0.0, 60.0)),
    ]
    alerts = [
        _alert("gas.lel_high", "GD-1", "major", "firing", 6),
        _alert("gas.lel_high", "GD-1", "major", "firing", 6),  # a re-delivery: ignored
        _alert("gas.lel_high", "GD-1", "major", "resolved", 9),
        _alert("fleet.idle", "TR-1", "info", "firing", 6),
        _alert("fleet.speeding", "TR-9", "warning", "firing", 7),
    ]
    report = check("demo", start, expected, alerts)
    assert not report.ok
    assert {(d.kind, d.rule) for d in report.differences} == {
        ("differs", "gas.lel_high"),
        ("missing", "gas.detector_fault"),
        ("differs", "fleet.idle"),
        ("unexpected", "fleet.speeding"),
    }
    text = report.format()
    assert "FAILED (1 missing, 2 differs, 1 unexpected; 0 matched)" in text
    assert "expected: major>critical firing>resolved" in text
    assert "actual:   major firing>resolved  (severity)" in text
    assert "outside the window" in text
    assert "+ fleet.speeding" in text


def test_check_passes_when_alerts_match() -> None:
    start = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
    alerts = [
        _alert("gas.lel_high", "GD-1", "major", "firing", 6),
        _alert("gas.lel_high", "GD-1", "critical", "firing", 7),
        _alert("gas.lel_high", "GD-1", "critical", "resolved", 9),
    ]
    spec = ExpectedAlertSpec(
        rule="gas.lel_high", entity="GD-1", severity=("major", "critical"), within=(240.0, 360.0)
    )
    report = check("demo", start, [spec], alerts)
    assert report.ok, report.format()
