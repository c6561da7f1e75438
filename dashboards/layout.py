"""The grid that places and numbers panels, and the dashboard shell."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import attr
from grafanalib.core import (
    Annotations,
    Dashboard,
    DashboardLink,
    GridPos,
    Panel,
    Template,
    Templating,
    Time,
)

from dashboards.i18n import Lang, Tr
from streams.routing import dashboard_uid

#: Dashboard JSON schema of Grafana 10.4/11: no migration runs on load.
SCHEMA_VERSION = 39


class Grid:
    """Places panels left to right on Grafana's 24-column grid, numbering them 1, 2, ..."""

    WIDTH = 24

    def __init__(self) -> None:
        self.panels: list[Panel] = []
        self._x = 0
        self._y = 0
        self._row_height = 0

    def add(self, panel: Panel, w: int, h: int) -> None:
        if not 0 < w <= self.WIDTH:
            raise ValueError(f"panel width {w} not in 1..{self.WIDTH}")
        if self._x + w > self.WIDTH:
            self.newline()
        pos = GridPos(h=h, w=w, x=self._x, y=self._y)
        self.panels.append(attr.evolve(panel, gridPos=pos, id=len(self.panels) + 1))
        self._x += w
        self._row_height = max(self._row_height, h)

    def newline(self) -> None:
        self._y += self._row_height
        self._x = 0
        self._row_height = 0


def dashboard(
    slug: str,
    lang: Lang,
    tr: Tr,
    grid: Grid,
    *,
    templates: Iterable[Template] = (),
    time_from: str = "now-6h",
    refresh: str = "1m",
    annotations: Iterable[dict[str, Any]] = (),
) -> Dashboard:
    """The dashboard shell: stable uid `cityops-<slug>-<lang>`, tags, links to the others."""
    return Dashboard(
        title=tr(f"{slug}.title"),
        description=tr(f"{slug}.description"),
        uid=dashboard_uid(slug, lang),
        tags=["cityops", lang],
        panels=grid.panels,
        templating=Templating(list=list(templates)),
        annotations=Annotations(list=list(annotations)),
        time=Time(time_from, "now"),
        timezone="browser",
        refresh=refresh,
        schemaVersion=SCHEMA_VERSION,
        graphTooltip=1,
        editable=False,
        links=[
            DashboardLink(
                asDropdown=True,
                includeVars=True,
                keepTime=True,
                tags=["cityops", lang],
                title=tr("links.dashboards"),
                type="dashboards",
            )
        ],
    )


def iter_panels(panels: Iterable[Panel]) -> Iterator[Panel]:
    yield from panels
