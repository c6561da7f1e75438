"""One dashboard being built: its translations, its grid and its panels by key.

A panel is named by its i18n key under the dashboard's slug (`<slug>.<key>.title` and
`.description`) and placed with its size, so a dashboard module states only what
differs from panel to panel: `b.stat("alarming", (6, 5), [targets], thresholds=...)`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec

from grafanalib.core import Dashboard, Panel

from dashboards.i18n import Lang, Tr
from dashboards.layout import Grid, dashboard
from dashboards.panels import barchart, count, geomap, stat, table, timeseries

P = ParamSpec("P")
#: (width, height) on Grafana's 24-column grid
Size = tuple[int, int]


def _placed(
    factory: Callable[Concatenate[str, str, P], Panel],
) -> Callable[Concatenate[Board, str, Size, P], None]:
    """`factory(title, description, ...)` as a Board method `(key, size, ...)`."""

    def add(board: Board, key: str, size: Size, /, *args: P.args, **kwargs: P.kwargs) -> None:
        board.add(factory(*board.text(key), *args, **kwargs), size)

    return add


class Board:
    def __init__(self, slug: str, lang: Lang) -> None:
        self.slug = slug
        self.lang = lang
        self.tr = Tr(lang)
        self.grid = Grid()

    def text(self, key: str) -> tuple[str, str]:
        """The translated title and description of panel `key` of this dashboard."""
        prefix = f"{self.slug}.{key}"
        return self.tr(f"{prefix}.title"), self.tr(f"{prefix}.description")

    def add(self, panel: Panel, size: Size) -> None:
        self.grid.add(panel, *size)

    stat = _placed(stat)
    count = _placed(count)
    timeseries = _placed(timeseries)
    table = _placed(table)
    barchart = _placed(barchart)
    geomap = _placed(geomap)

    def dashboard(self, **options: Any) -> Dashboard:
        """The dashboard shell around the panels (`layout.dashboard`'s options)."""
        return dashboard(self.slug, self.lang, self.tr, self.grid, **options)
