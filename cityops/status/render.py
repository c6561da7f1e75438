"""The snapshot as a rich renderable (pure): feeds, dead letters, alerts, districts, lag."""

from __future__ import annotations

from datetime import UTC

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from cityops.base.thresholds import load_thresholds
from cityops.status.snapshot import SEVERITIES, StatusSnapshot
from streams import topics

SEVERITY_STYLE = {
    "critical": "bold red",
    "major": "red",
    "minor": "yellow",
    "warning": "yellow",
    "info": "cyan",
}
#: The lit-rate target the `streetlight.lit_rate_low` rule judges (thresholds.toml).
LIT_RATE_TARGET = load_thresholds().streetlight.lit_rate_min

# --------------------------------------------------------------------------- rendering


def _fmt_count(value: float) -> str:
    return f"{value:,.0f}"


def _fmt_ratio(value: float | None, target: float | None = None) -> Text:
    if value is None:
        return Text("–", style="dim")
    style = ""
    if target is not None:
        style = "green" if value >= target else "bold red"
    return Text(f"{value * 100:.1f}%", style=style)


def _feeds_table(s: StatusSnapshot) -> Table:
    table = Table(title="Feeds")
    table.add_column("feed")
    table.add_column("events", justify="right")
    table.add_column("events/s", justify="right")
    for feed in topics.FEED_NAME.values():
        total = s.events_total.get(feed)
        rate = s.events_per_s.get(feed)
        table.add_row(
            feed,
            _fmt_count(total) if total is not None else "–",
            f"{rate:,.1f}" if rate is not None else "–",
        )
    return table


def _deadletter_table(s: StatusSnapshot) -> Table:
    table = Table(title="Dead letters")
    table.add_column("reason")
    table.add_column("messages", justify="right")
    if not s.deadletters:
        table.add_row(Text("none", style="green"), "0")
    for reason, value in sorted(s.deadletters.items(), key=lambda kv: -kv[1]):
        table.add_row(reason, _fmt_count(value))
    return table


def _alerts_panel(s: StatusSnapshot) -> Panel:
    counts = Table.grid(padding=(0, 2))
    for _ in SEVERITIES:
        counts.add_column(justify="center")
    counts.add_row(*[Text(severity, style=SEVERITY_STYLE[severity]) for severity in SEVERITIES])
    counts.add_row(*[str(s.alerts_by_severity.get(severity, 0)) for severity in SEVERITIES])
    newest = Table(title="Newest open alerts", expand=True)
    for column in ("severity", "rule", "district", "entity", "since", "summary"):
        newest.add_column(column, overflow="fold")
    for alert in s.newest_alerts:
        since = alert.started_at.strftime("%m-%d %H:%M") if alert.started_at else ""
        state = " (ack)" if alert.state == "acknowledged" else ""
        newest.add_row(
            Text(alert.severity, style=SEVERITY_STYLE.get(alert.severity, "")),
            alert.rule + state,
            alert.district,
            alert.entity_id,
            since,
            alert.summary,
        )
    if not s.newest_alerts:
        newest.add_row("", Text("no open alerts", style="dim"), "", "", "", "")
    source = s.alerts_source or "no source (no database, Alertmanager or notifier)"
    total = sum(s.alerts_by_severity.values())
    return Panel(Group(counts, newest), title=f"Open alerts: {total}", subtitle=f"from {source}")


def _districts_table(s: StatusSnapshot) -> Table:
    table = Table(title="Districts (last closed minute)")
    table.add_column("district")
    table.add_column(f"lit rate (target {LIT_RATE_TARGET:.0%})", justify="right")
    table.add_column("heating compliance (indoor ≥ 18 °C)", justify="right")
    districts = sorted(set(s.lit_rate) | set(s.heating_warm_share))
    for district in districts:
        table.add_row(
            district,
            _fmt_ratio(s.lit_rate.get(district), LIT_RATE_TARGET),
            _fmt_ratio(s.heating_warm_share.get(district)),
        )
    if not districts:
        table.add_row(Text("no roll-ups yet", style="dim"), "–", "–")
    if s.districts_source:
        table.caption = f"from {s.districts_source}"
    return table


def _lag_table(s: StatusSnapshot) -> Table:
    table = Table(title="Consumer lag")
    table.add_column("group")
    table.add_column("topic")
    table.add_column("messages behind", justify="right")
    for (group, topic), lag in sorted(s.consumer_lag.items()):
        table.add_row(group, topic, Text(_fmt_count(lag), style="red" if lag > 10_000 else ""))
    if not s.consumer_lag:
        table.add_row(Text("no consumer reports lag", style="dim"), "", "")
    return table


def render_status(snapshot: StatusSnapshot) -> RenderableType:
    """One frame of the status view (pure: depends on the snapshot only)."""
    header = Text.assemble(
        ("CityOps status", "bold"),
        f"  {snapshot.taken_at.astimezone(UTC).strftime('%Y-%m-%d %H:%M:%S')} UTC  ",
        *[
            (f"{name}: {state}  ", "green" if state == "ok" else "dim")
            for name, state in sorted(snapshot.sources.items())
        ],
    )
    return Group(
        header,
        _feeds_table(snapshot),
        _deadletter_table(snapshot),
        _alerts_panel(snapshot),
        _districts_table(snapshot),
        _lag_table(snapshot),
    )
