"""Garbage collector thresholds of the long-running consumers (worker and sink).

Both hold a batch of thousands of freshly allocated containers (records, rows,
state dicts) until it is written, so with CPython's default thresholds (700,
10, 10) those are scanned again and again, promoted into the old generations,
and set off full collections over the whole heap. Nothing in them relies on the
collector: what a batch allocates is freed by reference counting.
"""

from __future__ import annotations

import gc

# The worker: a batch keeps thousands of state dicts alive until its flush, so with the
# defaults they are promoted into the old generations and set off full
# collections that traverse every roll-up window object: 20-25 % of the
# processing CPU on megacity (`python -m streams.perf`, gc callbacks: 3.5 s of
# GC in ~13 s, 16 full collections of ~170 ms in 120 s of event time). With
# these, ~1 s and no full collection; memory is unchanged (nothing here relies
# on the collector: state is freed by reference counting). A batch allocates
# far more than 10,000 containers, so each was still scanned several times per
# batch (young collections: 0.6-0.9 s of a 120 s run, 8 % of the processing):
# 100,000 scans most of them once or never (0.3 s; 2026-12-01, docs/benchmarks.md).
GC_THRESHOLDS = (100_000, 20, 20)


def tune_gc() -> tuple[int, int, int]:
    """Apply GC_THRESHOLDS to the process; returns the thresholds before.

    The sink too: its 10,000-row batches (a `ConsumerRecord`, a row tuple and a
    decoded struct per message) cost it 0.5-0.7 us of collections per row with
    the defaults, none with these (megacity messages through `_Sink.add`,
    gc callbacks, 2026-12-01, docs/benchmarks.md)."""
    previous = gc.get_threshold()
    gc.set_threshold(*GC_THRESHOLDS)
    return previous
