"""What every rule evaluation may consult besides the entity's own state."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from cityops.base.thresholds import Thresholds
from streams.rules.city import CityContext
from streams.rules.lifecycle import AlertBook, Escalation, Record
from streams.rules.timeutil import from_ms


@dataclass(frozen=True, slots=True)
class RuleContext:
    thresholds: Thresholds
    city: CityContext
    runbook_base_url: str
    _dark_ms: Callable[[int], bool] | None = field(init=False, repr=False, compare=False)
    escalation: Escalation = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_dark_ms", _sun_is_dark_ms(self.city))
        esc = self.thresholds.escalation
        delays = {
            severity: round(esc.delay_s(severity) * 1000)
            for severity in ("critical", "major", "minor", "warning", "info")
        }
        object.__setattr__(self, "escalation", Escalation(delays, esc.max_level))

    def book(self, state: dict[str, Record] | None) -> AlertBook:
        return AlertBook(state, self.runbook_base_url, self.escalation)

    def is_dark(self, at_ms: int, ts: datetime | None = None) -> bool:
        """`city.is_dark(ts)` for the instant `at_ms` (= `to_ms(ts)`; `ts` defaults to
        `from_ms(at_ms)`). Streetlight events ask twice each (light and district)."""
        dark_ms = self._dark_ms
        if dark_ms is not None:
            return dark_ms(at_ms)
        return self.city.is_dark(from_ms(at_ms) if ts is None else ts)


def _sun_is_dark_ms(city: CityContext) -> Callable[[int], bool] | None:
    """The simulator's `CityProfile.is_dark(ts)` is `SunClock.is_dark_ms(to_ms(ts))`:
    asking the clock in ms directly skips a datetime -> ms conversion per call (and
    the datetime the district rule made only for it): `SunClock.is_dark` was 5 % of
    the megacity processing time (pyinstrument on `python -m cityops.bench.processing`; 1.3 %
    as `is_dark_ms` after). Only for that exact method, so a city that answers
    otherwise (a test double, a subclass) is asked as it always was."""
    method = getattr(type(city), "is_dark", None)
    if getattr(method, "__qualname__", None) != "CityProfile.is_dark" or (
        getattr(method, "__module__", None) != "cityops.base.city.profiles"
    ):
        return None
    fast = getattr(getattr(city, "sun", None), "is_dark_ms", None)
    return fast if callable(fast) else None
