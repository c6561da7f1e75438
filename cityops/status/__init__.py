"""`cityops status`: a live terminal view of a running pipeline.

Data sources, each optional (a missing one is shown, never fatal):

* the `/metrics` endpoints of the processes (worker, sink, notifier,
  simulator; ports from settings, or `--metrics-url`): events per feed and
  their rate, dead letters, consumer lag, and per-district lit rate / heating
  compliance when there is no database;
* the database (read-only, parameterised SQL on `alerts` and `rollups_1m`):
  open alerts and the latest closed minute per district;
* Alertmanager (`/api/v2/alerts`) for open alerts when there is no database.

`collect()` gathers a `StatusSnapshot`; `render_status(snapshot)` is pure and
returns a rich renderable; `--once` prints one frame (tests, `make run`).
"""
