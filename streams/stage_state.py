"""A stage task's state and sources, read back when its partition is gained.

- `ChangeTrackingTable`: the direct runtime's state mapping of one task (a dict
  that remembers its changes: they are the changelog records of a checkpoint);
- `restore_tables`: the gained partitions of every stage changelog, read to
  their end into fresh tables (the direct runtime; Faust restores its own);
- `replay_records`: a task's `replay_range()` read back from its source topics
  (both runtimes: `streams.direct` on assignment, `streams.app` when a task is
  built).

The reads go through a `cityops.base.kafka_reader.PartitionReader` (or the
consume loop's `Assignment`, which lends the loop's).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, MutableMapping, Sequence

from aiokafka import TopicPartition

from cityops.base.kafka_reader import ReadsBack
from streams.pipeline import RawMessage
from streams.stages import Stage

log = logging.getLogger(__name__)


class ChangeTrackingTable(MutableMapping[bytes, bytes]):
    """A dict of one task's encoded state that remembers what changed since `take_changes`.

    A task's flush writes here once per checkpoint; the changes are then the
    changelog records (None = deleted).
    """

    def __init__(self) -> None:
        self.data: dict[bytes, bytes] = {}
        self.changes: dict[bytes, bytes | None] = {}
        # The dict's own `get`, not a method calling it (Mapping.get would even go
        # through __getitem__ and a KeyError on every miss): the rule store reads
        # through it for nearly every event. `data` is only ever changed in place.
        self.get = self.data.get  # type: ignore[method-assign]

    def __getitem__(self, key: bytes) -> bytes:
        return self.data[key]

    def __contains__(self, key: object) -> bool:
        return key in self.data

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self.data[key] = value
        self.changes[key] = value

    def __delitem__(self, key: bytes) -> None:
        del self.data[key]
        self.changes[key] = None

    def write_batch(self, records: dict[bytes, bytes | None], deleted: Sequence[bytes]) -> None:
        """`self[key] = value` for each record in order, `del self[key]` for a None
        (`deleted`: those keys, all present), in two dict updates
        (`streams.state.BufferedJsonStore.flush`)."""
        data = self.data
        data.update(records)  # type: ignore[arg-type]  # the None ones go next
        for key in deleted:
            del data[key]
        self.changes.update(records)

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)

    def restore(self, key: bytes, value: bytes | None) -> None:
        """Apply one changelog record (not itself a change)."""
        if value is None:
            self.data.pop(key, None)
        else:
            self.data[key] = value

    def take_changes(self) -> dict[bytes, bytes | None]:
        changes, self.changes = self.changes, {}
        return changes


async def restore_tables(
    reader: ReadsBack, stages: Sequence[Stage], gained: Sequence[int]
) -> tuple[dict[int, list[ChangeTrackingTable]], int]:
    """Partitions `gained` of every stage changelog, read to their end: a table per
    (partition, stage), and how many records were read."""
    tables = {p: [ChangeTrackingTable() for _ in stages] for p in gained}
    index = {s.changelog: i for i, s in enumerate(stages)}
    read = 0
    tps = [TopicPartition(s.changelog, p) for s in stages for p in gained]
    async for data in reader.read_to_end(tps):
        for tp, records in data.items():
            table = tables[tp.partition][index[tp.topic]]
            for record in records:
                table.restore(record.key, record.value)
            read += len(records)
    return tables, read


async def replay_records(
    reader: ReadsBack,
    bare: Mapping[str, str],
    p: int,
    ranges: Mapping[str, tuple[int, int]],
) -> list[RawMessage]:
    """Records [from, to) of partition `p` of each topic, for a task's replay.

    `bare`: full topic name -> the name in `RawMessage.topic` (internal topics keep
    their full name)."""
    out: list[RawMessage] = []
    tps = {TopicPartition(t, p): r for t, r in ranges.items()}
    async for data in reader.read_ranges(tps):
        for tp, records in data.items():
            name = bare.get(tp.topic, tp.topic)
            out += [
                RawMessage(name, r.topic, r.partition, r.offset, r.key, r.value) for r in records
            ]
    log.info("partition %d: %d source records replayed", p, len(out))
    return out
