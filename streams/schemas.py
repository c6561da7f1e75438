"""JSON Schema files for third-party producers, exported from the models.

`cityops schemas export` writes `streams/schemas/<topic>.schema.json`; a test
fails when a checked-in file differs from what the models produce.
"""

from __future__ import annotations

import json
from pathlib import Path

from streams.models import SCHEMA_MODELS

SCHEMA_DIR = Path(__file__).parent / "schemas"


def schema_for(topic: str) -> dict[str, object]:
    model = SCHEMA_MODELS[topic]
    schema = model.model_json_schema(mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://cityops.example/schemas/{topic}.schema.json",
        "title": f"{topic}: {model.__name__}",
        **schema,
    }


def render(topic: str) -> str:
    return json.dumps(schema_for(topic), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def export(directory: Path = SCHEMA_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for topic in sorted(SCHEMA_MODELS):
        path = directory / f"{topic}.schema.json"
        path.write_text(render(topic), encoding="utf-8")
        written.append(path)
    return written
