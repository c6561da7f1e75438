"""The keyed stages of the worker: pure processors, one task per input partition.

Both runtimes (the default aiokafka loop in `streams.direct`, the Faust app in
`streams.app`) wire the same three stages; a runtime only moves bytes between
Kafka and the tasks, and keeps each task's state mapping durable.

Topology (P = `Settings.topic_partitions` for every topic below; all keyed so
that partition p of every topic is one unit of work):

    feeds (key = entity id) ─┐
    alerts.ack.v1 (key = entity id of the alert)
         │                   │
         ▼                   ▼
    entity stage ──► <app>-streetlight.status.v1-circuit_id-repartition (key = circuit id)
         │                   ──► circuit stage ──► alerts.v1
         ├──► <app>-rollups.v1-district-repartition (key = district)
         │                   ──► district stage ──► rollups.v1, alerts.v1 (lit rate)
         ├──► <app>-entity-feed-time (markers: newest event time per feed, to every
         │     other partition) ──► entity stage (peer time of an idle partition)
         └──► alerts.v1, deadletter.v1

The interface (what h13f's Faust wiring and `streams.direct` rely on):

- `Stage.name`, `Stage.inputs` (full topic names; the task of partition p reads
  partition p of each), `Stage.changelog` (full name of the compacted changelog,
  partitioned like the inputs: changelog partition p holds task p's state).
- `Stage.task(partition, state)` builds the task of one partition over its state
  mapping (`MutableMapping[bytes, bytes]`: a dict, a `ChangeTrackingTable`, a
  Faust table with raw serializers). The mapping must already hold everything
  restored from changelog partition p: the task reads it once, here.
- `StageTask.process(messages)` takes that partition's raw messages in offset
  order (several topics: the task orders them itself) and returns a
  `StageOutput`: outputs for `alerts.v1`/`rollups.v1`/`deadletter.v1` (an
  `Output`, encoded by `streams.outputs.output_records`) plus `records` for the
  internal topics, some with an explicit partition (watermark markers go to
  every partition).
- `StageTask.replay_range()` / `replay(messages)`: right after `task(...)`, a task
  may ask for source records it has already processed but whose effect is not in
  the restored state (the entity stage stores its windows every
  `entity.SNAPSHOT_EVERY` events, not at every checkpoint): `{topic: (from, to)}`
  offsets of its partition; the runtime reads them and calls `replay` once with
  them in offset order, before any `process`. None = nothing to replay.
- `resume()` (entity tasks only; optional for a runtime): call it after every
  rebalance, so the time partitions spent moving does not count as their feeds'
  idleness.
- `StageTask.tick()` is the processing-time hook (idleness of merged inputs,
  `pipeline.feed_silent`): call it when a poll comes back empty, at least every
  few seconds.
- `StageTask.flush()` writes everything the task holds only in memory (rule
  state buffered per batch, roll-up windows, merge buffers) into the mapping.
  Call it before sending the changelog and committing offsets: after a flush,
  the mapping + the committed offsets are the whole truth of the partition.
- The clock is given to the stage (`clock()` -> aware datetime); a task never
  reads the wall clock otherwise and never does I/O.

Determinism: a task's results depend only on its partition's input sequence
(event time and offsets), never on batch boundaries, on which worker owns it, or
on timing, except where an entity partition that received nothing of a feed for
`Settings.worker_idle_timeout_s` declares itself idle: a merged stage moves on
without it (`streams.stages.gate`), and it takes that feed's time from the other
partitions (peer time, `streams.stages.entity`; docs/ARCHITECTURE.md).
"""

from streams.stages.base import Record, Stage, StageOutput, StageTask, StageTopics

__all__ = ["Record", "Stage", "StageOutput", "StageTask", "StageTopics"]
