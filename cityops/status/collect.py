"""Gathering a snapshot from every reachable source: /metrics, the database, Alertmanager."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import aiohttp

from cityops.base.clock import Clock, utc_now
from cityops.base.settings import Settings
from cityops.status.snapshot import (
    NEWEST_ALERTS,
    OpenAlert,
    Samples,
    StatusSnapshot,
    alerts_from_alertmanager,
    apply_metrics,
    apply_simulator_fallback,
    parse_metrics,
    with_rates,
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
