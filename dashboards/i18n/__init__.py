"""Every dashboard text in English and 简体中文, keyed by message id.

Dashboards never hold literal text: they ask `Tr(lang)(message_id)`, so one
definition renders both languages and a missing translation fails the build.
"""

from __future__ import annotations

from typing import Literal, get_args

from dashboards.i18n import common, feeds, operations

Lang = Literal["en", "zh"]
LANGS: tuple[Lang, ...] = get_args(Lang)


def _merged(*parts: dict[str, tuple[str, str]]) -> dict[str, tuple[str, str]]:
    merged: dict[str, tuple[str, str]] = {}
    for part in parts:
        twice = merged.keys() & part.keys()
        if twice:  # one id, one text: a second definition would silently win
            raise ValueError(f"message ids defined twice: {sorted(twice)}")
        merged.update(part)
    return merged


#: message id -> (English, 简体中文), from the modules by dashboard group
MESSAGES: dict[str, tuple[str, str]] = _merged(common.MESSAGES, feeds.MESSAGES, operations.MESSAGES)


class Tr:
    """`Tr("zh")("gas.title")` -> the Chinese text; a missing id raises KeyError."""

    def __init__(self, lang: Lang) -> None:
        if lang not in LANGS:
            raise ValueError(f"unknown language {lang!r}; expected one of {LANGS}")
        self.lang: Lang = lang
        self._index = LANGS.index(lang)

    def __call__(self, message_id: str) -> str:
        return MESSAGES[message_id][self._index]
