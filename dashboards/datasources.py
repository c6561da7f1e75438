"""The Grafana datasources the dashboards query (uids fixed:
grafana/provisioning/datasources/cityops.yml)."""

from __future__ import annotations

POSTGRES_UID = "cityops-timescaledb"
PROMETHEUS_UID = "cityops-prometheus"
POSTGRES: dict[str, str] = {"type": "postgres", "uid": POSTGRES_UID}
PROMETHEUS: dict[str, str] = {"type": "prometheus", "uid": PROMETHEUS_UID}
