"""The district stage's merged roll-ups on sparse districts (streams/stages/district.py).

A district whose detectors sit on several partitions, but which does not have a
reading on every partition every minute (a sparse district, megacity's outskirts):
the merged gas minute must still count every detector the district has known and
every one still online, wherever its partition, exactly as one partition and as
`sinks/recompute.py` say.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from cityops.base.city.profiles import load_profile
from sinks.recompute import recompute_rollups
from streams import topics
from streams.models import GasDetectorReading, Rollup
from tests.fixtures.rollup_compare import rollup_differences
from tests.fixtures.topology import rollups_once, run_topology
from tests.streams.test_app import gas_event
from tests.streams.test_stages import topo_partition


def _sparse_events(seed: int) -> list[tuple[str, bytes, bytes]]:
    """Two sparse districts of 12 detectors each: every detector reports in a minute
    with probability 0.3 (a quarter stop for good halfway), so in most minutes some
    partitions have no reading of a district while others have. A dense district
    (every detector every minute) keeps every partition's gas time moving, as the
    rest of a city does."""
    rng = random.Random(seed)
    t0 = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=2)
    events: list[tuple[datetime, str, bytes, bytes]] = []
    for district, chance in (("outskirts", 0.3), ("harbour", 0.3), ("central", 1.0)):
        for i in range(12):
            detector = f"GD-{district[:3]}-{i:02d}"
            sparse = chance < 1.0
            last = rng.randrange(5, 25) if sparse and i % 4 == 0 else 40
            for minute in range(last):
                if rng.random() < chance:
                    at = t0 + timedelta(minutes=minute, seconds=rng.randrange(60))
                    body = gas_event(detector, at, rng.uniform(0.0, 30.0), district=district)
                    events.append((at, topics.GAS_DETECTOR, detector.encode(), orjson.dumps(body)))
    events.sort(key=lambda e: e[0])
    return [(topic, key, value) for _, topic, key, value in events]


def _gas_rollups(events: list, partitions: int, seed: int, crash_every: int = 0) -> list[Rollup]:
    topo = run_topology(events, partitions, seed, crash_every)
    assert topo.deadletters == 0
    once = rollups_once(topo.rollups)
    return sorted(once.values(), key=lambda r: (r.bucket, r.feed, r.district))


def _sparse_minutes(events: list, partitions: int) -> int:
    """(district, minute)s with readings in which a partition that has seen a detector
    of the district before has no reading of it: the case under test."""
    known: dict[tuple[str, int], datetime] = {}  # (district, partition) -> first seen
    minutes: dict[tuple[str, datetime], set[int]] = {}
    for _, key, value in events:
        r = GasDetectorReading.model_validate_json(value)
        p = topo_partition(key.decode(), partitions)
        known.setdefault((r.district, p), r.ts)
        minute = r.ts.replace(second=0, microsecond=0)
        minutes.setdefault((r.district, minute), set()).add(p)
    return sum(
        1
        for (district, minute), parts in minutes.items()
        for (d, p), first in known.items()
        if d == district and p not in parts and first < minute
    )


@pytest.mark.parametrize(("seed", "crash_every"), [(1, 0), (2, 0), (3, 11)])
def test_sparse_districts_merge_to_every_known_and_online_detector(
    seed: int, crash_every: int
) -> None:
    events = _sparse_events(seed)
    merged = _gas_rollups(events, 4, seed, crash_every)
    single = _gas_rollups(events, 1, seed)
    readings = [GasDetectorReading.model_validate_json(v) for _, _, v in events]
    recomputed = recompute_rollups(
        {topics.GAS_DETECTOR: readings}, load_profile("small"), {r.bucket for r in single}
    )
    assert len(single) > 60
    assert _sparse_minutes(events, 4) > 30, "minutes a partition knows a district, reading none"
    assert rollup_differences(single, recomputed, rel=1e-9, abs_=1e-9) == []
    assert rollup_differences(merged, single, rel=1e-9, abs_=1e-9) == []
