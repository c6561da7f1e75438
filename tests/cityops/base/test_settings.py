"""Invalid configuration fails at start with a message that says what to fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from cityops.base.settings import ConfigurationError, load_settings


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"CITYOPS_KAFKA_BOOTSTRAP": "localhost"}, ["CITYOPS_KAFKA_BOOTSTRAP", "host:port"]),
        ({"CITYOPS_DATABASE_URL": "mysql://x"}, ["CITYOPS_DATABASE_URL", "postgresql://"]),
        ({"CITYOPS_PROFILE": "atlantis"}, ["CITYOPS_PROFILE", "small, qingdao, megacity"]),
        ({"CITYOPS_TOPIC_PARTITIONS": "0"}, ["CITYOPS_TOPIC_PARTITIONS", "greater than"]),
        ({"CITYOPS_MAX_EVENT_AGE_S": "1e11"}, ["CITYOPS_MAX_EVENT_AGE_S", "less than"]),
        ({"CITYOPS_SINK_WRITE_MODE": "fax"}, ["CITYOPS_SINK_WRITE_MODE", "'copy'"]),
        ({"CITYOPS_LOG_LEVEL": "LOUD"}, ["CITYOPS_LOG_LEVEL"]),
    ],
)
def test_bad_values_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: list[str]
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ConfigurationError) as info:
        load_settings(_env_file=None)
    message = str(info.value)
    for part in [*expected, "fix the environment variable"]:
        assert part in message


def test_a_bad_rules_file_fails_at_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text("[gas]\nlel_majr_pct = 20\n")
    monkeypatch.setenv("CITYOPS_RULES_FILE", str(rules))
    with pytest.raises(ConfigurationError, match=r"(?s)CITYOPS_RULES_FILE.*gas.lel_majr_pct"):
        load_settings(_env_file=None)
    monkeypatch.setenv("CITYOPS_RULES_FILE", str(tmp_path / "missing.toml"))
    with pytest.raises(ConfigurationError, match="CITYOPS_RULES_FILE"):
        load_settings(_env_file=None)


def test_passwords_in_urls_are_not_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CITYOPS_DATABASE_URL", "mysql://admin:hunter2@db/x")
    with pytest.raises(ConfigurationError) as info:
        load_settings(_env_file=None)
    assert "hunter2" not in str(info.value)
    assert "admin:***@db/x" in str(info.value)


def test_defaults_are_valid_and_topics_get_the_prefix() -> None:
    settings = load_settings(_env_file=None, topic_prefix="t1.")
    assert settings.topic("alerts.v1") == "t1.alerts.v1"
    assert settings.topic_partitions == 4 and settings.profile == "small"


def test_a_stack_env_of_a_dead_up_is_ignored(tmp_path: Path) -> None:
    import os

    from cityops.base.settings import stack_env_is_live

    live = tmp_path / "live.env"
    live.write_text(f"# cityops up pid {os.getpid()}\nCITYOPS_KAFKA_BOOTSTRAP=h:1\n")
    assert stack_env_is_live(live)
    dead = tmp_path / "dead.env"
    dead.write_text("# cityops up pid 999999999\nCITYOPS_KAFKA_BOOTSTRAP=h:1\n")
    assert not stack_env_is_live(dead)
    assert not stack_env_is_live(tmp_path / "missing.env")
