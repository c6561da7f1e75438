"""`cityops bench drain|failover|bench --runtime`: the options and the ratios (pure).

The drain itself runs workers over a broker (tens of seconds per runtime), so it is
measured by hand (docs/benchmarks.md, "Faust runtime"), not run here.
"""

from __future__ import annotations

from typing import Any

import pytest

from cityops.bench.drain import drain_ratios
from cityops.bench.options import RUNTIMES
from cityops.cli import build_parser


def test_runtimes_are_the_worker_settings_choices() -> None:
    assert set(RUNTIMES) == {"direct", "faust"}


def test_runtime_options_parse() -> None:
    parser = build_parser()
    drain = parser.parse_args(
        ["bench", "drain", "--runtime", "direct", "faust", "--workers", "1", "2"]
    )
    assert drain.drain_runtimes == ["direct", "faust"] and drain.workers == [1, 2]
    assert parser.parse_args(["bench", "drain"]).drain_runtimes is None  # the setting's
    failover = parser.parse_args(["bench", "failover", "--runtime", "faust"])
    assert failover.failover_runtime == "faust"
    assert parser.parse_args(["bench", "--runtime", "faust"]).runtime == "faust"
    assert parser.parse_args(["bench"]).runtime is None


@pytest.mark.parametrize(
    "argv",
    [
        ["bench", "--runtime", "flink"],
        ["bench", "drain", "--runtime", "direct", "flink"],
        ["bench", "failover", "--runtime", "Faust"],
    ],
)
def test_unknown_runtime_fails_naming_the_choices(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "--runtime: invalid choice" in err and "faust" in err and "direct" in err


def test_zero_workers_is_refused_before_anything_starts() -> None:
    args = build_parser().parse_args(["bench", "drain", "--workers", "0", "1"])
    with pytest.raises(SystemExit, match="--workers must be at least 1"):
        args.handler(args)


def _run(runtime: str, workers: int, rate: float, cpu: float) -> dict[str, Any]:
    return {
        "runtime": runtime,
        "workers": workers,
        "events_per_s": rate,
        "cpu_us_per_event": cpu,
    }


def test_ratios_faust_over_direct_and_workers_over_one() -> None:
    runs = [
        _run("direct", 1, 20_000.0, 20.0),
        _run("faust", 1, 2_000.0, 200.0),
        _run("direct", 2, 30_000.0, 25.0),
        _run("faust", 2, 3_000.0, 250.0),
    ]
    assert drain_ratios(runs) == {
        "faust_to_direct_events_per_s_w1": 0.1,
        "faust_to_direct_cpu_us_per_event_w1": 10.0,
        "faust_to_direct_events_per_s_w2": 0.1,
        "faust_to_direct_cpu_us_per_event_w2": 10.0,
        "direct_w2_to_w1_events_per_s": 1.5,
        "faust_w2_to_w1_events_per_s": 1.5,
    }


def test_ratios_need_both_sides() -> None:
    assert drain_ratios([_run("faust", 2, 3_000.0, 250.0)]) == {}
