"""Alert-latency probes: gas leaks at known event times, and when their alerts appear."""

from __future__ import annotations

import asyncio
import functools
import time

import orjson
import psycopg
from psycopg import sql

from cityops.base.city.profiles import CityProfile
from cityops.base.thresholds import load_thresholds
from cityops.bench.report import percentiles
from sensors_sim.incidents import GasLeak
from sensors_sim.producer import BatchingProducer
from sensors_sim.simulate import Producer

#: The level at which `gas.lel_high` fires (thresholds.toml `gas.lel_major_pct`).
PROBE_LEL = load_thresholds().gas.lel_major_pct
#: How often the notification listener checks whether it should stop (no effect on
#: the figures: a row's time is its commit's, carried in the notification).
PROBE_POLL_S = 0.05


# --- probes ------------------------------------------------------------------------------
def probe_incidents(city: CityProfile, count: int, span_s: float) -> list[GasLeak]:
    """Gas leaks on `count` detectors, spread evenly over 10-90 % of the run's event time.

    Spread over the whole run so that a long run's p99 covers its late minutes
    too (state filled, lag built up), and 100+ probes do not overlap much. A
    2 s ramp and 1 s reports: the crossing reading follows the start within
    seconds of event time. The load does not change with the count: the
    simulator paces the total events sent, and a leak only adds its detector's
    1 s reports (~120 readings per probe, under 0.2 % of a ten-minute run's
    events with 100 probes).
    """
    ids = city.detectors.ids
    out = []
    for i in range(count):
        at = span_s * (0.1 + 0.8 * i / max(1, count - 1)) if count > 1 else span_s * 0.3
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
    """The simulator's producer, noting when each probe's crossing reading is sent and
    when the broker acknowledged it.

    `at_once`: the crossing reading's batch is shipped at once instead of after
    the producer's linger (`CITYOPS_SIM_LINGER_S`; a real detector sends a reading when it takes
    it; the rest of the simulated load keeps the cheap batching).
    """

    def __init__(self, inner: Producer, probe_keys: set[bytes], *, at_once: bool) -> None:
        self.inner = inner
        self.probe_keys = probe_keys
        self.at_once = at_once
        self.crossed_at: dict[str, float] = {}  # entity id -> wall time (time.time())
        self.acked_at: dict[str, float] = {}  # entity id -> broker ack of that reading

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
                if isinstance(self.inner, BatchingProducer):
                    acked = await self.inner.send_traced(
                        topic, value, key, timestamp_ms=timestamp_ms, at_once=self.at_once
                    )
                    acked.add_done_callback(functools.partial(self._acked, entity))
                    return
        await self.inner.send(topic, value, key, timestamp_ms=timestamp_ms)

    def _acked(self, entity: str, acked: asyncio.Future[float]) -> None:
        # a failed delivery fails the run at the next flush; here it is only not timed
        if not acked.cancelled() and acked.exception() is None:
            self.acked_at[entity] = acked.result()


# --- when the probes' alerts are stored -------------------------------------------------
#: Notifies `channel` with "<entity> <epoch s>" when a probe's firing row is committed.
#: A deferred constraint trigger runs at the transaction's commit, so clock_timestamp()
#: is the commit time on this machine's clock, whatever the bench's own event loop is
#: doing (it also runs the simulator); the receipt time is kept only to report the
#: notification's delay.
_TRIGGER = """
CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.rule = 'gas.lel_high' AND NEW.state = 'firing' THEN
        PERFORM pg_notify({channel}, NEW.entity_id || ' ' ||
                          extract(epoch FROM clock_timestamp())::text);
    END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER {trigger} AFTER INSERT ON alert_history
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION {function}();
"""


def probe_channel(topic_prefix: str) -> str:
    """The run's notification channel (and trigger name): run-private like its topics."""
    return "cityops_probe_" + "".join(c if c.isalnum() else "_" for c in topic_prefix).strip("_")


async def install_probe_trigger(url: str, channel: str) -> None:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute(
            sql.SQL(_TRIGGER).format(
                function=sql.Identifier(f"{channel}_fn"),
                trigger=sql.Identifier(channel),
                channel=sql.Literal(channel),
            )
        )


async def drop_probe_trigger(url: str, channel: str) -> None:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute(
            sql.SQL("DROP TRIGGER IF EXISTS {} ON alert_history").format(sql.Identifier(channel))
        )
        await conn.execute(
            sql.SQL("DROP FUNCTION IF EXISTS {}()").format(sql.Identifier(f"{channel}_fn"))
        )


async def listen_alerts(
    url: str,
    channel: str,
    entities: list[str],
    seen: dict[str, float],
    delays: list[float],
    listening: asyncio.Event,
    stop: asyncio.Event,
) -> None:
    """Fill `seen` (entity -> commit time of its first firing row) from the trigger's
    notifications; `delays`: receipt minus commit time of each, for the report."""
    wanted = set(entities)
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
        listening.set()
        while not stop.is_set() and len(seen) < len(wanted):
            async for note in conn.notifies(timeout=PROBE_POLL_S):
                entity, _, stamp = note.payload.rpartition(" ")
                if entity in wanted and entity not in seen:
                    seen[entity] = float(stamp)
                    delays.append(time.time() - float(stamp))


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


def hop_values(
    crossed: dict[str, float],
    alert_sent: dict[str, float],
    seen: dict[str, float],
    acked: dict[str, float] | None = None,
) -> dict[str, list[float]]:
    """Each probe's time in each hop of its way, over the probes timed at both ends.

    worker: crossing -> alert produced; sink: alert produced -> row committed;
    and, with the broker's acks, the worker's part split into simulator -> broker
    (crossing -> the reading's batch acknowledged) and broker -> worker out.
    """
    both = [e for e in crossed if e in alert_sent and e in seen]
    out = {
        "worker": [alert_sent[e] - crossed[e] for e in both],
        "sink": [seen[e] - alert_sent[e] for e in both],
    }
    if acked is not None:
        timed = [e for e in both if e in acked]
        out["simulator_to_broker"] = [acked[e] - crossed[e] for e in timed]
        out["broker_to_worker_out"] = [alert_sent[e] - acked[e] for e in timed]
        out["worker_out_to_sink_row"] = out["sink"]
    return out


def latency_stages(
    crossed: dict[str, float],
    alert_sent: dict[str, float],
    seen: dict[str, float],
    acked: dict[str, float] | None = None,
) -> dict[str, dict[str, float | None]]:
    """Percentiles of each hop (`hop_values`)."""
    return {
        hop: percentiles(values)
        for hop, values in hop_values(crossed, alert_sent, seen, acked).items()
    }
