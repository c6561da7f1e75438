"""Every PromQL expression of the dashboards passes `promtool check rules`."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from dashboards.build import DASHBOARDS
from dashboards.i18n import LANGS
from tests.dashboards.conftest import load

PROMTOOL = shutil.which("promtool")
#: Grafana's built-in variables, replaced as Grafana would for a 1 h range.
GRAFANA_VARS = {"$__rate_interval": "1m", "$__interval": "15s", "$__range": "1h"}
METRIC_PREFIX = re.compile(r"\bcityops_[a-z_]+\b")


def _expressions(lang: str) -> list[tuple[str, str]]:
    found = []
    for slug in DASHBOARDS:
        for panel in load(lang, slug)["panels"]:
            for target in panel["targets"]:
                if "expr" in target:
                    found.append((f"{slug}_{panel['id']}_{target['refId']}", target["expr"]))
    return found


def _substitute(expr: str) -> str:
    for var, value in GRAFANA_VARS.items():
        expr = expr.replace(var, value)
    assert "$" not in expr, f"unexpanded variable in {expr!r}"
    return expr


def test_expressions_are_language_independent() -> None:
    assert _expressions("en") == _expressions("zh")
    assert len(_expressions(LANGS[0])) >= 10


def test_metric_names_exist_in_cityops_metrics() -> None:
    source = Path("cityops/base/metrics.py").read_text(encoding="utf-8")
    for name, expr in _expressions("en"):
        for metric in METRIC_PREFIX.findall(expr):
            base = re.sub(r"_bucket$", "", metric)
            assert f'"{base}"' in source, f"{name}: {metric} is not in cityops/base/metrics.py"


@pytest.mark.skipif(PROMTOOL is None, reason="promtool not installed (Debian package prometheus)")
def test_promtool_check_rules(tmp_path: Path) -> None:
    rules = [
        {"record": f"cityops_dashboard:{name}", "expr": _substitute(expr)}
        for name, expr in _expressions("en")
    ]
    path = tmp_path / "dashboard_rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    assert PROMTOOL is not None
    result = subprocess.run(
        [PROMTOOL, "check", "rules", str(path)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(rules)} rules found" in result.stdout


@pytest.mark.skipif(PROMTOOL is None, reason="promtool not installed (Debian package prometheus)")
def test_promtool_rejects_a_broken_expression(tmp_path: Path) -> None:
    """The check above can fail: a malformed expression is reported."""
    path = tmp_path / "bad.yml"
    rule = {"record": "cityops_dashboard:bad", "expr": "sum by (topic (rate(x[1m]))"}
    path.write_text(yaml.safe_dump({"groups": [{"name": "bad", "rules": [rule]}]}))
    assert PROMTOOL is not None
    result = subprocess.run(
        [PROMTOOL, "check", "rules", str(path)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
