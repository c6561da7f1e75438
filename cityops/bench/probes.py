"""Alert-latency probes: gas leaks at known event times, and when their alerts appear."""

from __future__ import annotations

import asyncio
import contextlib
import time

import orjson
import psycopg

from cityops.base.city.profiles import CityProfile
from cityops.base.thresholds import load_thresholds
from cityops.bench.report import percentiles
from sensors_sim.incidents import GasLeak
from sensors_sim.simulate import Producer

#: The level at which `gas.lel_high` fires (thresholds.toml `gas.lel_major_pct`).
PROBE_LEL = load_thresholds().gas.lel_major_pct
PROBE_POLL_S = 0.05


# --- probes ------------------------------------------------------------------------------
def probe_incidents(city: CityProfile, count: int, span_s: float) -> list[GasLeak]:
    """Gas leaks on `count` detectors, spread over the first 60 % of the run's event time.

    A 2 s ramp and 1 s reports: the crossing reading follows the start within
    seconds of event time, so a probe is produced early enough in a short run.
    """
    ids = city.detectors.ids
    out = []
    for i in range(count):
        at = span_s * (0.15 + 0.45 * i / max(1, count - 1)) if count > 1 else span_s * 0.3
        out.append(
            GasLeak(
                entity_id=ids[(i * 7919 + 13) % len(ids)],
                at_s=round(at, 3),
                duration_s=120,
                ramp_s=2,
                decay_s=60,
                report_every_s=1,
                peak_lel_pct=60,
            )
        )
    return out


class ProbeProducer:
    """The simulator's producer, noting when each probe's crossing reading is sent."""

    def __init__(self, inner: Producer, probe_keys: set[bytes]) -> None:
        self.inner = inner
        self.probe_keys = probe_keys
        self.crossed_at: dict[str, float] = {}  # entity id -> wall time (time.time())

    async def start(self) -> None:
        await self.inner.start()

    async def stop(self) -> None:
        await self.inner.stop()

    async def flush(self) -> None:
        await self.inner.flush()

    async def send(self, topic: str, value: bytes, key: bytes, *, timestamp_ms: int) -> None:
        if key in self.probe_keys:
            entity = key.decode()
            if entity not in self.crossed_at and orjson.loads(value).get("lel_pct", 0) >= PROBE_LEL:
                self.crossed_at[entity] = time.time()
        await self.inner.send(topic, value, key, timestamp_ms=timestamp_ms)


async def poll_alerts(
    url: str, entities: list[str], seen: dict[str, float], stop: asyncio.Event
) -> None:
    query = (
        "SELECT DISTINCT entity_id FROM alert_history"
        " WHERE rule = 'gas.lel_high' AND state = 'firing' AND entity_id = ANY(%s)"
    )
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        while not stop.is_set() and len(seen) < len(entities):
            cur = await conn.execute(query, (entities,))
            now = time.time()
            for (entity,) in await cur.fetchall():
                seen.setdefault(entity, now)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), PROBE_POLL_S)


async def alert_send_times(bootstrap: str, topic: str, entities: set[str]) -> dict[str, float]:
    """When the worker produced each probe's `gas.lel_high` firing (record CreateTime, s).

    The worker's producer stamps records with its wall clock at send (aiokafka's
    default), on this machine's clock like the probes' crossing times, so the
    alert latency splits into worker (crossing -> alert sent) and sink (alert
    sent -> row seen).
    """
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    sent: dict[str, float] = {}
    try:
        while True:
            data = await consumer.getmany(timeout_ms=1000)
            if not data:
                break  # the alerts topic is small: an empty second means its end
            for records in data.values():
                for record in records:
                    alert = orjson.loads(record.value or b"{}")
                    entity = alert.get("entity_id")
                    if (
                        entity in entities
                        and alert.get("rule") == "gas.lel_high"
                        and alert.get("state") == "firing"
                    ):
                        sent.setdefault(entity, record.timestamp / 1000)
    finally:
        await consumer.stop()
    return sent


def latency_stages(
    crossed: dict[str, float], alert_sent: dict[str, float], seen: dict[str, float]
) -> dict[str, dict[str, float | None]]:
    """Percentiles of crossing -> alert produced (worker) and alert produced -> row seen."""
    both = [e for e in crossed if e in alert_sent and e in seen]
    return {
        "worker": percentiles([alert_sent[e] - crossed[e] for e in both]),
        "sink": percentiles([seen[e] - alert_sent[e] for e in both]),
    }
