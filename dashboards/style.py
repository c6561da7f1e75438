"""The dashboards' colours and severity order.

Colour policy (DESIGN.md "Dashboards"): red means somebody must act now
(a critical/major alert, a gas alarm, a cold home, a circuit outage); orange
is a warning or a missed target; yellow is minor; blue is information; green
is healthy. Nothing is red merely because it is large.
"""

from __future__ import annotations

OK = "green"
ACTION = "red"
WARN = "orange"
MINOR = "yellow"
INFO = "blue"
NEUTRAL = "text"

SEVERITIES: tuple[str, ...] = ("critical", "major", "minor", "warning", "info")
SEVERITY_COLOR: dict[str, str] = {
    "critical": ACTION,
    "major": "dark-red",
    "minor": MINOR,
    "warning": WARN,
    "info": INFO,
}
