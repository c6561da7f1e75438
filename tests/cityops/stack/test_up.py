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
