"""What the rules need to know about the city, as a protocol.

The rules never import the simulator: `cityops.base.city.profiles.CityProfile`
satisfies this protocol, and tests may pass any small object that does.
Distances are metres on a local projection around the city centre
(equirectangular: at city scale the error is well under 1 %, far below the
300 m corridor the fleet rules use).
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class CityContext(Protocol):
    @property
    def name(self) -> str: ...

    def is_dark(self, ts: datetime) -> bool:
        """True from dusk to dawn at the city centre (streetlights should be lit)."""
        ...

    def distance_to_route_m(self, route_id: str, lat: float, lon: float) -> float | None:
        """Metres from the point to the route's line; None when the route is unknown."""
        ...

    def no_dumping_zone_at(self, lat: float, lon: float) -> str | None:
        """The id of the no-dumping zone containing the point, or None."""
        ...

    def min_supply_temp_c(self, enterprise_id: str, outdoor_temp_c: float) -> float:
        """The enterprise's heating curve: the lowest acceptable supply temperature."""
        ...
