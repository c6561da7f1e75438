"""Read the report back: every tagged figure and chart mark, and the text outside them."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class Printed:
    #: (key, data-value, printed text) of every <span class="fig">
    figures: list[tuple[str, str, str]] = field(default_factory=list)
    #: (key, data-value) of every chart mark
    marks: list[tuple[str, str]] = field(default_factory=list)
    #: visible text outside figures, <svg>, <style> and <title>
    loose_text: list[str] = field(default_factory=list)
    #: tags seen, and every src/href value (a self-contained page has none external)
    tags: set[str] = field(default_factory=set)
    links: list[str] = field(default_factory=list)


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.out = Printed()
        self._fig: list[str] | None = None
        self._skip = 0  # depth inside svg/style/title

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.out.tags.add(tag)
        self.out.links += [v or "" for k, v in attrs if k in ("src", "href")]
        if tag in ("svg", "style", "title"):
            self._skip += 1
        if "data-key" in a and tag != "span":
            self.out.marks.append((a["data-key"] or "", a.get("data-value") or ""))
        if tag == "span" and a.get("class") == "fig":
            self._fig = [a["data-key"] or "", a.get("data-value") or "", ""]

    def handle_endtag(self, tag: str) -> None:
        if tag in ("svg", "style", "title"):
            self._skip -= 1
        if tag == "span" and self._fig is not None:
            key, value, text = self._fig
            self.out.figures.append((key, value, text))
            self._fig = None

    def handle_data(self, data: str) -> None:
        if self._fig is not None:
            self._fig[2] += data
        elif not self._skip:
            self.out.loose_text.append(data)


def read(html: str) -> Printed:
    reader = _Reader()
    reader.feed(html)
    reader.close()
    return reader.out


NUMBER = re.compile(r"-?[\d,]+(?:\.\d+)?")


def number_and_half_unit(text: str) -> tuple[float, float]:
    """The number in `text` and half a unit of its last printed digit."""
    match = NUMBER.search(text)
    assert match, f"no number in {text!r}"
    digits = match.group().replace(",", "")
    places = len(digits.split(".")[1]) if "." in digits else 0
    return float(digits), 0.5 * 10**-places
