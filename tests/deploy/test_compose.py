"""docker-compose.yml validates against the Compose specification.

No Docker engine runs here, so the check is the compose-spec JSON Schema that
check-jsonschema vendors (`--builtin-schema vendor.compose-spec`). The schema
file is read straight from the installed package: importing check_jsonschema's
CLI breaks with the click version Faust pins (click<8.4; check-jsonschema's CLI
needs >=8.5 from 0.39 on).
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from cityops.base.kafka_send import PRODUCER_REQUEST_BYTES

ROOT = Path(__file__).resolve().parents[2]


def compose_schema() -> dict[str, Any]:
    spec = importlib.util.find_spec("check_jsonschema")
    assert spec is not None and spec.submodule_search_locations, "check-jsonschema not installed"
    base = Path(next(iter(spec.submodule_search_locations)))
    return json.loads((base / "builtin_schemas" / "vendor" / "compose-spec.json").read_text())


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_file_matches_the_compose_spec(compose: dict[str, Any]) -> None:
    jsonschema.validate(compose, compose_schema())


def test_schema_catches_a_broken_file(compose: dict[str, Any]) -> None:
    broken = {**compose, "services": {**compose["services"], "kafka": {"image": 42, "bogus": 1}}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, compose_schema())


def test_compose_runs_the_whole_pipeline(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in (
        "kafka",
        "timescaledb",
        "worker",
        "sink",
        "notifier",
        "ack-service",
        "simulator",
        "prometheus",
        "alertmanager",
        "grafana",
    ):
        assert name in services, name
    assert "timescale" in services["timescaledb"]["image"]
    assert services["worker"]["command"] == ["worker"]
    assert services["ack-service"]["command"] == ["ack-service"]


def test_notifier_and_ack_service_share_the_link_secret(compose: dict[str, Any]) -> None:
    services = compose["services"]
    secrets = {
        services[s]["environment"]["CITYOPS_ACK_SECRET"] for s in ("notifier", "ack-service")
    }
    assert len(secrets) == 1
    assert "${CITYOPS_ACK_SECRET:?" in next(iter(secrets))  # required, never a literal


def test_compose_mounts_exist(compose: dict[str, Any]) -> None:
    for service in compose["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"{source} is mounted but missing"


def test_no_secrets_in_compose(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        for key, value in (service.get("environment") or {}).items():
            secret = "PASSWORD" in key or "SECRET" in key
            if secret or ("postgresql://" in str(value) and "@" in str(value)):
                assert "${" in str(value), f"{name}.{key} holds a literal secret"


def test_the_broker_accepts_what_the_producers_send(compose: dict[str, Any]) -> None:
    """State records over Kafka's ~1 MB default (a merging stage's gate) must not be
    refused by the compose broker: it accepts what the producers may send."""
    env = compose["services"]["kafka"]["environment"]
    assert int(env["KAFKA_MESSAGE_MAX_BYTES"]) == PRODUCER_REQUEST_BYTES
