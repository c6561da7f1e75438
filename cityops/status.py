"""`cityops status`: a live terminal view of a running pipeline.

Data sources, each optional (a missing one is shown, never fatal):

* the `/metrics` endpoints of the processes (worker, sink, notifier,
  simulator; ports from settings, or `--metrics-url`): events per feed and
  their rate, dead letters, consumer lag, and per-district lit rate / heating
  compliance when there is no database;
* the database (read-only, parameterised SQL on `alerts` and `rollups_1m`):
  open alerts and the latest closed minute per district;
* Alertmanager (`/api/v2/alerts`) for open alerts when there is no database.

`collect()` gathers a `StatusSnapshot`; `render_status(snapshot)` is pure and
returns a rich renderable; `--once` prints one frame (tests, `make run`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp
from prometheus_client.parser import text_string_to_metric_families
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from cityops.settings import Settings, get_settings
from streams import topics

log = logging.getLogger(__name__)

SEVERITIES = ("critical", "major", "minor", "warning", "info")
SEVERITY_STYLE = {
    "critical": "bold red",
    "major": "red",
    "minor": "yellow",
    "warning": "yellow",
    "info": "cyan",
}
LIT_RATE_TARGET = 0.98
NEWEST_ALERTS = 8

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


# --------------------------------------------------------------------------- snapshot


@dataclass(frozen=True)
class OpenAlert:
    severity: str
    rule: str
    district: str
    entity_id: str
    summary: str
    started_at: datetime | None
    state: str = "firing"


@dataclass
class StatusSnapshot:
    taken_at: datetime
    #: source name -> "ok" or why it is unavailable
    sources: dict[str, str] = field(default_factory=dict)
    events_total: dict[str, float] = field(default_factory=dict)  # feed -> messages
    events_per_s: dict[str, float] = field(default_factory=dict)  # feed -> rate
    deadletters: dict[str, float] = field(default_factory=dict)  # reason -> messages
    alerts_by_severity: dict[str, int] = field(default_factory=dict)
    newest_alerts: list[OpenAlert] = field(default_factory=list)
    alerts_source: str = ""
    lit_rate: dict[str, float] = field(default_factory=dict)  # district -> 0..1
    heating_warm_share: dict[str, float] = field(default_factory=dict)  # district -> 0..1
    districts_source: str = ""
    consumer_lag: dict[tuple[str, str], float] = field(default_factory=dict)  # (group, topic)


def feed_of_topic(topic: str) -> str | None:
    """`gas` for `<prefix>gas.detector.v1`, None for other topics."""
    for name, feed in topics.FEED_NAME.items():
        if topic.endswith(name):  # with or without the topic prefix
            return feed
    return None


Samples = dict[str, list[tuple[dict[str, str], float]]]


def parse_metrics(text: str) -> Samples:
    """Prometheus text -> sample name -> [(labels, value)]."""
    out: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out.setdefault(sample.name, []).append((dict(sample.labels), float(sample.value)))
    return out


def apply_metrics(snapshot: StatusSnapshot, samples: Samples) -> None:
    """Fold the samples of one process into the snapshot (pure)."""
    for labels, value in samples.get("cityops_events_in_total", []):
        feed = feed_of_topic(labels.get("topic", ""))
        if feed:
            snapshot.events_total[feed] = snapshot.events_total.get(feed, 0.0) + value
    for labels, value in samples.get("cityops_deadletters_total", []):
        reason = labels.get("reason", "?")
        snapshot.deadletters[reason] = snapshot.deadletters.get(reason, 0.0) + value
    for labels, value in samples.get("cityops_consumer_lag_messages", []):
        key = (labels.get("group", "?"), labels.get("topic", "?"))
        snapshot.consumer_lag[key] = value
    for labels, value in samples.get("cityops_district_lit_rate_ratio", []):
        snapshot.lit_rate.setdefault(labels.get("district", "?"), value)
        snapshot.districts_source = snapshot.districts_source or "worker metrics"
    for labels, value in samples.get("cityops_district_heating_warm_share_ratio", []):
        snapshot.heating_warm_share.setdefault(labels.get("district", "?"), value)
        snapshot.districts_source = snapshot.districts_source or "worker metrics"
    if not snapshot.alerts_source:
        firing = samples.get("cityops_notifier_firing_alerts", [])
        if firing:
            for labels, value in firing:
                severity = labels.get("severity", "?")
                snapshot.alerts_by_severity[severity] = int(value)
            snapshot.alerts_source = "notifier metrics"


def apply_simulator_fallback(snapshot: StatusSnapshot, samples: Samples) -> None:
    """Without a worker, show what the simulator sent."""
    if snapshot.events_total:
        return
    for labels, value in samples.get("cityops_simulator_events_sent_total", []):
        feed = feed_of_topic(labels.get("topic", ""))
        if feed:
            snapshot.events_total[feed] = snapshot.events_total.get(feed, 0.0) + value


def with_rates(current: StatusSnapshot, previous: StatusSnapshot | None) -> StatusSnapshot:
    """Fill `events_per_s` from the previous snapshot (counter resets count as 0)."""
    if previous is None:
        return current
    seconds = (current.taken_at - previous.taken_at).total_seconds()
    if seconds <= 0:
        return current
    for feed, total in current.events_total.items():
        before = previous.events_total.get(feed, 0.0)
        current.events_per_s[feed] = max(0.0, total - before) / seconds
    return current


def alerts_from_alertmanager(
    payload: Sequence[Mapping[str, Any]],
) -> tuple[dict[str, int], list[OpenAlert]]:
    counts: dict[str, int] = {}
    alerts: list[OpenAlert] = []
    for item in payload:
        labels = item.get("labels", {})
        annotations = item.get("annotations", {})
        severity = labels.get("severity", "?")
        counts[severity] = counts.get(severity, 0) + 1
        started = item.get("startsAt")
        alerts.append(
            OpenAlert(
                severity=severity,
                rule=labels.get("alertname", "?"),
                district=labels.get("district", ""),
                entity_id=labels.get("entity_id", ""),
                summary=annotations.get("summary", ""),
                started_at=_parse_time(started) if started else None,
                state=annotations.get("state", "firing"),
            )
        )
    alerts.sort(key=lambda a: a.started_at or datetime.min.replace(tzinfo=UTC), reverse=True)
    return counts, alerts[:NEWEST_ALERTS]


def _parse_time(value: str) -> datetime | None:
    with contextlib.suppress(ValueError):
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    return None


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


# --------------------------------------------------------------------------- collection

OPEN_ALERT_COUNTS_SQL = """
SELECT severity, count(*) FROM alerts WHERE state <> %(resolved)s GROUP BY severity
"""
NEWEST_ALERTS_SQL = """
SELECT severity, rule, district, entity_id, summary, started_at, state
FROM alerts WHERE state <> %(resolved)s
ORDER BY started_at DESC LIMIT %(limit)s
"""
LATEST_DISTRICT_SQL = """
SELECT DISTINCT ON (district) district, lit_rate, warm_share
FROM rollups_1m
WHERE feed = %(feed)s
ORDER BY district, bucket DESC
"""


@dataclass(frozen=True)
class StatusSources:
    metrics_urls: dict[str, str]  # process name -> http://host:port/metrics
    database_url: str | None = None
    alertmanager_url: str | None = None

    @classmethod
    def from_settings(
        cls, settings: Settings, *, metrics_urls: Sequence[str] = (), use_database: bool = True
    ) -> StatusSources:
        urls: dict[str, str] = {}
        if metrics_urls:
            for i, url in enumerate(metrics_urls):
                urls[f"metrics{i + 1}" if len(metrics_urls) > 1 else "metrics"] = url
        else:
            ports = {
                "worker": settings.metrics_port_worker,
                "sink": settings.metrics_port_sink,
                "notifier": settings.metrics_port_notifier,
                "simulator": settings.metrics_port_simulator,
            }
            urls = {
                name: f"http://127.0.0.1:{port}/metrics" for name, port in ports.items() if port
            }
        return cls(
            metrics_urls=urls,
            database_url=settings.database_url if use_database else None,
            alertmanager_url=settings.alertmanager_url,
        )


async def _scrape(session: aiohttp.ClientSession, url: str) -> Samples:
    async with session.get(url, timeout=aiohttp.ClientTimeout(total=2)) as response:
        response.raise_for_status()
        return parse_metrics(await response.text())


async def _from_database(snapshot: StatusSnapshot, url: str) -> None:
    import psycopg

    async with await psycopg.AsyncConnection.connect(url, connect_timeout=3) as conn:
        await conn.set_read_only(True)
        async with conn.cursor() as cur:
            await cur.execute(OPEN_ALERT_COUNTS_SQL, {"resolved": "resolved"})
            snapshot.alerts_by_severity = {str(sev): int(n) for sev, n in await cur.fetchall()}
            await cur.execute(NEWEST_ALERTS_SQL, {"resolved": "resolved", "limit": NEWEST_ALERTS})
            snapshot.newest_alerts = [
                OpenAlert(
                    severity=row[0],
                    rule=row[1],
                    district=row[2],
                    entity_id=row[3],
                    summary=row[4],
                    started_at=row[5],
                    state=row[6],
                )
                for row in await cur.fetchall()
            ]
            snapshot.alerts_source = "database"
            lit: dict[str, float] = {}
            warm: dict[str, float] = {}
            await cur.execute(LATEST_DISTRICT_SQL, {"feed": "streetlight"})
            for district, lit_rate, _ in await cur.fetchall():
                if lit_rate is not None:
                    lit[district] = float(lit_rate)
            await cur.execute(LATEST_DISTRICT_SQL, {"feed": "heating"})
            for district, _, warm_share in await cur.fetchall():
                if warm_share is not None:
                    warm[district] = float(warm_share)
        await conn.rollback()
    if lit or warm:
        snapshot.lit_rate, snapshot.heating_warm_share = lit, warm
        snapshot.districts_source = "database"


async def _from_alertmanager(
    snapshot: StatusSnapshot, session: aiohttp.ClientSession, url: str
) -> None:
    async with session.get(
        f"{url.rstrip('/')}/api/v2/alerts",
        params={"silenced": "false", "inhibited": "true"},
        timeout=aiohttp.ClientTimeout(total=2),
    ) as response:
        response.raise_for_status()
        payload = await response.json()
    snapshot.alerts_by_severity, snapshot.newest_alerts = alerts_from_alertmanager(payload)
    snapshot.alerts_source = "Alertmanager"


def _why(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"unavailable ({type(exc).__name__}{': ' + text[:60] if text else ''})"


async def collect(
    sources: StatusSources,
    session: aiohttp.ClientSession,
    *,
    previous: StatusSnapshot | None = None,
    clock: Clock = utc_now,
) -> StatusSnapshot:
    """One snapshot from every reachable source."""
    snapshot = StatusSnapshot(taken_at=clock())
    if sources.database_url:
        try:
            await _from_database(snapshot, sources.database_url)
            snapshot.sources["database"] = "ok"
        except Exception as exc:  # any failure: show it, keep going
            snapshot.sources["database"] = _why(exc)
    if sources.alertmanager_url and not snapshot.alerts_source:
        try:
            await _from_alertmanager(snapshot, session, sources.alertmanager_url)
            snapshot.sources["alertmanager"] = "ok"
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            snapshot.sources["alertmanager"] = _why(exc)
    scraped: list[Samples] = []
    for name, url in sources.metrics_urls.items():
        try:
            samples = await _scrape(session, url)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            snapshot.sources[name] = _why(exc)
            continue
        snapshot.sources[name] = "ok"
        scraped.append(samples)
        apply_metrics(snapshot, samples)
    for samples in scraped:
        apply_simulator_fallback(snapshot, samples)
    return with_rates(snapshot, previous)


# --------------------------------------------------------------------------- CLI


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "status",
        help="live terminal view of a running pipeline",
        description=(
            "Events/s per feed, dead letters, open alerts, per-district lit rate and heating "
            "compliance, consumer lag; from the processes' /metrics, the database (read-only) "
            "and Alertmanager."
        ),
    )
    parser.add_argument("--once", action="store_true", help="print one frame and exit")
    parser.add_argument(
        "--interval", type=float, default=2.0, metavar="SECONDS", help="refresh period"
    )
    parser.add_argument(
        "--metrics-url",
        action="append",
        default=[],
        metavar="URL",
        help="a /metrics endpoint to read (repeatable; default: the CITYOPS_METRICS_PORT_* ports)",
    )
    parser.add_argument("--no-db", action="store_true", help="do not read the database")
    parser.set_defaults(handler=_status)


async def run_status(
    sources: StatusSources,
    *,
    once: bool,
    interval: float,
    console: Console | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    console = console or Console()
    stop = stop or asyncio.Event()
    async with aiohttp.ClientSession() as session:
        if once:
            first = await collect(sources, session)
            if sources.metrics_urls and any(
                state == "ok"
                for name, state in first.sources.items()
                if name in sources.metrics_urls
            ):
                await asyncio.sleep(min(interval, 1.0))  # a second sample for the rates
                first = await collect(sources, session, previous=first)
            console.print(render_status(first))
            return
        previous = await collect(sources, session)
        with Live(render_status(previous), console=console, refresh_per_second=4) as live:
            while not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=interval)
                previous = await collect(sources, session, previous=previous)
                live.update(render_status(previous))


def _status(args: argparse.Namespace) -> int:
    settings = get_settings()
    sources = StatusSources.from_settings(
        settings, metrics_urls=args.metrics_url, use_database=not args.no_db
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_status(sources, once=args.once, interval=max(args.interval, 0.2)))
    return 0
