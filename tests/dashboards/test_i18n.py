"""One definition, two languages: same structure, translated text."""

from __future__ import annotations

import re
from typing import Any

import pytest

from dashboards.build import DASHBOARDS
from dashboards.i18n import LANGS, MESSAGES, Tr
from tests.dashboards.conftest import load

CJK = re.compile(r"[\u4e00-\u9fff]")
#: Keys whose string values are human text (translated).
TEXT_KEYS = {"title", "description", "label", "name", "displayName", "text", "legendFormat"}
#: ASCII words allowed in Chinese titles: units and names that are not translated.
ALLOWED_ASCII = {"LEL", "MPa"}
TECHNICAL = re.compile(r"\b[a-z_0-9]+\.[a-z_0-9.]+\b|\b[a-z]+_[a-z_0-9]+\b")


def _normalise(node: Any, key: str = "") -> Any:
    """Replace every translated text by a placeholder, keeping the structure."""
    if isinstance(node, dict):
        if node.get("id") == "displayName":
            return {**node, "value": "<text>"}
        return {k: _normalise(v, k) for k, v in node.items()}
    if isinstance(node, list):
        return [_normalise(v, key) for v in node]
    if isinstance(node, str):
        if key in TEXT_KEYS or key == "options":
            return "<text>"
        if key == "rawSql":  # legends are SQL string literals
            return re.sub(r"'[^']*'", "''", node)
    return node


def _texts(node: Any, key: str = "") -> list[tuple[str, str]]:
    """(key, text) of every human text in the dashboard JSON."""
    found: list[tuple[str, str]] = []
    if isinstance(node, dict):
        for k, v in node.items():
            found += _texts(v, k)
    elif isinstance(node, list):
        for v in node:
            found += _texts(v, key)
    elif isinstance(node, str) and key in TEXT_KEYS and node and not node.startswith("{{"):
        found.append((key, node))
    return found


def test_every_message_has_both_languages() -> None:
    for message_id, texts in MESSAGES.items():
        assert len(texts) == len(LANGS), message_id
        en, zh = texts
        assert en.strip() and zh.strip(), message_id
        assert not CJK.search(en), f"{message_id}: Chinese in the English text"
        assert CJK.search(zh), f"{message_id}: no Chinese in the zh text: {zh!r}"
        assert en != zh, message_id


def test_unknown_message_or_language_fails() -> None:
    with pytest.raises(KeyError):
        Tr("en")("no.such.message")
    with pytest.raises(ValueError, match="unknown language"):
        Tr("fr")  # type: ignore[arg-type]


@pytest.mark.parametrize("slug", list(DASHBOARDS))
def test_languages_have_identical_structure(slug: str) -> None:
    en, zh = load("en", slug), load("zh", slug)
    assert en["uid"].removesuffix("-en") == zh["uid"].removesuffix("-zh")
    en.pop("uid"), zh.pop("uid")
    en.pop("tags"), zh.pop("tags")
    for data in (en, zh):
        for link in data["links"]:
            link.pop("tags")
    assert _normalise(en) == _normalise(zh)


@pytest.mark.parametrize("slug", list(DASHBOARDS))
def test_chinese_text_is_translated(slug: str) -> None:
    en_texts = _texts(load("en", slug))
    zh_texts = _texts(load("zh", slug))
    assert len(en_texts) == len(zh_texts)
    for (key, en), (_, zh) in zip(en_texts, zh_texts, strict=True):
        if key in ("name", "text") and en == zh and re.fullmatch(r"[$\w.]+", en):
            continue  # identifiers: a variable's name, "$__all", the basemap's name
        assert zh != en, f"untranslated {key}: {en!r}"
        assert CJK.search(zh), f"{key} without Chinese: {zh!r}"
    zh_data = load("zh", slug)
    titles = [zh_data["title"]] + [p["title"] for p in zh_data["panels"]]
    for title in titles:
        words = set(re.findall(r"[A-Za-z]{2,}", title)) - ALLOWED_ASCII
        assert not words, f"English left in zh title {title!r}: {words}"


def test_legends_in_sql_are_translated() -> None:
    en = load("en", "heating")["panels"]
    zh = load("zh", "heating")["panels"]
    en_sql = "\n".join(t["rawSql"] for p in en for t in p["targets"])
    zh_sql = "\n".join(t["rawSql"] for p in zh for t in p["targets"])
    assert "' · supply'" in en_sql and "' · 供水'" in zh_sql
