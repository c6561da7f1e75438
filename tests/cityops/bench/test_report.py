"""Figures the bench report derives (no stack)."""

from __future__ import annotations

from cityops.bench.report import cpu_per_event


def test_cpu_per_event_divides_each_process_by_the_events_sent() -> None:
    run = {
        "events_sent": 200_000,
        "processes": {"worker": {"cpu_s": 5.0, "peak_rss_mib": 1}, "sink": {"cpu_s": 1.6}},
    }
    assert cpu_per_event(run) == {"worker": 25.0, "sink": 8.0}
    assert cpu_per_event({"events_sent": 0, "processes": {}}) == {}
