"""deploy/alertmanager.yml (checked by amtool) and the embedded Alertmanager launcher."""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.request
from pathlib import Path

import pytest
import yaml

from cityops.stack import alertmanager as am_module
from cityops.stack.alertmanager import DEFAULT_CONFIG, EmbeddedAlertmanager, check_config
from cityops.stack.process import StackError
from tests.fixtures.alertmanager import alertmanager  # noqa: F401 - fixture

needs_amtool = pytest.mark.skipif(
    shutil.which("amtool") is None, reason="amtool is not installed (prometheus-alertmanager)"
)


def test_config_shape() -> None:
    config = yaml.safe_load(DEFAULT_CONFIG.read_text(encoding="utf-8"))
    assert config["route"]["group_by"] == ["alertname", "district"]
    inhibit = {tuple(rule["source_matchers"]): rule["equal"] for rule in config["inhibit_rules"]}
    assert inhibit[('alertname="streetlight.circuit_outage"',)] == ["circuit_id"]
    assert inhibit[('alertname="heating.station_offline"',)] == ["station_id"]
    receivers = {r["name"] for r in config["receivers"]}
    assert config["route"]["receiver"] in receivers


@needs_amtool
def test_amtool_accepts_the_config() -> None:
    assert "SUCCESS" in check_config(DEFAULT_CONFIG)


@needs_amtool
def test_amtool_rejects_a_broken_config(tmp_path: Path) -> None:
    broken = tmp_path / "am.yml"
    broken.write_text("route:\n  receiver: nobody\nreceivers: []\n", encoding="utf-8")
    with pytest.raises(StackError, match="invalid Alertmanager configuration"):
        check_config(broken)


@needs_amtool
@pytest.mark.parametrize(
    ("labels", "receivers"),
    [
        ({"severity": "critical", "district": "chengyang"}, "oncall-critical"),
        ({"severity": "critical", "district": "shinan"}, "district-south-webhook,oncall-critical"),
        ({"severity": "major", "district": "laoshan"}, "district-east-webhook,oncall-webhook"),
        ({"severity": "minor", "district": "shinan"}, "oncall-webhook"),
        ({"severity": "info", "district": "shinan"}, "digest-webhook"),
        # escalation copies (issue 16) go to the next tier only, whatever the district
        ({"severity": "critical", "district": "shinan", "escalation": "1"}, "escalation-tier1"),
        ({"severity": "major", "district": "chengyang", "escalation": "1"}, "escalation-tier1"),
        ({"severity": "critical", "district": "laoshan", "escalation": "2"}, "escalation-tier2"),
        ({"severity": "minor", "district": "shinan", "escalation": "0"}, "oncall-webhook"),
    ],
)
def test_routes_by_severity_and_district(labels: dict[str, str], receivers: str) -> None:
    args = [f"{k}={v}" for k, v in labels.items()]
    result = subprocess.run(
        ["amtool", "config", "routes", "test", f"--config.file={DEFAULT_CONFIG}", *args],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.stdout.strip() == receivers, result.stderr


def test_missing_binary_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(am_module.shutil, "which", lambda name: None)
    assert not EmbeddedAlertmanager.available()
    with pytest.raises(StackError, match="apt-get install prometheus-alertmanager"):
        EmbeddedAlertmanager(Path("/nonexistent"))


def test_launcher_serves_the_api_and_restarts_on_the_same_port(
    alertmanager: EmbeddedAlertmanager,  # noqa: F811 - fixture
) -> None:
    with urllib.request.urlopen(f"{alertmanager.url}/api/v2/status") as response:
        status = json.load(response)
    assert status["cluster"]["status"] == "disabled"
    assert "streetlight.circuit_outage" in status["config"]["original"]
    port = alertmanager.port
    alertmanager.stop()
    assert not alertmanager.running()
    alertmanager.start()
    assert alertmanager.running() and alertmanager.port == port
    assert (alertmanager.storage_dir / "nflog").exists() or alertmanager.storage_dir.is_dir()
