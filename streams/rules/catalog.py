"""Every alert rule of DESIGN.md: its entity type and where its state is kept.

The engine routes acknowledgements with this table (an alert id names the rule
and the entity, the table names the store key), and the tests check that each
rule has a runbook page.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RuleInfo:
    entity_type: str
    store_prefix: str  # the state of entity X is store[f"{store_prefix}:{X}"]


GAS = RuleInfo("gas_detector", "gas")
LIGHT = RuleInfo("streetlight", "light")
CIRCUIT = RuleInfo("circuit", "circuit")
DISTRICT = RuleInfo("district", "district-lit")
STATION = RuleInfo("heating_station", "heating")
TRUCK = RuleInfo("truck", "truck")
#: A whole feed; kept by the worker that owns partition 0 (streams/stages/feed_silence.py).
FEED = RuleInfo("feed", "feed-silent")

RULES: dict[str, RuleInfo] = {
    "gas.lel_high": GAS,
    "gas.detector_fault": GAS,
    "gas.detector_offline": GAS,
    "streetlight.dark": LIGHT,
    "streetlight.circuit_outage": CIRCUIT,
    "streetlight.day_burning": LIGHT,
    "streetlight.lit_rate_low": DISTRICT,
    "heating.indoor_cold": STATION,
    "heating.pressure_drop": STATION,
    "heating.supply_temp_low": STATION,
    "heating.station_offline": STATION,
    "fleet.off_route": TRUCK,
    "fleet.geofence_violation": TRUCK,
    "fleet.idle": TRUCK,
    "fleet.speeding": TRUCK,
    "pipeline.feed_silent": FEED,
}

#: Rules DESIGN.md does not list (issue 13; docs/ARCHITECTURE.md, "Where the code differs").
BEYOND_DESIGN = frozenset({"pipeline.feed_silent"})


def store_key(info: RuleInfo, entity_id: str) -> str:
    return f"{info.store_prefix}:{entity_id}"


#: Rules whose alert a responder may resolve by hand (the one-click `resolve` link,
#: `cityops alerts ack --resolve`): an offline device that was removed or replaced will
#: never report again, so no reading can resolve its alert. Every other rule resolves
#: only on data (its hysteresis), so a hand cannot hide a condition still measured.
MANUAL_RESOLVE: frozenset[str] = frozenset({"gas.detector_offline", "heating.station_offline"})

#: Rules whose acknowledgements reach no state (streams/stages/feed_silence.py: no entity
#: partition holds it; it resolves by itself when the feed delivers again): no one-click
#: link is offered for them, and the ack service refuses one rather than confirm an
#: acknowledgement nothing would record.
NOT_ACKNOWLEDGEABLE: frozenset[str] = frozenset({"pipeline.feed_silent"})
