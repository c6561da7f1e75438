"""The layer contract (pyproject.toml, [tool.importlinter]) covers every module.

`make test` runs `lint-imports` over the contract; this test makes sure a new
module under `cityops/` cannot sit outside both the base and the operations
layer, where the contract would not see it, and that the contract holds.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _layers() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    (contract,) = [c for c in config["tool"]["importlinter"]["contracts"] if c["id"] == "layers"]
    names: list[str] = []
    for layer in contract["layers"]:
        names += [part.strip() for part in layer.replace(":", "|").split("|")]
    return names


def test_every_cityops_module_is_in_a_layer() -> None:
    placed = set(_layers())
    children = {
        f"cityops.{p.stem}"
        for p in (ROOT / "cityops").iterdir()
        if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").exists()
    }
    assert children, "no modules found under cityops/"
    assert children <= placed, f"not in the layer contract: {sorted(children - placed)}"


def test_the_layer_contract_holds() -> None:
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert lint, "lint-imports is missing: make install (dev extras)"
    result = subprocess.run(
        [lint, "--no-cache"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout
