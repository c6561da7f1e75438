"""Fixtures of the report tests (imported here: only the root conftest may use pytest_plugins)."""

from tests.fixtures.db_timescale import pglite_installed, timescale_url

__all__ = ["pglite_installed", "timescale_url"]
