"""Every Kafka topic of CityOps, by name (DESIGN.md, "Topics").

Use `Settings.topic(NAME)` to get the name with the configured prefix.
"""

from __future__ import annotations

GAS_DETECTOR = "gas.detector.v1"
STREETLIGHT_STATUS = "streetlight.status.v1"
HEATING_STATION = "heating.station.v1"
FLEET_GPS = "fleet.gps.v1"

ALERTS = "alerts.v1"
ALERTS_ACK = "alerts.ack.v1"
ROLLUPS = "rollups.v1"
DEADLETTER = "deadletter.v1"

#: The four input feeds, in a fixed order.
FEED_TOPICS: tuple[str, ...] = (GAS_DETECTOR, STREETLIGHT_STATUS, HEATING_STATION, FLEET_GPS)
OUTPUT_TOPICS: tuple[str, ...] = (ALERTS, ALERTS_ACK, ROLLUPS, DEADLETTER)
ALL_TOPICS: tuple[str, ...] = FEED_TOPICS + OUTPUT_TOPICS

#: Short feed names used in tables, roll-ups and metrics.
FEED_NAME: dict[str, str] = {
    GAS_DETECTOR: "gas",
    STREETLIGHT_STATUS: "streetlight",
    HEATING_STATION: "heating",
    FLEET_GPS: "fleet",
}
