"""`pipeline.feed_silent` (major): a whole feed delivered nothing for a while.

Event time stops when a feed stops, so this rule runs on processing time: the
log end of every partition of the feed topic, polled by the worker, has not
grown for `pipeline.feed_silent_s` seconds (`cityops/base/thresholds.toml`).
It resolves as soon as the feed's log grows again. (A gateway outage of all 525
gas channels raised nothing before: the offline rules need event time to move.)

One owner: only the worker that owns partition 0 of the input topics judges, so
N workers page once. Its open alerts live in that partition's entity-stage state
(`~feed-silent`, checkpointed to changelog partition 0 like everything else), so
the next owner after a failover resolves the *same* alert id; it starts its own
silence clocks afresh (a silence is then reported up to one threshold late,
never twice). Acknowledgements of this rule are not routed (no entity partition
holds it): it resolves by itself.
"""

from __future__ import annotations

from collections.abc import MutableMapping

import orjson

from cityops.base.settings import Settings
from cityops.base.thresholds import load_thresholds
from streams import topics
from streams.models import Alert
from streams.rules.lifecycle import AlertBook, Subject

RULE = "pipeline.feed_silent"
STATE_KEY = b"~feed-silent"


class FeedSilence:
    def __init__(self, settings: Settings) -> None:
        self.after_s = load_thresholds(settings.rules_file).pipeline.feed_silent_s
        self.base_url = settings.runbook_base_url
        self.table: MutableMapping[bytes, bytes] | None = None
        self.ends: dict[str, int] = {}
        self.grew_at: dict[str, float] = {}
        self.owned_at = 0.0

    def owns(self, table: MutableMapping[bytes, bytes] | None, now: float) -> None:
        """Judge (with partition 0's state `table`) or stop judging (None)."""
        if table is not None and self.table is None:
            self.owned_at = now
            self.grew_at = dict.fromkeys(topics.FEED_NAME.values(), now)
            self.ends = {}
        self.table = table

    def observe(self, ends: dict[str, int], now: float) -> None:
        """The summed log-end offsets of each feed's topic, polled at `now`. Only log
        growth counts: re-reading a backlog after a failover is not the feed delivering."""
        for feed, end in ends.items():
            old = self.ends.get(feed)
            self.ends[feed] = end
            if old is not None and end != old:
                self.grew_at[feed] = now

    def tick(self, now: float, wall_ms: int) -> list[Alert]:
        table = self.table
        if table is None:
            return []
        raw = table.get(STATE_KEY)
        state: dict[str, dict] = orjson.loads(raw) if raw else {}
        emitted: list[Alert] = []
        for feed in topics.FEED_NAME.values():
            book = AlertBook(state.get(feed), self.base_url)
            quiet = now - self.grew_at.get(feed, now)
            if quiet >= self.after_s:
                book.fire(
                    RULE,
                    "major",
                    Subject("feed", feed, "all"),
                    wall_ms,
                    value=round(quiet, 1),
                    threshold=self.after_s,
                    summary=(
                        f"The {feed} feed delivered nothing for {quiet:.0f} s "
                        f"(>= {self.after_s:.0f} s): gateway, network or producer down?"
                    ),
                )
            elif book.is_open(RULE) and self.grew_at.get(feed, 0.0) > self.owned_at:
                # an alert opened by a former owner resolves on growth seen here,
                # not because this owner's clock has only just started
                book.resolve(RULE, wall_ms, value=0.0, summary=f"The {feed} feed delivers again")
            if book.emitted:
                state[feed] = book.open
                emitted += book.emitted
        if emitted:
            table[STATE_KEY] = orjson.dumps(state)
        return emitted
