"""Inline SVG charts for the report: no script, no external asset, prints as vectors.

Pure: each function returns an SVG string. Every mark (bar, point) carries
`data-key` and `data-value` (the unrounded figure) like the printed figures do, so
the tests check the charts against the database too.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from markupsafe import Markup, escape

#: The report's palette: the bureaus' documents are black on white with one red accent.
INK, GRID, ACCENT = "#222", "#ccc", "#b22222"
SERIES = ("#1f4e79", "#5b9bd5", "#a9c8e8", "#7f7f7f")
W, H = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 14, 34


def _svg(body: list[str], label: str, height: int = H) -> Markup:
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {height}" '
        f'width="100%" role="img" aria-label="{escape(label)}" '
        f'font-family="inherit" font-size="11">' + "".join(body) + "</svg>"
    )


def _mark(tag: str, key: str, value: float, title: str, **attrs: object) -> str:
    extra = " ".join(f'{k.replace("_", "-")}="{v}"' for k, v in attrs.items())
    return (
        f'<{tag} data-key="{escape(key)}" data-value="{value!r}" {extra}>'
        f"<title>{escape(title)}</title></{tag}>"
    )


def _bar(
    key: str, value: float, title: str, x: float, y: float, w: float, h: float, fill: str
) -> str:
    """A bar: a `rect` mark; fractional coordinates to a tenth of a pixel."""
    return _mark(
        "rect", key, value, title, x=_px(x), y=_px(y), width=_px(w), height=_px(h), fill=fill
    )


def _px(v: float) -> str:
    return f"{v:.1f}" if isinstance(v, float) else str(v)


def _y_axis(lo: float, hi: float, height: int, fmt: str, ticks: int = 0) -> list[str]:
    """Grid lines and labels; `ticks` 0 = as many round steps (1-2-2.5-5) as fit in six."""
    if not ticks:
        span = hi - lo
        step = next(
            (m * 10**e for e in range(-4, 8) for m in (1, 2, 2.5, 5) if span / (m * 10**e) <= 6),
            span,
        )
        ticks = max(1, round(span / step))
    out = []
    for i in range(ticks + 1):
        v = lo + (hi - lo) * i / ticks
        y = TOP + (height - TOP - BOTTOM) * (1 - i / ticks)
        out.append(
            f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}" '
            f'stroke-width="0.5"/><text x="{LEFT - 4}" y="{y + 4:.1f}" text-anchor="end" '
            f'fill="{INK}">{fmt.format(v)}</text>'
        )
    return out


def line_vs_target(
    points: Sequence[tuple[str, str, float]], target: float | None, label: str, target_label: str
) -> Markup:
    """(key, x label, rate) per day as a line with dots, the target as a dashed red line."""
    values = [v for _, _, v in points] + ([target] if target is not None else [])
    lo = math.floor(min(values) * 100 - 0.5) / 100 if values else 0.9
    hi = 1.0
    lo = min(lo, hi - 0.01)
    plot_w, plot_h = W - LEFT - RIGHT, H - TOP - BOTTOM
    body = _y_axis(lo, hi, H, _pct_format(lo, hi))

    def xy(i: int, v: float) -> tuple[float, float]:
        x = LEFT + plot_w * (i + 0.5) / max(len(points), 1)
        return x, TOP + plot_h * (1 - (v - lo) / (hi - lo))

    if target is not None:
        y = xy(0, target)[1]
        body.append(
            f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="{ACCENT}" '
            f'stroke-dasharray="5 3"/><text x="{W - RIGHT}" y="{y - 3:.1f}" text-anchor="end" '
            f'fill="{ACCENT}">{escape(target_label)}</text>'
        )
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(i, v) for i, (_, _, v) in enumerate(points)))
    body.append(f'<polyline points="{path}" fill="none" stroke="{SERIES[0]}" stroke-width="1.5"/>')
    step = max(1, math.ceil(len(points) / 10))
    for i, (key, xlabel, v) in enumerate(points):
        x, y = xy(i, v)
        colour = ACCENT if target is not None and v < target else SERIES[0]
        body.append(
            _mark(
                "circle",
                key,
                v,
                f"{xlabel}: {v:.2%}",
                cx=f"{x:.1f}",
                cy=f"{y:.1f}",
                r=2.5,
                fill=colour,
            )
        )
        if i % step == 0:
            body.append(
                f'<text x="{x:.1f}" y="{H - BOTTOM + 14}" text-anchor="middle" '
                f'fill="{INK}">{escape(xlabel)}</text>'
            )
    return _svg(body, label)


def grouped_bars(
    groups: Sequence[tuple[str, Sequence[tuple[str, float | None]]]],
    series: Sequence[str],
    label: str,
) -> Markup:
    """Rates per group (district), one bar per series; the axis starts near the lowest rate."""
    values = [v for _, bars in groups for _, v in bars if v is not None]
    lo = max(0.0, math.floor(min(values, default=0.9) * 10 - 0.5) / 10) if values else 0.0
    hi = 1.0
    plot_w, plot_h = W - LEFT - RIGHT, H - TOP - BOTTOM - 14
    body = _y_axis(lo, hi, H - 14, _pct_format(lo, hi))
    gw = plot_w / max(len(groups), 1)
    bw = gw * 0.8 / max(len(series), 1)
    for g, (name, bars) in enumerate(groups):
        x0 = LEFT + g * gw + gw * 0.1
        for s, (key, v) in enumerate(bars):
            if v is None:
                continue
            h = plot_h * max(0.0, (v - lo) / (hi - lo))
            title = f"{name} {series[s]}: {v:.2%}"
            x, y = x0 + s * bw, TOP + plot_h - h
            body.append(_bar(key, v, title, x, y, bw * 0.92, h, SERIES[s]))
        body.append(
            f'<text x="{x0 + gw * 0.4:.1f}" y="{TOP + plot_h + 14}" text-anchor="middle" '
            f'fill="{INK}">{escape(name)}</text>'
        )
    for s, name in enumerate(series):  # legend
        x = LEFT + s * 150
        body.append(
            f'<rect x="{x}" y="{H - 14}" width="10" height="10" fill="{SERIES[s]}"/>'
            f'<text x="{x + 14}" y="{H - 5}" fill="{INK}">{escape(name)}</text>'
        )
    return _svg(body, label)


def stacked_bars(
    columns: Sequence[tuple[str, Sequence[tuple[str, float]]]],
    series: Sequence[str],
    label: str,
) -> Markup:
    """Per x (day): one stacked bar of the series' values (tonnes per waste kind)."""
    top = max((sum(v for _, v in col) for _, col in columns), default=0.0) or 1.0
    hi = _nice(top)
    plot_w, plot_h = W - LEFT - RIGHT, H - TOP - BOTTOM - 14
    body = _y_axis(0.0, hi, H - 14, "{:,.0f}")
    bw = plot_w / max(len(columns), 1)
    step = max(1, math.ceil(len(columns) / 10))
    for i, (xlabel, col) in enumerate(columns):
        y = float(TOP + plot_h)
        for s, (key, v) in enumerate(col):
            h = plot_h * v / hi
            y -= h
            title = f"{xlabel} {series[s]}: {v:,.2f}"
            body.append(_bar(key, v, title, LEFT + i * bw + bw * 0.1, y, bw * 0.8, h, SERIES[s]))
        if i % step == 0:
            body.append(
                f'<text x="{LEFT + (i + 0.5) * bw:.1f}" y="{TOP + plot_h + 14}" '
                f'text-anchor="middle" fill="{INK}">{escape(xlabel)}</text>'
            )
    for s, name in enumerate(series):
        x = LEFT + s * 130
        body.append(
            f'<rect x="{x}" y="{H - 14}" width="10" height="10" fill="{SERIES[s]}"/>'
            f'<text x="{x + 14}" y="{H - 5}" fill="{INK}">{escape(name)}</text>'
        )
    return _svg(body, label)


def count_bars(rows: Sequence[tuple[str, str, int, str, int]], label: str) -> Markup:
    """Horizontal bars per rule: (key, name, total, resolved key, resolved)."""
    row_h, name_w = 20, 190
    height = TOP + row_h * max(len(rows), 1) + 8
    top = _nice(max((t for _, _, t, _, _ in rows), default=1))
    plot_w = W - name_w - RIGHT - 30
    body = []
    for i, (key, name, n, rkey, resolved) in enumerate(rows):
        y = TOP + i * row_h
        body.append(
            f'<text x="{name_w - 6}" y="{y + 13}" text-anchor="end" '
            f'fill="{INK}">{escape(name)}</text>'
        )
        # the total, and over it the resolved part
        for mark_key, value, color in ((key, n, SERIES[2]), (rkey, resolved, SERIES[0])):
            width = plot_w * value / top
            body.append(
                _bar(mark_key, value, f"{name}: {value}", name_w, y + 2, width, row_h - 6, color)
            )
        body.append(
            f'<text x="{name_w + plot_w * n / top + 4:.1f}" y="{y + 13}" fill="{INK}">{n}</text>'
        )
    return _svg(body, label, height)


def _pct_format(lo: float, hi: float) -> str:
    """Tick labels that differ: 97.5 % / 98.0 % on a narrow axis, 90 % / 95 % on a wide one."""
    return "{:.1%}" if hi - lo < 0.2 else "{:.0%}"


def _nice(value: float) -> float:
    """The next 1-2-5 step at or above `value` (axis top)."""
    if value <= 0:
        return 1.0
    exp = 10 ** math.floor(math.log10(value))
    for m in (1, 2, 2.5, 5, 10):
        if value <= m * exp:
            return m * exp
    return 10 * exp
