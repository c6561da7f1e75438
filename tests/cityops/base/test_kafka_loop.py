"""The consume loop's batch sizing (the loop itself runs against Tansu in
tests/streams/test_direct.py, tests/test_scale_out.py and the sink's tests)."""

from __future__ import annotations

from cityops.base.kafka_loop import BATCH_MIN, batch_room


def test_without_a_time_target_a_batch_is_batch_max_records() -> None:
    assert batch_room(None, 5000, 30e-6) == 5000


def test_before_any_batch_was_timed_the_loop_asks_for_batch_max() -> None:
    assert batch_room(0.05, 5000, 0.0) == 5000


def test_a_time_target_asks_for_what_that_time_of_processing_takes() -> None:
    # 50 ms at 25 us per record: 2,000 records
    assert batch_room(0.05, 5000, 25e-6) == 2000


def test_fast_records_are_capped_at_batch_max() -> None:
    assert batch_room(0.05, 5000, 1e-6) == 5000


def test_slow_records_still_make_batches_of_batch_min() -> None:
    # 50 ms at 1 ms per record would be 50 records: per-batch costs would dominate
    assert batch_room(0.05, 5000, 1e-3) == BATCH_MIN


def test_batch_min_never_exceeds_batch_max() -> None:
    assert batch_room(0.05, 10, 1e-3) == 10
