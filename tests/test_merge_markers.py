"""No tracked file keeps a merge-conflict marker (docs/ARCHITECTURE.md once reached main
with two; ruff catches them in Python, nothing did in Markdown, YAML or SQL)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MARKER = re.compile(rb"^(<{7} |>{7} )", re.MULTILINE)


def test_no_tracked_file_has_conflict_markers() -> None:
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.split(b"\0")
    files = [ROOT / name.decode() for name in listed if name]
    assert files, "git ls-files listed nothing"
    marked = []
    for path in files:
        if path.suffix in {".png", ".pdf", ".gz", ".ico"} or not path.is_file():
            continue
        if MARKER.search(path.read_bytes()):
            marked.append(str(path.relative_to(ROOT)))
    assert not marked, f"merge-conflict markers in: {marked}"
