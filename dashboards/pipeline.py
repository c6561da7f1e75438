"""Pipeline health (Prometheus): throughput, dead letters, latency, sink rate, consumer lag.

Metric names come from `cityops/base/metrics.py`.
"""

from __future__ import annotations

from typing import Any

from grafanalib.core import Dashboard, Target

from dashboards import helpers as h
from dashboards.i18n import Lang, Tr

SLUG = "pipeline"
RATE = "$__rate_interval"
#: Consumer lag (messages): orange from 10k, red from 100k.
LAG_STEPS = h.steps(h.OK, (10_000, h.WARN), (100_000, h.ACTION))
#: Latency (seconds): orange from 5 s, red from a minute.
LATENCY_STEPS = h.steps(h.OK, (5, h.WARN), (60, h.ACTION))
QUANTILES: tuple[tuple[str, float], ...] = (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))


def _quantile(metric: str, q: float, by: str = "") -> str:
    labels = f"le, {by}" if by else "le"
    return f"histogram_quantile({q}, sum by ({labels}) (rate({metric}_bucket[{RATE}])))"


def _quantiles(tr: Tr, metric: str, count: int) -> list[Target]:
    """The first `count` of p50, p95, p99 of histogram `metric`, one series each."""
    return [
        h.prom(_quantile(metric, q), tr(f"legend.{name}"), ref_id)
        for (name, q), ref_id in zip(QUANTILES[:count], "ABC"[:count], strict=True)
    ]


def _in_range(metric: str, legend: str, ref_id: str = "A") -> h.PromTarget:
    """How much counter `metric` grew over the dashboard's whole range (one number)."""
    return h.prom(f"sum(increase({metric}[$__range]))", legend, ref_id, instant=True)


def build(lang: Lang) -> Dashboard:
    b = h.Board(SLUG, lang)
    tr = b.tr

    def wide(key: str, targets: list[Target], **options: Any) -> None:
        """The pipeline's time series: half a row each, at Prometheus' scrape resolution."""
        b.timeseries(key, (12, 9), targets, resolution=h.SCRAPES, **options)

    def seconds(key: str, targets: list[Target], limits: list[dict[str, Any]]) -> None:
        """Durations against their limits, drawn as lines."""
        wide(key, targets, unit="s", thresholds=limits, threshold_style="line")

    b.stat(
        "events_total",
        (6, 5),
        [h.prom(f"sum(rate(cityops_events_in_total[{RATE}]))", tr("legend.events"))],
        unit="cps",
        decimals=0,
        graph=True,
        thresholds=h.steps(h.INFO),
    )
    deadletters = [_in_range("cityops_deadletters_total", tr("legend.deadletters"))]
    b.count("deadletters_range", (6, 5), deadletters, alarm=h.WARN, decimals=0)
    errors = [
        _in_range("cityops_sink_write_errors_total", tr("legend.sink_errors")),
        _in_range("cityops_notifier_failures_total", tr("legend.notifier_failures"), "B"),
    ]
    b.count("errors", (6, 5), errors, alarm=h.WARN, decimals=0)
    b.stat(
        "max_lag",
        (6, 5),
        [h.prom("max(cityops_consumer_lag_messages)", tr("legend.lag"))],
        decimals=0,
        graph=True,
        thresholds=LAG_STEPS,
        no_value="0",
    )

    wide(
        "events",
        [
            h.prom(f"sum by (topic) (rate(cityops_events_in_total[{RATE}]))", "{{topic}}"),
            h.prom(
                f"sum(rate(cityops_simulator_events_sent_total[{RATE}]))",
                tr("legend.simulator_sent"),
                "B",
            ),
        ],
        unit="cps",
        stacked=False,
    )
    wide(
        "deadletters",
        [
            h.prom(
                f"sum by (topic, reason) (rate(cityops_deadletters_total[{RATE}]))",
                "{{reason}} ({{topic}})",
            )
        ],
        unit="cps",
        bars=True,
        stacked=True,
        thresholds=h.steps(h.WARN),
        color={"mode": "palette-classic"},
    )
    seconds("latency", _quantiles(tr, "cityops_processing_latency_seconds", 3), LATENCY_STEPS)
    e2e = _quantile("cityops_end_to_end_latency_seconds", 0.95, "table")
    seconds("e2e", [h.prom(e2e, "{{table}} " + tr("legend.p95"))], LATENCY_STEPS)
    wide(
        "sink_rows",
        [
            h.prom(f"sum by (table) (rate(cityops_sink_rows_total[{RATE}]))", "{{table}}"),
            h.prom(
                f"sum by (topic) (rate(cityops_sink_rows_skipped_total[{RATE}]))",
                tr("legend.skipped") + " {{topic}}",
                "B",
            ),
        ],
        unit="wps",
        stacked=False,
    )
    lag = h.prom("sum by (group, topic) (cityops_consumer_lag_messages)", "{{group}} / {{topic}}")
    wide("lag", [lag], unit="short", thresholds=LAG_STEPS, threshold_style="line")
    batch = _quantiles(tr, "cityops_sink_batch_duration_seconds", 2)
    seconds("batch", batch, h.steps(h.OK, (1, h.WARN)))
    wide(
        "alerts",
        [
            h.prom(
                f'sum by (severity) (rate(cityops_alerts_total{{state="firing"}}[{RATE}])) * 60',
                "{{severity}}",
            ),
            h.prom(
                f"sum by (state) (rate(cityops_notifier_alerts_pushed_total[{RATE}])) * 60",
                tr("legend.pushed") + " {{state}}",
                "B",
            ),
        ],
        unit="short",
    )
    return b.dashboard(time_from="now-1h", refresh="30s")
