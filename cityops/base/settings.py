"""The one typed settings object of CityOps.

Every environment variable the project reads is a field here, named
``CITYOPS_<FIELD>`` (for example ``CITYOPS_KAFKA_BOOTSTRAP``). Nothing else in
the code base reads ``os.environ`` for configuration: search this file to find
any setting. Settings are read once, at start, and invalid values stop the
process with a message that names the variable and says what to fix.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "CITYOPS_"
#: Written by `cityops up` so other commands run in the same folder find the
#: running stack; real environment variables take precedence over it.
STACK_ENV_FILE = Path(".cityops") / "stack.env"


class ConfigurationError(SystemExit):
    """Raised (and exits non-zero) when the configuration cannot be used."""


#: The simulator's batch linger, s (`sensors_sim.producer`, `CITYOPS_SIM_LINGER_S`).
#: The embedded broker (Tansu 0.6, memory storage) keeps every produced record
#: batch as its own object and walks all of a partition's stored batches on every
#: fetch (~1.1 us of broker CPU per stored batch and fetch; ListOffsets ~0.45 us;
#: tansu-storage `dynostore.rs`), so its cost per event grows with the number of
#: batches, i.e. with the run's length divided by the linger. 10 ms kept Tansu at
#: 0.47 of a core in a 600 s megacity run (against 0.14 in 30 s runs), hence 50 ms
#: (2026-11-22); 200 ms since 2026-12-02: megacity at 15,000 events/s for 240 s,
#: two alternating pairs on a shared machine, the worker carried 13.7k / 10.0k
#: events/s steady against 6.6k / 5.7k with 50 ms, the broker 12-14 against
#: 17-18 us per event (docs/benchmarks.md, "Fifth sitting"). 1 s was tried in the
#: sixth sitting and not kept: at 15,000 events/s the broker cost 40 % less, but
#: flat out the simulator sent 2-23 % more events than the run planned and the
#: sink's CPU per row rose to 6.3-13.1 us (cause not found; "Sixth sitting"). A
#: simulated event waits up to this long before the broker has it; the bench's
#: probes ship at once (`cityops.bench.probes`), as a real device sends a reading
#: when it takes it.
SIM_LINGER_S = 0.2


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_file=STACK_ENV_FILE, extra="ignore", frozen=True
    )

    # --- external services; when set, `cityops up` starts none of its own ---
    kafka_bootstrap: str | None = Field(
        None, description="host:port[,host:port] of an existing Kafka; unset = embedded Tansu"
    )
    database_url: str | None = Field(
        None, description="postgresql:// URL of the sink's database; unset = embedded PostgreSQL"
    )
    grafana_database_url: str | None = Field(
        None, description="URL for the read-only Grafana role (dashboards tests)"
    )
    writer_password: SecretStr | None = Field(
        None, description="password set for the cityops_writer role by migrations"
    )
    grafana_password: SecretStr | None = Field(
        None, description="password set for the read-only cityops_grafana role"
    )
    alertmanager_url: str | None = Field(
        None, description="http://host:port of Alertmanager; unset = embedded when installed"
    )

    # --- where the embedded stack keeps its state ---
    state_dir: Path = Field(Path(".cityops"), description="data, logs and pid files")

    # --- topics ---
    topic_prefix: str = Field(
        "", description="prefix for every topic name (tests give each test its own)"
    )
    # Partitions of every feed, of alerts.ack.v1 and of the worker's internal
    # topics (keyed stages, streams/stages): the unit of scale-out and failover.
    # Every event time and watermark is per partition, so a lagging partition
    # never makes another's entities look offline. Compose sets 8.
    topic_partitions: int = Field(
        4, ge=1, le=256, description="partitions per topic (the most workers that help)"
    )

    # --- simulator ---
    profile: str = Field("small", description="city profile: small, qingdao or megacity")
    seed: int = 42
    sim_rate: float = Field(
        0.0, ge=0, description="events/s target for the simulator; 0 = real time"
    )
    sim_linger_s: float = Field(
        SIM_LINGER_S,
        ge=0,
        le=5,
        description="how long the simulator holds an open record batch (s)",
    )

    # --- stream processing ---
    worker_id: str = Field(
        "cityops-worker", description="the worker's consumer group (and Faust app id)"
    )
    # Both runtimes run the same pure Processor, rules and windows and pass the
    # same integration tests. "direct" (aiokafka batches, streams/direct.py) is the
    # default: on megacity at 15k events/s it carried 11.8-14.9k events/s against
    # Faust's 1.6-2.2k on this 2-core machine, Faust's per-message stream machinery
    # being ~75 % of its worker's CPU (py-spy; docs/benchmarks.md).
    worker_runtime: Literal["faust", "direct"] = Field(
        "direct", description="direct = aiokafka batches; faust = the Faust app (slower)"
    )
    rules_file: Path | None = Field(None, description="TOML file overriding rule thresholds")
    max_event_age_s: float = Field(
        7 * 24 * 3600,
        gt=0,
        le=366 * 24 * 3600,
        description="reject events older than this vs the wall clock (at most a year)",
    )
    max_event_future_s: float = Field(
        300, gt=0, le=24 * 3600, description="reject events further in the future than this"
    )
    # Tansu holds a group join for the whole rebalance timeout (measured: 60 s
    # with Faust's default), so the embedded default is short (DESIGN.md).
    broker_rebalance_timeout_s: float = Field(3.0, gt=0)
    # A merging stage (circuits, districts) waits for the slowest input partition;
    # one silent this long stops holding it back (Kafka Streams max.task.idle.ms).
    # Well above a failover (a few s) and a rebalance: within it, results are exact.
    worker_idle_timeout_s: float = Field(
        30.0, gt=0, description="processing-time idleness of a merged stage's input"
    )
    # quix-streams' commit_interval: state changelog + offsets every this often
    # (alerts leave per batch; the other outputs within `streams.direct.OUT_LINGER_S`).
    worker_commit_interval_s: float = Field(1.0, ge=0, description="checkpoint interval")
    # The entity stage's windows snapshot encoded in a forked child (off the loop:
    # no 0.2-0.4 s block per snapshot), for ~2-3 us/event of copy-on-write faults in
    # the worker and the child's CPU on the other core (docs/benchmarks.md, step h13).
    worker_snapshot_fork: bool = Field(
        True, description="encode windows snapshots in a forked child (false: in line)"
    )
    # Failover: a survivor takes a dead member's partitions once its session
    # expires. aiokafka's default 10 s session (+ 3 s heartbeats) was ~13 s of
    # the 20.5-21.7 s measured from `kill -9` to lag 0 (issue 13).
    worker_session_timeout_s: float = Field(3.0, ge=1, description="consumer session timeout")
    worker_heartbeat_interval_s: float = Field(0.5, gt=0, description="heartbeat interval")
    table_cleanup_interval_s: float = Field(
        5.0, gt=0, description="how often window-close callbacks fire"
    )

    # --- sink ---
    sink_group: str = "cityops-sink"
    # 10k rows per COPY: 121k rows/s vs 95k at 5k on 2 cores (cityops/bench/sink.py, measured).
    sink_batch_size: int = Field(10_000, ge=1, le=1_000_000)
    sink_flush_interval_s: float = Field(0.5, gt=0)
    # Alerts are stored at once in their own transaction (sinks/alert_lane.py); one
    # that lane could not store (a database error) goes with the readings' batch,
    # which is then written within this interval instead of sink_flush_interval_s.
    sink_alert_flush_interval_s: float = Field(
        0.1, gt=0, description="longest an alert not yet stored waits for the sink's batch"
    )
    sink_write_mode: Literal["copy", "insert"] = Field(
        "copy", description="copy = COPY into staging; insert = multi-row INSERT (PGlite)"
    )

    # --- notifier ---
    notifier_group: str | None = Field(
        None, description="consumer group of `cityops notify` (default: <worker_id>-notifier)"
    )
    notifier_resend_interval_s: float = Field(
        60.0, gt=0, description="re-send firing alerts this often so Alertmanager keeps them"
    )

    # --- one-click acknowledge (sinks/ack_service.py, streams/acklink.py) ---
    ack_secret: SecretStr | None = Field(
        None,
        description=(
            "HMAC key of the acknowledge links (>= 32 characters); the ack service refuses "
            "to start without it; `cityops up` makes a random one per run"
        ),
    )
    ack_base_url: str | None = Field(
        None,
        description=(
            "URL responders reach the ack service at (http://host:port); set = the notifier "
            "puts ack links into every alert"
        ),
    )
    ack_link_ttl_s: float = Field(
        24 * 3600, gt=0, le=30 * 24 * 3600, description="how long an acknowledge link works"
    )
    ack_host: str = Field("127.0.0.1", description="address the ack service listens on")
    ack_port: int = Field(9110, ge=0, le=65535, description="port of the ack service")

    # --- metrics (0 = disabled) ---
    metrics_host: str = Field(
        "127.0.0.1", description="address /metrics listens on (0.0.0.0 in containers)"
    )
    metrics_port_worker: int = Field(9101, ge=0, le=65535)
    metrics_port_sink: int = Field(9102, ge=0, le=65535)
    metrics_port_notifier: int = Field(9103, ge=0, le=65535)
    metrics_port_simulator: int = Field(9104, ge=0, le=65535)

    # --- links put into alerts ---
    runbook_base_url: str = Field(
        "https://github.com/cityops/cityops/blob/main/docs/runbooks",
        description="base URL of docs/runbooks",
    )
    dashboard_base_url: str = Field("http://localhost:3000", description="Grafana URL")

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("kafka_bootstrap")
    @classmethod
    def _bootstrap_has_ports(cls, value: str | None) -> str | None:
        if value is None:
            return None
        for server in value.split(","):
            host, sep, port = server.strip().rpartition(":")
            if not sep or not host or not port.isdigit():
                raise ValueError(f"expected host:port[,host:port], got {value!r}")
        return value

    @field_validator("database_url", "grafana_database_url")
    @classmethod
    def _database_url_scheme(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("postgresql://", "postgres://")):
            raise ValueError("must start with postgresql:// (for example postgresql://u@h:5432/db)")
        return value

    @field_validator("profile")
    @classmethod
    def _known_profile(cls, value: str) -> str:
        from cityops.base.city.profiles import PROFILES  # the profiles own their names

        if value not in PROFILES:
            raise ValueError(f"unknown city profile; choose one of: {', '.join(PROFILES)}")
        return value

    @field_validator("rules_file")
    @classmethod
    def _usable_rules_file(cls, value: Path | None) -> Path | None:
        if value is not None:
            from cityops.base.thresholds import ThresholdsError, load_thresholds

            try:
                load_thresholds(value)  # fail at start, with the key and the fix
            except (ThresholdsError, OSError) as exc:
                raise ValueError(str(exc)) from None
        return value

    def topic(self, name: str) -> str:
        """The full topic name for one of the names in `streams.topics`."""
        return f"{self.topic_prefix}{name}"

    def require_database_url(self, purpose: str, *, read_only: bool = False) -> str:
        """The database URL (the read-only Grafana role's first when `read_only`), or a
        ConfigurationError that says what to set; `purpose` ends "point it at the database
        ...", as in "to use"."""
        url = (self.grafana_database_url if read_only else None) or self.database_url
        if not url:
            names = "CITYOPS_DATABASE_URL" + (
                " (or CITYOPS_GRAFANA_DATABASE_URL)" if read_only else ""
            )
            raise ConfigurationError(
                f"{names} is not set: point it at the database {purpose} "
                "(`cityops up` sets it for the embedded PostgreSQL)"
            )
        return url


def redact(value: object) -> object:
    """Hide the password of a URL (postgresql://user:secret@host) in messages and logs."""
    if isinstance(value, str) and "://" in value and "@" in value:
        scheme, _, rest = value.partition("://")
        userinfo, _, host = rest.rpartition("@")
        return f"{scheme}://{userinfo.split(':')[0]}:***@{host}"
    return value


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment; exit with a clear message when invalid."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = ["invalid CityOps configuration:"]
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"])
            shown = redact(err.get("input"))
            lines.append(f"  {ENV_PREFIX}{field.upper()}: {err['msg']} (got {shown!r})")
        lines.append("fix the environment variable(s) above, or unset them to use the defaults")
        raise ConfigurationError("\n".join(lines)) from None


def stack_env_is_live(path: Path = STACK_ENV_FILE) -> bool:
    """True when `path` was written by a `cityops up` that is still running.

    `cityops up` records its pid on the first line (a comment); a file left by
    a run that was killed would point every command at services that are gone.
    """
    try:
        first = path.read_text(encoding="utf-8").splitlines()[0]
        pid = int(first.removeprefix("# cityops up pid ").strip())
        os.kill(pid, 0)
    except (OSError, ValueError, IndexError):
        return False
    return True


@functools.cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    if STACK_ENV_FILE.exists() and not stack_env_is_live():
        return load_settings(_env_file=None)
    return load_settings()
