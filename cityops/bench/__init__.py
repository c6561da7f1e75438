"""`cityops bench`: drive a city profile through the embedded stack and measure it.

    cityops bench --profile megacity --duration 60 --rate 15000 --json bench.json
    cityops bench --profile small --duration 10 --rate max --compare
    cityops bench sink --rows 500000 --batch-size 10000

One run starts a private broker and PostgreSQL (or uses the configured ones),
the worker and the sink as child processes, and produces the profile
in-process (the simulator's own `run_simulation`, so the same generator and
producer settings) for `--duration` wall seconds at `--rate` events/s or flat
out. While it runs, a sampler reads every few seconds:

- the simulator's delivered count (in-process counter), the worker's
  `cityops_events_in_total` and the sink's `cityops_sink_rows_total` (their
  /metrics), per-stage rates;
- consumer lag: log-end offsets minus the committed offsets of the worker
  and sink groups (the worker commits after each batch's outputs are
  acknowledged, the Faust runtime every ~3 s, so the worker's lag includes the
  work in flight);
- CPU seconds and resident memory of every process (from /proc).

Alert latency comes from probe incidents (gas leaks on a few detectors at
known event times): the producer wrapper records the wall time at which each
probe's first threshold-crossing reading (lel_pct >= `gas.lel_major_pct`) is handed to Kafka,
and a poller sees its `gas.lel_high` row appear in `alert_history` (polled
every 50 ms, so figures are up to 50 ms late; the schema has no commit-time
column, see docs/benchmarks.md).

`--compare` runs, in the same invocation and with the same generator and
rate, the raw ceiling (aiokafka produce -> consume -> COPY of the raw bytes,
no processing) and a straightforward baseline (one consumer per feed, one
event at a time: validate, rules, one INSERT per event), and reports CityOps
as ratios to both.
"""
