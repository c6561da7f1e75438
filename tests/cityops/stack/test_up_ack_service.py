"""`cityops up` and the ack service: a per-run secret that is never written or printed."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr

from cityops.base.settings import load_settings
from cityops.stack.up import settings_env, with_ack_service, write_stack_env
from streams.acklink import MIN_SECRET_CHARS


def test_up_makes_a_random_secret_per_run_and_a_link_base() -> None:
    base = load_settings(_env_file=None)
    first, second = with_ack_service(base), with_ack_service(base)
    assert first.ack_secret is not None and second.ack_secret is not None
    secret = first.ack_secret.get_secret_value()
    assert len(secret) >= MIN_SECRET_CHARS
    assert secret != second.ack_secret.get_secret_value()
    assert first.ack_base_url == f"http://127.0.0.1:{first.ack_port}"
    # the children get it through their environment ...
    assert settings_env(first)["CITYOPS_ACK_SECRET"] == secret
    assert secret not in repr(first)


def test_configured_values_are_kept() -> None:
    configured = load_settings(
        _env_file=None,
        ack_secret="c" * 40,
        ack_port=9555,
        ack_base_url="https://ack.city.example",
    )
    kept = with_ack_service(configured)
    assert kept.ack_secret == SecretStr("c" * 40)
    assert (kept.ack_port, kept.ack_base_url) == (9555, "https://ack.city.example")


def test_the_secret_is_not_written_to_the_stack_env_file(tmp_path: Path) -> None:
    settings = with_ack_service(load_settings(_env_file=None, kafka_bootstrap="h:1"))
    assert settings.ack_secret is not None
    path = tmp_path / "stack.env"
    write_stack_env(settings, path)
    text = path.read_text()
    assert f"CITYOPS_ACK_BASE_URL={settings.ack_base_url}" in text
    assert settings.ack_secret.get_secret_value() not in text
    assert "ACK_SECRET" not in text
