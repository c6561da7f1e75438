"""A live terminal counter of events sent per feed and events/s (rich)."""

from __future__ import annotations

import time
from types import TracebackType

from rich.console import Console
from rich.live import Live
from rich.table import Table

from streams.topics import FEED_NAME


class LiveCounter:
    """Redraws from a shared `counts` dict (topic -> delivered) a few times a second."""

    def __init__(self, counts: dict[str, int], *, enabled: bool, console: Console | None = None):
        self._counts = counts
        self._enabled = enabled
        self._began = time.monotonic()
        self._live: Live | None = None
        self._console = console

    def render(self) -> Table:
        elapsed = max(time.monotonic() - self._began, 1e-9)
        table = Table(title="cityops simulate", expand=False)
        table.add_column("feed")
        table.add_column("sent", justify="right")
        table.add_column("events/s", justify="right")
        for topic, n in self._counts.items():
            table.add_row(FEED_NAME.get(topic, topic), f"{n:,}", f"{n / elapsed:,.0f}")
        total = sum(self._counts.values())
        table.add_row("total", f"{total:,}", f"{total / elapsed:,.0f}", style="bold")
        return table

    def __enter__(self) -> LiveCounter:
        if self._enabled:
            self._live = Live(
                get_renderable=self.render, refresh_per_second=4, console=self._console
            )
            self._live.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._live is not None:
            self._live.__exit__(exc_type, exc, tb)
            self._live = None
