"""Numbers, durations and dates as the report prints them, in English and 简体中文.

Pure. Every figure in the report goes through `Fmt.fig`, which wraps the printed text in
`<span class="fig" data-key=... data-value=...>`: the key names the figure and the value
is the unrounded number, so a test can check each printed figure against the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal, get_args

from markupsafe import Markup, escape

Lang = Literal["en", "zh"]
LANGS: tuple[Lang, ...] = get_args(Lang)

_MONTHS_EN = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
#: Figures with no data print as a dash (digits would claim a measurement).
NO_DATA = "—"


@dataclass(frozen=True)
class Fmt:
    lang: Lang

    @property
    def zh(self) -> bool:
        return self.lang == "zh"

    def pct(self, value: float | None, target: float | None = None) -> str:
        """98.6% / 98.6 %; more decimals when one place would print a miss as the target."""
        if value is None:
            return NO_DATA
        places = 1
        # 97.96 % printed as "98.0 %" next to "below the 98 % target" reads as a typo.
        while (
            target is not None
            and places < 4
            and value != target
            and round(value * 100, places) == round(target * 100, places)
        ):
            places += 1
        text = f"{value * 100:.{places}f}"
        return f"{text}%" if self.zh else f"{text} %"

    def target_pct(self, value: float) -> str:
        text = f"{value * 100:.2f}".rstrip("0").rstrip(".")
        return f"{text}%" if self.zh else f"{text} %"

    def tonnes(self, value: float | None) -> str:
        return NO_DATA if value is None else f"{value:,.2f}"

    def count(self, value: int) -> str:
        return str(value) if self.zh else f"{value:,}"

    def celsius(self, value: float) -> str:
        return f"{value:g} °C"

    def duration(self, seconds: float | None) -> str:
        """Minutes below two hours, hours above (one decimal)."""
        if seconds is None:
            return NO_DATA
        minutes = seconds / 60
        if minutes < 120:
            return f"{minutes:.1f} 分钟" if self.zh else f"{minutes:.1f} min"
        return f"{minutes / 60:.1f} 小时" if self.zh else f"{minutes / 60:.1f} h"

    def when(self, at: datetime) -> str:
        """A moment of the month, UTC: 11月3日 14:05 / 3 Nov 14:05."""
        if self.zh:
            return f"{at.month}月{at.day}日 {at:%H:%M}"
        return f"{at.day} {_MONTHS_EN[at.month - 1][:3]} {at:%H:%M}"

    def month(self, first: date) -> str:
        if self.zh:
            return f"{first.year}年{first.month}月"
        return f"{_MONTHS_EN[first.month - 1]} {first.year}"

    def day(self, day: date) -> str:
        return (
            f"{day.month}月{day.day}日" if self.zh else f"{day.day} {_MONTHS_EN[day.month - 1][:3]}"
        )

    @staticmethod
    def fig(key: str, value: object, text: str) -> Markup:
        """One printed figure, tagged with its key and unrounded value."""
        raw = "" if value is None else value.isoformat() if hasattr(value, "isoformat") else value
        return Markup('<span class="fig" data-key="{}" data-value="{}">{}</span>').format(
            key, raw, text
        )


def join(parts: list[Markup], lang: Lang) -> Markup:
    """A list in running text: 甲、乙和丙 / a, b and c."""
    if not parts:
        return Markup("")
    if len(parts) == 1:
        return parts[0]
    sep, last = (Markup("、"), Markup("和")) if lang == "zh" else (Markup(", "), Markup(" and "))
    return sep.join(parts[:-1]) + last + parts[-1]


__all__ = ["LANGS", "NO_DATA", "Fmt", "Lang", "Markup", "escape", "join"]
