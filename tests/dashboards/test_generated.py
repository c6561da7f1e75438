"""The committed JSON under dashboards/generated/ is what the definitions produce."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cityops.cli import main
from dashboards.build import DASHBOARDS, GENERATED_DIR, write_all
from dashboards.i18n import LANGS


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.json"))}


def test_generated_json_is_not_stale(tmp_path: Path) -> None:
    write_all(tmp_path)
    fresh = _files(tmp_path)
    committed = _files(GENERATED_DIR)
    assert sorted(committed) == sorted(fresh), "run `cityops dashboards build`"
    stale = [name for name in fresh if committed[name] != fresh[name]]
    assert not stale, f"stale dashboards (run `cityops dashboards build`): {stale}"


def test_one_file_per_dashboard_and_language() -> None:
    expected = {f"{lang}/{slug}.json" for lang in LANGS for slug in DASHBOARDS}
    assert set(_files(GENERATED_DIR)) == expected


def test_output_is_sorted_and_stable(tmp_path: Path) -> None:
    write_all(tmp_path / "a")
    write_all(tmp_path / "b")
    assert _files(tmp_path / "a") == _files(tmp_path / "b")
    text = (tmp_path / "a" / "zh" / "overview.json").read_text(encoding="utf-8")
    assert text == json.dumps(json.loads(text), sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    assert "城市运行" in text  # readable UTF-8, not \u escapes


@pytest.mark.parametrize("lang", LANGS)
def test_cli_builds_one_language(
    tmp_path: Path, lang: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["dashboards", "build", "--lang", lang, "--out", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [lang]
    assert {p.stem for p in (tmp_path / lang).iterdir()} == set(DASHBOARDS)
    assert _files(tmp_path / lang) == _files(GENERATED_DIR / lang)
    assert len(capsys.readouterr().out.splitlines()) == len(DASHBOARDS)


def test_cli_defaults_to_both_languages(tmp_path: Path) -> None:
    assert main(["dashboards", "build", "--out", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(LANGS)
