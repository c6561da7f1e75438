"""`cityops notify`: alerts.v1 -> Prometheus Alertmanager (API v2).

Each alert lifecycle event becomes an Alertmanager alert (`sinks.alert_payload`,
pure). A firing or acknowledged alert is re-sent every `resend_interval_s` (like
Prometheus does) and ends at now + `firing_ttl`, so Alertmanager keeps it exactly
as long as the notifier does.

Delivery: offsets are committed only after Alertmanager accepted (2xx) every
alert of the batch; while it is down or slow the notifier retries with
exponential backoff and consumes nothing more, so nothing is lost. After an
outage (Alertmanager keeps alerts in memory only) the whole firing set is
re-sent. A batch rejected with 4xx is split, and only the alerts Alertmanager
refuses one by one are dropped (logged and counted), so one bad alert cannot
wedge the pipeline.

The firing set is rebuilt on start: for every partition it is assigned, the
notifier reads alerts.v1 from the beginning up to its committed offset without
pushing, then re-sends what is still firing.

The pure parts (Alert -> payload in `sinks.alert_payload`, the firing-set
bookkeeping in `sinks.firing`) are tested without I/O; this module is the I/O.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

import aiohttp
import orjson
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError
from prometheus_client import CollectorRegistry

from cityops.base.clock import Clock, utc_now
from cityops.base.metrics import LagMetrics, NotifierMetrics, consumer_lag, serve, stop_serving
from cityops.base.settings import ConfigurationError, Settings
from sinks.alert_payload import AckLinks, Payload, alert_payloads, change_payloads, decode_alert
from sinks.firing import FiringSet
from streams import topics
from streams.acklink import check_secret

log = logging.getLogger(__name__)

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


class _Replay(ConsumerRebalanceListener):
    """On assignment, read each partition from the start up to the committed offset."""

    def __init__(self, consumer: AIOKafkaConsumer, firing: FiringSet) -> None:
        self.consumer = consumer
        self.firing = firing
        self.until: dict[TopicPartition, int] = {}
        self.resync = False

    async def on_partitions_revoked(self, revoked: Iterable[TopicPartition]) -> None:
        dropped = self.firing.drop_partitions((tp.topic, tp.partition) for tp in revoked)
        for tp in revoked:
            self.until.pop(tp, None)
        if dropped:
            log.info("notifier: handed over %d firing alerts with revoked partitions", dropped)

    async def on_partitions_assigned(self, assigned: Iterable[TopicPartition]) -> None:
        for tp in assigned:
            committed = await self.consumer.committed(tp)
            if committed:
                self.until[tp] = committed
                # Offset 0; below the log start (retention), auto_offset_reset=earliest applies.
                self.consumer.seek(tp, 0)
                self.resync = True


class Notifier:
    """The consume -> push -> commit loop; see the module docstring."""

    def __init__(
        self,
        config: NotifierConfig,
        consumer: AIOKafkaConsumer,
        session: aiohttp.ClientSession,
        metrics: NotifierMetrics,
        lag: LagMetrics,
        stop: asyncio.Event,
        clock: Clock = utc_now,
    ) -> None:
        self.config = config
        self.consumer = consumer
        self.session = session
        self.metrics = metrics
        self.lag = lag
        self.stop = stop
        self.clock = clock
        self.firing = FiringSet()
        self.replay = _Replay(consumer, self.firing)
        self._next_resend = time.monotonic() + config.resend_interval_s

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

    async def _sleep(self, seconds: float) -> bool:
        """Wait `seconds`; True when stop was requested meanwhile."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stop.wait(), timeout=seconds)
        return self.stop.is_set()

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
        delay = self.config.backoff_initial_s
        had_failures = False
        while True:
            try:
                await self._post(payloads)
                return True, had_failures
            except _Retryable as exc:
                had_failures = True
                self.metrics.failures.inc()
                log.warning("Alertmanager push failed (%s); retrying in %.1f s", exc, delay)
                if await self._sleep(delay):
                    return False, had_failures
                delay = min(delay * 2, self.config.backoff_max_s)
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

    # -- consuming ---------------------------------------------------------

    async def step(self) -> bool:
        """One poll -> push -> commit round; False when the loop must end (stopped)."""
        batch = await self.consumer.getmany(
            timeout_ms=int(self.config.poll_timeout_s * 1000), max_records=self.config.batch_size
        )
        links = self._links()
        payloads: list[Payload] = []
        states: dict[str, int] = {}
        offsets: dict[TopicPartition, int] = {}
        for tp, messages in batch.items():
            until = self.replay.until.get(tp, -1)
            for message in messages:
                offsets[tp] = message.offset + 1
                alert = decode_alert(message.value)
                if alert is None:
                    if message.offset >= until:
                        self.metrics.events_invalid.inc()
                        log.warning("skipping invalid alert at %s@%d", tp, message.offset)
                    continue
                change = self.firing.apply(alert, (tp.topic, tp.partition))
                if message.offset < until:
                    continue  # rebuilding the firing set: already pushed before
                if change.stale:
                    self.metrics.events_stale.inc()
                    continue
                payloads.extend(change_payloads(change, **links))
                states[alert.state] = states.get(alert.state, 0) + 1
            if tp in self.replay.until and offsets.get(tp, 0) >= until:
                del self.replay.until[tp]
        resync = False
        if payloads:
            done, resync = await self.push(payloads)
            if not done:
                return False  # stopped before Alertmanager took them: no commit
            for state, count in states.items():
                self.metrics.alerts_pushed.labels(state=state).inc(count)
        # Never commit a partition that is still being rebuilt: its offsets are
        # below the committed one, and a crash mid-rebuild would then re-push
        # long-resolved history (review finding, 2026-11-22).
        offsets = {tp: o for tp, o in offsets.items() if tp not in self.replay.until}
        if offsets:
            try:
                await self.consumer.commit(offsets)
            except (CommitFailedError, KafkaError) as exc:
                # A rebalance happened meanwhile: the new owner re-reads and re-sends (harmless).
                log.warning("offset commit failed (%s); those alerts will be re-sent", exc)
        self._update_gauges()
        if self.replay.resync and not self.replay.until:
            self.replay.resync = False
            resync = True
        if resync or time.monotonic() >= self._next_resend:
            return await self.resend_firing()
        return True

    def _update_gauges(self) -> None:
        counts = self.firing.by_severity()
        for severity in ("critical", "major", "minor", "warning", "info"):
            self.metrics.firing.labels(severity=severity).set(counts.get(severity, 0))

    async def run(self) -> None:
        last_lag = 0.0
        while not self.stop.is_set():
            if not await self.step():
                break
            if time.monotonic() - last_lag >= 5.0:
                last_lag = time.monotonic()
                self.lag.set(self.config.group, await consumer_lag(self.consumer))


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
    rebalance_ms = int(settings.broker_rebalance_timeout_s * 1000)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=config.group,
        client_id=config.group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        # Pushing blocks while Alertmanager is down: stay in the group meanwhile.
        max_poll_interval_ms=3_600_000,
        rebalance_timeout_ms=max(rebalance_ms, 1000),
        session_timeout_ms=max(10_000, rebalance_ms),
    )
    notifier = Notifier(config, consumer, http, metrics, lag, stop, clock)
    consumer.subscribe([config.topic], listener=notifier.replay)
    try:
        await consumer.start()
        log.info(
            "notifier: %s -> %s (group %s)", config.topic, config.alertmanager_url, config.group
        )
        await notifier.run()
    finally:
        await consumer.stop()
        if own_session:
            await http.close()
        stop_serving(served)
