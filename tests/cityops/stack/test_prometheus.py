"""deploy/prometheus.yml and the embedded Prometheus (checked by promtool, run for real)."""

from __future__ import annotations

import json
import shutil
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import yaml
from prometheus_client import CollectorRegistry, Counter

from cityops.base.metrics import serve, stop_serving
from cityops.stack import prometheus as prom_module
from cityops.stack.process import StackError, free_port, wait_until
from cityops.stack.prometheus import EmbeddedPrometheus, build_config, check_config
from tests.fixtures.prometheus import StartPrometheus, start_prometheus  # noqa: F401 - fixture

DEPLOY = Path(__file__).resolve().parents[3] / "deploy" / "prometheus.yml"
needs_promtool = pytest.mark.skipif(
    shutil.which("promtool") is None, reason="promtool is not installed (prometheus)"
)


def test_compose_config_scrapes_every_process() -> None:
    config = yaml.safe_load(DEPLOY.read_text(encoding="utf-8"))
    targets = {
        job["job_name"]: job["static_configs"][0]["targets"]
        for job in config["scrape_configs"]
        if "static_configs" in job
    }
    # the worker runs as N replicas (compose deploy.replicas): found by DNS, each scraped
    (worker,) = [job for job in config["scrape_configs"] if job["job_name"] == "worker"]
    assert worker["dns_sd_configs"] == [{"names": ["worker"], "type": "A", "port": 9101}]
    assert targets["sink"] == ["sink:9102"]
    assert targets["notifier"] == ["notifier:9103"]
    assert targets["simulator"] == ["simulator:9104"]


@needs_promtool
def test_promtool_accepts_the_configs(tmp_path: Path) -> None:
    assert "SUCCESS" in check_config(DEPLOY)
    embedded = tmp_path / "prometheus.yml"
    embedded.write_text(
        yaml.safe_dump(
            build_config(
                {"worker": ["127.0.0.1:9101"], "notifier": ["127.0.0.1:9103"]},
                alertmanagers=["127.0.0.1:9093"],
            )
        ),
        encoding="utf-8",
    )
    assert "SUCCESS" in check_config(embedded)


@needs_promtool
def test_promtool_rejects_a_broken_config(tmp_path: Path) -> None:
    broken = tmp_path / "bad.yml"
    broken.write_text("scrape_configs:\n  - job_name: x\n    scrape_interval: soon\n")
    with pytest.raises(StackError, match="invalid Prometheus configuration"):
        check_config(broken)


def test_missing_binary_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(prom_module.shutil, "which", lambda name: None)
    assert not EmbeddedPrometheus.available()
    with pytest.raises(StackError, match="apt-get install prometheus"):
        EmbeddedPrometheus(Path("/nonexistent"), {})


def _query(url: str, promql: str) -> list[dict[str, object]]:
    query = urllib.parse.urlencode({"query": promql})
    with urllib.request.urlopen(f"{url}/api/v1/query?{query}") as response:
        result: list[dict[str, object]] = json.load(response)["data"]["result"]
    return result


def test_embedded_prometheus_scrapes_a_process(
    start_prometheus: StartPrometheus,  # noqa: F811 - fixture
) -> None:
    registry = CollectorRegistry()
    counter = Counter("cityops_test_things_total", "things", registry=registry)
    counter.inc(7)
    port = free_port()
    served = serve(registry, port)
    try:
        prom = start_prometheus({"probe": [f"127.0.0.1:{port}"]})
        config = yaml.safe_load(prom.config_path.read_text(encoding="utf-8"))
        assert config["scrape_configs"][0]["static_configs"][0]["targets"] == [f"127.0.0.1:{port}"]
        assert prom.storage_dir.is_dir() and str(prom.storage_dir).startswith(str(prom.root))

        def scraped() -> bool:
            result = _query(prom.url, 'cityops_test_things_total{job="probe"}')
            return bool(result) and result[0]["value"][1] == "7"  # type: ignore[index]

        wait_until(scraped, timeout=30, what="Prometheus scraping the probe")
    finally:
        stop_serving(served)
