"""The alert thresholds the dashboards draw, read from `cityops/base/thresholds.toml`.

The rules and the dashboards show the same numbers because both read that file
(its defaults: the dashboards are generated once, not per deployment, so a
`CITYOPS_RULES_FILE` override does not reach them).
"""

from __future__ import annotations

from cityops.base.thresholds import load_thresholds

_THRESHOLDS = load_thresholds()


def _number(value: float) -> float | int:
    # 25, not 25.0: the value lands in SQL text and in the generated JSON
    return int(value) if float(value).is_integer() else value


#: Lit-rate target of DESIGN.md (Zhuhai: >= 98 %): `streetlight.lit_rate_min`.
LIT_RATE_TARGET = _number(_THRESHOLDS.streetlight.lit_rate_min)
#: Northern-China heating: indoor temperature >= 18 °C: `heating.indoor_min_c`.
INDOOR_MIN_C = _number(_THRESHOLDS.heating.indoor_min_c)
#: gas.lel_high first and second alarm levels, % LEL: `gas.lel_major_pct`, `gas.lel_critical_pct`.
LEL_FIRST = _number(_THRESHOLDS.gas.lel_major_pct)
LEL_SECOND = _number(_THRESHOLDS.gas.lel_critical_pct)
#: A detector is offline after 3 missed 60 s heartbeats (gas.detector_offline).
GAS_OFFLINE_S = _number(_THRESHOLDS.gas.offline_s)
