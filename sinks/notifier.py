"""`cityops notify`: alerts.v1 -> Prometheus Alertmanager (API v2).

Each alert lifecycle event becomes an Alertmanager alert (`sinks.alert_payload`,
pure). A firing or acknowledged alert is re-sent every `resend_interval_s` (like
Prometheus does) and ends at now + `firing_ttl`, so Alertmanager keeps it exactly
as long as the notifier does.

The consume loop is the shared one (`cityops.base.kafka_loop`, the worker's and
the sink's): `Notifier` is its handler. A fetched batch becomes payloads
(`process`), and a checkpoint follows at once (`checkpoint_due`): the checkpoint
pushes them, and the loop commits the offsets only after Alertmanager accepted
(2xx) every alert of the batch; while it is down or slow the notifier retries with
exponential backoff and consumes nothing more, so nothing is lost. After an
outage (Alertmanager keeps alerts in memory only) the whole firing set is
re-sent. A batch rejected with 4xx is split, and only the alerts Alertmanager
refuses one by one are dropped (logged and counted), so one bad alert cannot
wedge the pipeline.

The firing set is rebuilt on assignment (the loop's `Handler.assigned` hook):
for every partition it owns, the notifier reads alerts.v1 from the beginning up
to the committed offset without pushing (the loop's group-less reader, before
any record of the partition is handed over), then re-sends what is still firing.

The pure parts (Alert -> payload in `sinks.alert_payload`, the firing-set
bookkeeping in `sinks.firing`) are tested without I/O; this module is the I/O.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

import aiohttp
import orjson
from aiokafka import TopicPartition
from prometheus_client import CollectorRegistry

from cityops.base.clock import Clock, utc_now
from cityops.base.kafka_handler import Abandon, Assignment, Batch, Handler, LoopConfig
from cityops.base.kafka_loop import ConsumeLoop
from cityops.base.kafka_reader import PartitionReader
from cityops.base.kafka_send import Backoff, Out
from cityops.base.metrics import LagMetrics, NotifierMetrics, consumer_lag, serve, stop_serving
from cityops.base.settings import ConfigurationError, Settings
from sinks.alert_payload import AckLinks, Payload, alert_payloads, change_payloads, decode_alert
from sinks.firing import FiringSet
from streams import topics
from streams.acklink import check_secret

log = logging.getLogger(__name__)

LAG_INTERVAL_S = 5.0

# --------------------------------------------------------------------------- configuration


@dataclass(frozen=True)
class NotifierConfig:
    alertmanager_url: str
    topic: str
    group: str
    runbook_base_url: str
    dashboard_base_url: str
    resend_interval_s: float = 60.0
    batch_size: int = 500
    push_chunk: int = 1000
    push_timeout_s: float = 10.0
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 30.0
    poll_timeout_s: float = 0.5
    #: One-click acknowledge links in every alert (None: CITYOPS_ACK_BASE_URL unset).
    ack_links: AckLinks | None = None

    @property
    def firing_ttl(self) -> timedelta:
        """How long Alertmanager keeps a firing alert without a re-send (>= 2 min)."""
        return timedelta(seconds=max(4 * self.resend_interval_s, 120.0))

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> NotifierConfig:
        """Read from settings; `notifier_group` / `notifier_resend_interval_s` when defined."""
        url = overrides.pop("alertmanager_url", None) or settings.alertmanager_url
        if not url:
            raise ConfigurationError(
                "cityops notify needs Alertmanager: set CITYOPS_ALERTMANAGER_URL "
                "(for example http://127.0.0.1:9093), or run `cityops up` for the embedded one"
            )
        config = cls(
            alertmanager_url=url.rstrip("/"),
            topic=settings.topic(topics.ALERTS),
            group=settings.notifier_group or f"{settings.worker_id}-notifier",
            runbook_base_url=settings.runbook_base_url,
            dashboard_base_url=settings.dashboard_base_url,
            resend_interval_s=settings.notifier_resend_interval_s,
            ack_links=_ack_links(settings),
        )
        return replace(config, **overrides)


def _ack_links(settings: Settings) -> AckLinks | None:
    """The ack-link settings, or None without CITYOPS_ACK_BASE_URL; a base URL without a
    usable secret stops the notifier at start (a link it could not sign is no link)."""
    if not settings.ack_base_url:
        return None
    secret = settings.ack_secret.get_secret_value() if settings.ack_secret else None
    try:
        key = check_secret(secret)
    except ValueError as exc:
        raise ConfigurationError(f"cityops notify (CITYOPS_ACK_BASE_URL is set): {exc}") from None
    return AckLinks(settings.ack_base_url, key, timedelta(seconds=settings.ack_link_ttl_s))


# --------------------------------------------------------------------------- I/O


class _Rejected(Exception):
    """Alertmanager answered 4xx: the request itself is wrong, retrying cannot help."""


class _Retryable(Exception):
    """Alertmanager answered 5xx / 429, or could not be reached."""


@dataclass(eq=False)
class Notifier(Handler):
    """The notifier's side of the shared consume loop; see the module docstring."""

    config: NotifierConfig
    session: aiohttp.ClientSession
    metrics: NotifierMetrics
    stop: asyncio.Event
    clock: Clock = utc_now
    firing: FiringSet = field(default_factory=FiringSet, init=False)
    #: the batch in hand, not yet accepted, and its events by state (counted once accepted)
    pending: list[Payload] = field(default_factory=list, init=False)
    states: dict[str, int] = field(default_factory=dict, init=False)
    consumed: bool = field(default=False, init=False)  # records since the last checkpoint
    resync: bool = field(default=False, init=False)  # the firing set was rebuilt: re-send it

    def __post_init__(self) -> None:
        self._next_resend = time.monotonic() + self.config.resend_interval_s

    # -- pushing -----------------------------------------------------------

    async def _post(self, payloads: list[Payload]) -> None:
        url = f"{self.config.alertmanager_url}/api/v2/alerts"
        started = time.perf_counter()
        try:
            async with self.session.post(
                url,
                data=orjson.dumps(payloads),
                headers={"Content-Type": "application/json"},
                timeout=aiohttp.ClientTimeout(total=self.config.push_timeout_s),
            ) as response:
                body = await response.text()
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise _Retryable(f"{type(exc).__name__}: {exc}") from exc
        if 200 <= status < 300:
            self.metrics.pushes.inc()
            self.metrics.push_duration.observe(time.perf_counter() - started)
            self.metrics.last_push.set(time.time())
            return
        if status in (408, 429) or status >= 500:
            raise _Retryable(f"HTTP {status}: {body[:200]}")
        raise _Rejected(f"HTTP {status}: {body[:500]}")

    async def push(self, payloads: list[Payload]) -> tuple[bool, bool]:
        """Push until Alertmanager accepted everything (or refused single alerts).

        Returns (done, had_failures); done is False only when stopped first.
        """
        had_failures = False
        for start in range(0, len(payloads), self.config.push_chunk):
            done, failed = await self._push_chunk(payloads[start : start + self.config.push_chunk])
            had_failures = had_failures or failed
            if not done:
                return False, had_failures
        return True, had_failures

    async def _push_chunk(self, payloads: list[Payload]) -> tuple[bool, bool]:
        backoff = Backoff(self.stop, self.config.backoff_initial_s, self.config.backoff_max_s)
        had_failures = False
        while True:
            try:
                await self._post(payloads)
                return True, had_failures
            except _Retryable as exc:
                had_failures = True
                self.metrics.failures.inc()
                log.warning("Alertmanager push failed (%s); retrying in %.1f s", exc, backoff.delay)
                if await backoff.wait():
                    return False, had_failures
            except _Rejected as exc:
                if len(payloads) == 1:
                    self.metrics.alerts_rejected.inc()
                    log.error("Alertmanager refused alert %s: %s", payloads[0]["labels"], exc)
                    return True, had_failures
                for one in payloads:  # find the bad one(s); the rest go through
                    done, failed = await self._push_chunk([one])
                    had_failures = had_failures or failed
                    if not done:
                        return False, had_failures
                return True, had_failures

    def _links(self) -> dict[str, Any]:
        return {
            "now": self.clock(),
            "firing_ttl": self.config.firing_ttl,
            "runbook_base_url": self.config.runbook_base_url,
            "dashboard_base_url": self.config.dashboard_base_url,
            "ack_links": self.config.ack_links,
        }

    async def resend_firing(self) -> bool:
        """Re-send every firing alert; False when stopped first."""
        links = self._links()
        payloads = [
            payload
            for alert, labels in self.firing.entries()
            for payload in alert_payloads(alert, labels=labels, **links)
        ]
        self._next_resend = time.monotonic() + self.config.resend_interval_s
        if not payloads:
            return True
        done, _ = await self.push(payloads)
        if done:
            self.metrics.alerts_resent.inc(len(payloads))
        return done

    # -- the loop's calls ---------------------------------------------------

    async def assigned(self, assignment: Assignment) -> None:
        """Rebuild the firing set of the owned partitions: alerts.v1 from the
        beginning up to the committed offset, applied without pushing (pushed
        before); a range below the log start (retention) reads from the start."""
        committed = await assignment.committed()
        ranges = {tp: (0, offset) for tp, offset in committed.items() if offset}
        if not ranges:
            return
        read = 0
        async for data in assignment.read_ranges(ranges):
            for tp, records in data.items():
                read += len(records)
                for record in records:
                    alert = decode_alert(record.value)
                    if alert is not None:
                        self.firing.apply(alert, (tp.topic, tp.partition))
        self.resync = True
        log.info(
            "notifier: firing set rebuilt from %d alerts.v1 events of %d partitions: %d firing",
            read,
            len(ranges),
            len(self.firing),
        )

    def revoked(self, partitions: Sequence[TopicPartition]) -> None:
        dropped = self.firing.drop_partitions((tp.topic, tp.partition) for tp in partitions)
        if dropped:
            log.info("notifier: handed over %d firing alerts with revoked partitions", dropped)

    def process(self, batch: Batch) -> list[Out]:
        links = self._links()
        for tp, messages in batch.items():
            self.consumed = self.consumed or bool(messages)
            for message in messages:
                alert = decode_alert(message.value)
                if alert is None:
                    self.metrics.events_invalid.inc()
                    log.warning("skipping invalid alert at %s@%d", tp, message.offset)
                    continue
                change = self.firing.apply(alert, (tp.topic, tp.partition))
                if change.stale:
                    self.metrics.events_stale.inc()
                    continue
                self.pending.extend(change_payloads(change, **links))
                self.states[alert.state] = self.states.get(alert.state, 0) + 1
        return []

    def checkpoint_due(self) -> bool:
        # Every batch is pushed and committed at once, like a re-send that is due.
        return self.consumed or self.resync or time.monotonic() >= self._next_resend

    def poll_limits(self, timeout_s: float, max_records: int) -> tuple[float, int]:
        return self.config.poll_timeout_s, max_records

    async def checkpoint(self) -> list[Out]:
        """Push the batch in hand until Alertmanager took it (the loop commits its
        offsets after); then re-send the firing set if rebuilt, after an outage, or
        every `resend_interval_s`."""
        resync = False
        if self.pending:
            done, resync = await self.push(self.pending)
            if not done:
                raise Abandon("stopped before Alertmanager took the batch")
            for state, count in self.states.items():
                self.metrics.alerts_pushed.labels(state=state).inc(count)
        self.pending, self.states, self.consumed = [], {}, False
        self._update_gauges()
        if self.resync:
            self.resync = False
            resync = True
        if resync or time.monotonic() >= self._next_resend:
            await self.resend_firing()  # stopped first: the next owner re-sends
        return []

    def _update_gauges(self) -> None:
        counts = self.firing.by_severity()
        for severity in ("critical", "major", "minor", "warning", "info"):
            self.metrics.firing.labels(severity=severity).set(counts.get(severity, 0))


async def run_notifier(
    settings: Settings,
    *,
    stop: asyncio.Event | None = None,
    registry: CollectorRegistry | None = None,
    session: aiohttp.ClientSession | None = None,
    clock: Clock = utc_now,
    config: NotifierConfig | None = None,
) -> None:
    """Consume alerts.v1 and keep Alertmanager in step until `stop` is set.

    Serves its metrics on `settings.metrics_port_notifier` (0 = not served).
    """
    if not settings.kafka_bootstrap:
        raise ConfigurationError("cityops notify needs CITYOPS_KAFKA_BOOTSTRAP (host:port)")
    config = config or NotifierConfig.from_settings(settings)
    stop = stop or asyncio.Event()
    registry = registry if registry is not None else CollectorRegistry()
    metrics = NotifierMetrics(registry)
    lag = LagMetrics(registry)
    metrics_host = settings.metrics_host
    served = serve(registry, settings.metrics_port_notifier, metrics_host)
    own_session = session is None
    http = session or aiohttp.ClientSession()
    rebalance_s = settings.broker_rebalance_timeout_s
    reader = PartitionReader(settings.kafka_bootstrap)  # the firing set's rebuild
    loop = ConsumeLoop(
        LoopConfig(
            bootstrap=settings.kafka_bootstrap,
            group_id=config.group,
            client_id=config.group,
            topics=(config.topic,),
            batch_max=config.batch_size,
            session_timeout_s=max(10.0, rebalance_s),
            rebalance_timeout_s=max(rebalance_s, 1.0),
            # Pushing blocks while Alertmanager is down: stay in the group meanwhile.
            max_poll_interval_s=3600.0,
            produce=False,
        ),
        Notifier(config, http, metrics, stop, clock),
        stop,
        reader,
    )
    last_lag = 0.0

    async def between_batches() -> None:
        nonlocal last_lag
        if time.monotonic() - last_lag >= LAG_INTERVAL_S:
            last_lag = time.monotonic()
            lag.set(config.group, await consumer_lag(loop.consumer))

    try:
        await reader.start()
        log.info(
            "notifier: %s -> %s (group %s)", config.topic, config.alertmanager_url, config.group
        )
        await loop.run(on_idle=between_batches)
    finally:
        await loop.close()  # already closed by `run`, unless the reader did not start
        await reader.stop()
        if own_session:
            await http.close()
        stop_serving(served)
