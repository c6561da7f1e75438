"""`cityops up` says which storage mode it runs in (issue 12)."""

from __future__ import annotations

import pytest

from cityops.base.settings import Settings
from cityops.stack.postgres import EmbeddedPostgres
from cityops.stack.up import _migrate

pytestmark = pytest.mark.integration


def test_up_prints_the_storage_mode(
    embedded_postgres: EmbeddedPostgres, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings(_env_file=None, database_url=database_url)  # type: ignore[call-arg]
    _migrate(settings)
    # The session's cluster preloads TimescaleDB where the machine has it (not here:
    # Debian has no package), and the schema follows.
    expected = "timescaledb" if embedded_postgres.timescaledb else "postgresql"
    assert f"storage mode: {expected}\n" in capsys.readouterr().out


def test_prometheus_scrapes_every_worker_of_up_workers_n(
    stack_settings: Settings, created_topics: list[str]
) -> None:
    """`cityops up --workers 3`: the embedded Prometheus has the three workers' /metrics
    as targets, all up (it scraped only the first before 2026-12-01)."""
    import json
    import urllib.parse
    import urllib.request

    from cityops.stack.process import free_port
    from cityops.stack.up import Stack, start_monitoring, start_pipeline, worker_metrics_ports
    from tests.fixtures.pipeline import wait_until
    from tests.fixtures.prometheus import require_prometheus

    require_prometheus()
    settings = stack_settings.model_copy(
        # an external Alertmanager (none is started; no notifier either): Prometheus only
        update={"metrics_port_worker": free_port(), "alertmanager_url": "http://127.0.0.1:9"}
    )
    stack = Stack(settings, worker_ports=worker_metrics_ports(settings, 3))
    try:
        start_monitoring(settings, stack)
        start_pipeline(settings, stack, simulate_args=None, notifier=False, workers=3)
        url = stack.endpoints["prometheus"]
        expected = sorted(f"127.0.0.1:{p}" for p in stack.worker_ports)

        def workers_up() -> list[tuple[str, str]]:
            query = urllib.parse.urlencode({"query": 'up{job="worker"}'})
            with urllib.request.urlopen(f"{url}/api/v1/query?{query}") as response:
                result = json.load(response)["data"]["result"]
            return sorted((r["metric"]["instance"], r["value"][1]) for r in result)

        got = wait_until(
            workers_up,
            lambda up: [i for i, v in up if v == "1"] == expected,
            timeout=90,
            what="Prometheus scraping three workers",
            procs={p.name: p for p in stack.processes},
        )
    finally:
        stack.stop()
    assert len(expected) == 3
    assert got == [(instance, "1") for instance in expected]
