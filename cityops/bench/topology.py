"""What `cityops.bench.processing` times: the processor of one batch, two ways.

- `Monolith`: one `Processor` over one store, every rule in one engine (the
  shape `streams.perf` measured until the stages split, and the Faust app's).
- `Stages`: the worker as `streams.direct` runs it: the entity, circuit and
  district stages of `streams.stages.build_stages`, one partition, each task over
  its own `ChangeTrackingTable`; the records the entity stage writes for the
  repartition topics are handed to the circuit and district tasks in the same
  batch, in the order the worker's consumer would read them. Kafka is left out
  (produce and fetch of those records are the loop's cost, not the processor's).

Both return what the digest covers: the batch's outputs, its internal records,
and the state changes of every table, in a fixed order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from cityops.base.settings import Settings
from streams.pipeline import Output, Processor, RawMessage
from streams.rules.engine import GROUP_KEY_PREFIXES, RuleEngine
from streams.stage_state import ChangeTrackingTable
from streams.stages import Record, StageTask
from streams.stages.build import build_stages
from streams.state import BufferedJsonStore
from streams.windows import RollupWindows


class Runner(Protocol):
    def process(self, groups: Sequence[list[RawMessage]]) -> tuple[list[Output], list[Record]]: ...

    def flush(self) -> None: ...

    def take_changes(self) -> dict[bytes, bytes | None]: ...

    def state_keys(self) -> int: ...


class Monolith:
    def __init__(self, settings: Settings, clock: Callable[[], datetime]) -> None:
        self.table = ChangeTrackingTable()
        self.state = BufferedJsonStore(self.table, keep_decoded=GROUP_KEY_PREFIXES)
        # the entity stage's settings (thresholds, city, bounds), every rule in one engine
        entity = build_stages(settings, clock)[0]
        engine = RuleEngine(
            entity.thresholds, entity.city, self.state, runbook_base_url=entity.runbook_base_url
        )
        lateness = timedelta(seconds=entity.thresholds.windows.close_after_s)
        self.processor = Processor(
            engine,
            RollupWindows(entity.city, allowed_lateness=lateness),
            clock=clock,
            max_age=entity.max_age,
            max_future=entity.max_future,
        )

    def process(self, groups: Sequence[list[RawMessage]]) -> tuple[list[Output], list[Record]]:
        return [self.processor.handle_feed(group) for group in groups], []

    def flush(self) -> None:
        self.state.flush()

    def take_changes(self) -> dict[bytes, bytes | None]:
        return self.table.take_changes()

    def state_keys(self) -> int:
        return len(self.table)


class Stages:
    def __init__(self, settings: Settings, clock: Callable[[], datetime]) -> None:
        # one partition: every source a merging stage waits for is this one
        one = settings.model_copy(update={"topic_partitions": 1})
        entity, circuit, district = build_stages(one, clock)
        # processing time stands still: no source of the gates goes idle
        entity.monotonic = lambda: 0.0
        self.tables = [ChangeTrackingTable() for _ in range(3)]
        self.entity: StageTask = entity.task(0, self.tables[0])
        self.circuit: StageTask = circuit.task(0, self.tables[1])
        self.district: StageTask = district.task(0, self.tables[2])
        self.by_circuit = entity.names.by_circuit
        self.by_district = entity.names.by_district
        self.offsets = {self.by_circuit: 0, self.by_district: 0}

    def _messages(self, topic: str, records: list[Record]) -> list[RawMessage]:
        out = []
        for r in records:
            if r.topic == topic:
                offset = self.offsets[topic]
                self.offsets[topic] = offset + 1
                out.append(RawMessage(topic, topic, 0, offset, r.key, r.value))
        return out

    def process(self, groups: Sequence[list[RawMessage]]) -> tuple[list[Output], list[Record]]:
        first = self.entity.process([m for group in groups for m in group])
        records = first.records
        circuit = self.circuit.process(self._messages(self.by_circuit, records))
        district = self.district.process(self._messages(self.by_district, records))
        return [first.out, circuit.out, district.out], records

    def flush(self) -> None:
        for task in (self.entity, self.circuit, self.district):
            task.flush()

    def take_changes(self) -> dict[bytes, bytes | None]:
        changes: dict[bytes, bytes | None] = {}
        for i, table in enumerate(self.tables):
            changes.update({b"%d/" % i + k: v for k, v in table.take_changes().items()})
        return changes

    def state_keys(self) -> int:
        return sum(len(t) for t in self.tables)


RUNNERS: dict[str, Callable[[Settings, Callable[[], datetime]], Runner]] = {
    "stages": Stages,
    "monolith": Monolith,
}
