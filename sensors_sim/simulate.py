"""Produce a simulation to Kafka: pacing, delivery, counts, metrics, a live counter.

Pacing has two limits and waits for whichever is later:
- the rate: `rate` events/s of wall time (`math.inf` = flat out; 0 = no
  rate limit, i.e. real time: event time follows the clock);
- the clock: no event is sent before its event time, because the worker
  rejects events more than 5 minutes in the future.
So a fast run starting in the past catches up with the clock and then goes on
in real time. The default start puts the whole run in the past (now - duration)
when a rate is given, so a fast run finishes as fast as the rate allows.

Counts are of acknowledged deliveries (the producer is flushed before events
are counted), so a test can compare what was sent with what was stored. The
producer appends to whole record batches (sensors_sim/producer.py says why).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Protocol

from cityops.base.city.profiles import CityProfile, load_profile
from cityops.base.metrics import SimulatorMetrics
from cityops.base.settings import Settings
from sensors_sim.incidents import Incident
from sensors_sim.producer import LINGER_S, batching_producer
from sensors_sim.progress import LiveCounter
from sensors_sim.simulation import Simulation
from sensors_sim.wire import to_ms
from streams import topics

#: When no duration is given and a rate is, start this far back (then follow the clock).
BACKFILL_S = 3600.0
_MAX_PENDING = 20_000  # unacknowledged events before waiting for deliveries
_PACE_EVERY = 500  # events between pacing checks


class Producer(Protocol):
    """What the runner needs of a producer (`BatchingProducer`; tests pass fakes)."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def send(self, topic: str, value: bytes, key: bytes, *, timestamp_ms: int) -> None:
        """Queue one record (may ship batches; delivery is known only at `flush`)."""

    async def flush(self) -> None:
        """Return when everything sent so far is acknowledged; raise a delivery error."""


def kafka_producer(bootstrap: str, linger_s: float = LINGER_S) -> Producer:
    return batching_producer(bootstrap, linger_s=linger_s)


def default_start(duration_s: float | None, rate: float, now: datetime | None = None) -> datetime:
    """Real time starts now; a fast run ends now (or backfills BACKFILL_S when endless)."""
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    if rate == 0:
        return now
    return now - timedelta(seconds=BACKFILL_S if duration_s is None else duration_s)


def check_window(settings: Settings, start: datetime, duration_s: float | None) -> None:
    """Refuse runs whose events the worker would reject as too old."""
    now = datetime.now(UTC)
    oldest = now - timedelta(seconds=settings.max_event_age_s) + timedelta(minutes=5)
    if start < oldest:
        raise ValueError(
            f"start {start.isoformat()} is older than the worker accepts "
            f"(CITYOPS_MAX_EVENT_AGE_S={settings.max_event_age_s:g}); start later"
        )
    if duration_s is not None and duration_s <= 0:
        raise ValueError("duration must be positive")


async def run_simulation(
    settings: Settings,
    profile: CityProfile | str,
    *,
    seed: int,
    start: datetime | None = None,
    duration_s: float | None,
    rate: float = 0.0,
    incidents: Sequence[Incident] = (),
    producer_factory: Callable[[], Producer] | None = None,
    bootstrap: str | None = None,
    metrics: SimulatorMetrics | None = None,
    progress: bool = False,
) -> dict[str, int]:
    """Produce `duration_s` of event time (None = until cancelled); return deliveries per topic.

    Topics in the result are the bare names of `streams.topics`; messages go to
    `settings.topic(name)`. The producer comes from `producer_factory`, else
    from `bootstrap` or `settings.kafka_bootstrap`.
    """
    if rate < 0:
        raise ValueError("rate must be >= 0 (0 = real time, math.inf = flat out)")
    city = load_profile(profile) if isinstance(profile, str) else profile
    start = start or default_start(duration_s, rate)
    check_window(settings, start, duration_s)
    sim = Simulation(city, seed, start, incidents)
    if producer_factory is None:
        server = bootstrap or settings.kafka_bootstrap
        if not server:
            raise ValueError(
                "no Kafka to produce to: set CITYOPS_KAFKA_BOOTSTRAP or start the stack "
                "with `cityops up`"
            )
        producer = kafka_producer(server, settings.sim_linger_s)
    else:
        producer = producer_factory()
    counts = dict.fromkeys(topics.FEED_TOPICS, 0)
    live = LiveCounter(counts, enabled=progress)
    await producer.start()
    try:
        with live:
            await _produce(settings, sim, producer, counts, metrics, start, duration_s, rate)
    finally:
        await producer.stop()
    return counts


async def _produce(
    settings: Settings,
    sim: Simulation,
    producer: Producer,
    counts: dict[str, int],
    metrics: SimulatorMetrics | None,
    start: datetime,
    duration_s: float | None,
    rate: float,
) -> None:
    full_topic = {t: settings.topic(t) for t in topics.FEED_TOPICS}
    unsettled = dict.fromkeys(topics.FEED_TOPICS, 0)  # sent, not yet known delivered
    began = time.monotonic()
    sent = 0
    chunk_ms = 60_000  # generate a minute of event time at a time
    t0 = to_ms(start)
    end = None if duration_s is None else t0 + round(duration_s * 1000)
    horizon_ms = 0.0  # the clock at the last check: events up to it may go at once
    while end is None or t0 < end:
        t1 = t0 + chunk_ms if end is None else min(t0 + chunk_ms, end)
        for event in sim.events_between_ms(t0, t1):
            if event.ts_ms > horizon_ms or sent % _PACE_EVERY == 0:
                await _pace(event.ts_ms, sent, rate, began)
                horizon_ms = time.time() * 1000
            await producer.send(
                full_topic[event.topic], event.value, event.key, timestamp_ms=event.ts_ms
            )
            unsettled[event.topic] += 1
            sent += 1
            if sent % _MAX_PENDING == 0:
                await _settle(producer, unsettled, counts, metrics)
        t0 = t1
    await _settle(producer, unsettled, counts, metrics)


async def _pace(ts_ms: int, sent: int, rate: float, began: float) -> None:
    """Sleep until both the rate and the clock allow the next event."""
    now_ms = time.time() * 1000
    wait = max(0.0, (ts_ms - now_ms) / 1000)  # never ahead of the clock
    if rate > 0 and not math.isinf(rate):
        wait = max(wait, began + sent / rate - time.monotonic())
    # even flat out, let the producer's sender task run
    await asyncio.sleep(wait)


async def _settle(
    producer: Producer,
    unsettled: dict[str, int],
    counts: dict[str, int],
    metrics: SimulatorMetrics | None,
) -> None:
    """Wait for every delivery so far (an error fails the run) and count them."""
    await producer.flush()
    for topic, n in unsettled.items():
        if n:
            counts[topic] += n
            unsettled[topic] = 0
            if metrics is not None:
                metrics.events_sent.labels(topic=topic).inc(n)
