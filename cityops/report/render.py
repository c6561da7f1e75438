"""The report as one self-contained HTML page (inline CSS and SVG, nothing fetched).

Pure: `render(data, lang, generated_on)` -> str. Figures are tagged by `Fmt.fig`;
text comes from `text`; the layout is `templates/report.html.j2` (Jinja2, autoescaped).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

import jinja2
from markupsafe import Markup

from cityops.report import charts
from cityops.report.fmt import NO_DATA, Fmt, Lang
from cityops.report.model import WASTE_KINDS, Incident, MonthData, Share, Waste
from cityops.report.text import issues, rule_name, summary, tr

#: Incidents listed with their timelines; the rest are counted.
MAX_INCIDENTS = 8
_EMPTY = Share()
_NO_WASTE = Waste({}, 0)


@dataclass(frozen=True)
class KpiRow:
    label: Markup
    value: Markup
    target: Markup
    status: str


@functools.cache
def _env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("cityops.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(data: MonthData, lang: Lang, generated_on: date) -> str:
    f = Fmt(lang)
    ctx = {
        "lang": lang,
        "html_lang": "zh-CN" if lang == "zh" else "en",
        "t": functools.partial(tr, lang),
        "f": f,
        "title": _title(data, f),
        "doc_no": _doc_no(data, f),
        "scope": data.district or tr(lang, "scope.city"),
        "summary": summary(data, lang),
        "kpis": _kpis(data, f),
        "charts": _charts(data, f),
        "districts": _districts(data, f),
        "rules": _rules(data, f),
        "incidents": [_incident(i, f) for i in data.incidents[:MAX_INCIDENTS]],
        "unlisted": _unlisted(data, f),
        "issues": issues(data, lang),
        "generated_on": f.fig("generated_on", generated_on, generated_on.isoformat()),
    }
    return _env().get_template("report.html.j2").render(ctx)


def _title(data: MonthData, f: Fmt) -> Markup:
    month = f.fig("month", data.month, f.month(data.month))
    if f.zh:
        return Markup("{}{}").format(month, "运行情况报告")
    return Markup("{}, {}").format(tr(f.lang, "title"), month)


def _doc_no(data: MonthData, f: Fmt) -> Markup:
    text = tr(f.lang, "doc_no", year=data.month.year, month=data.month.month)
    return f.fig("doc_no", data.month, text)


def _status(value: float | None, target: float | None, lang: Lang) -> str:
    if value is None or target is None:
        return tr(lang, "status.none")
    return tr(lang, "status.met" if value >= target else "status.missed")


def _kpis(data: MonthData, f: Fmt) -> list[KpiRow]:
    lang, none = f.lang, Markup(NO_DATA)
    lit, target = data.city_lit.value, data.lit_target
    warm_label = Markup(tr(lang, "kpi.warm_share", t="{}")).format(
        f.fig("warm_min_c", data.warm_min_c, f.celsius(data.warm_min_c))
    )
    rows = [
        KpiRow(
            Markup(tr(lang, "kpi.lit_rate")),
            f.fig("lit_rate|city", lit, f.pct(lit, target)),
            f.fig("lit_target", target, f.target_pct(target)) if target is not None else none,
            _status(lit, target, lang),
        ),
        _plain(tr(lang, "kpi.online_rate"), f, "online_rate|city", data.city_online.value),
        _plain(warm_label, f, "warm_share|city", data.city_warm.value),
    ]
    waste = data.city_waste
    for kind in WASTE_KINDS:
        value = waste.per_day(kind)
        label = Markup("{} · {}").format(tr(lang, "kpi.tonnes"), tr(lang, f"waste.{kind}"))
        key = f"tonnes_per_day|city|{kind}"
        rows.append(
            KpiRow(label, f.fig(key, value, f.tonnes(value)), none, tr(lang, "status.none"))
        )
    alerts = data.city_alerts
    rows += [
        KpiRow(
            Markup(tr(lang, "kpi.alerts_total")),
            f.fig("alerts_total|city", alerts.total, f.count(alerts.total)),
            none,
            tr(lang, "status.none"),
        ),
        _plain(tr(lang, "kpi.closure_rate"), f, "closure_rate|city", alerts.closure_rate),
        KpiRow(
            Markup(tr(lang, "kpi.mtta")),
            f.fig("mtta_s|city", alerts.mtta_s, f.duration(alerts.mtta_s)),
            none,
            tr(lang, "status.none"),
        ),
        KpiRow(
            Markup(tr(lang, "kpi.mttr")),
            f.fig("mttr_s|city", alerts.mttr_s, f.duration(alerts.mttr_s)),
            none,
            tr(lang, "status.none"),
        ),
    ]
    return rows


def _plain(label: str | Markup, f: Fmt, key: str, value: float | None) -> KpiRow:
    none = Markup(NO_DATA)
    return KpiRow(Markup(label), f.fig(key, value, f.pct(value)), none, tr(f.lang, "status.none"))


def _charts(data: MonthData, f: Fmt) -> list[tuple[str, Markup]]:
    lang = f.lang
    out: list[tuple[str, Markup]] = []
    daily = [
        (f"chart.lit_daily|{day.isoformat()}", f.day(day), v)
        for day, share in sorted(data.lit_daily.items())
        if (v := share.value) is not None
    ]
    if daily:
        label = tr(lang, "chart.lit_daily")
        target = tr(lang, "chart.target")
        out.append((label, charts.line_vs_target(daily, data.lit_target, label, target)))
    series = [
        tr(lang, "kpi.lit_rate"),
        tr(lang, "kpi.online_rate"),
        tr(lang, "kpi.warm_share", t=f.celsius(data.warm_min_c)),
    ]
    groups = [
        (
            d,
            [
                (f"chart.districts|lit_rate|{d}", _value(data.lit, d)),
                (f"chart.districts|online_rate|{d}", _value(data.online, d)),
                (f"chart.districts|warm_share|{d}", _value(data.warm, d)),
            ],
        )
        for d in data.districts
    ]
    if any(v is not None for _, bars in groups for _, v in bars):
        label = tr(lang, "chart.districts")
        out.append((label, charts.grouped_bars(groups, series, label)))
    if data.waste_daily:
        columns = [
            (
                f.day(day),
                [(f"chart.waste|{day.isoformat()}|{k}", kinds.get(k, 0.0)) for k in WASTE_KINDS],
            )
            for day, kinds in sorted(data.waste_daily.items())
        ]
        label = tr(lang, "chart.waste")
        names = [tr(lang, f"waste.{k}") for k in WASTE_KINDS]
        out.append((label, charts.stacked_bars(columns, names, label)))
    if data.alerts:
        rows = []
        for rule in data.rules:
            s = data.rule_alerts(rule)
            rows.append(
                (
                    f"chart.rules|total|{rule}",
                    rule_name(lang, rule),
                    s.total,
                    f"chart.rules|resolved|{rule}",
                    s.resolved,
                )
            )
        label = tr(lang, "chart.rules")
        out.append((label, charts.count_bars(rows, label)))
    return out


def _value(shares: Mapping[str, Share], district: str) -> float | None:
    share = shares.get(district)
    return share.value if share is not None else None


def _districts(data: MonthData, f: Fmt) -> list[list[Markup]]:
    """One row per district and a last row for the whole scope."""
    rows = []
    scopes = [(d, f"d:{d}") for d in data.districts] + [(None, "city")]
    for district, tag in scopes:
        if district is None:
            lit, online, warm = data.city_lit, data.city_online, data.city_warm
            waste, alerts = data.city_waste, data.city_alerts
            name = Markup("<strong>{}</strong>").format(data.district or tr(f.lang, "scope.city"))
        else:
            lit = data.lit.get(district) or _EMPTY
            online = data.online.get(district) or _EMPTY
            warm = data.warm.get(district) or _EMPTY
            waste = data.waste.get(district) or _NO_WASTE
            alerts = data.district_alerts(district)
            name = Markup("{}").format(district)
        per_day = waste.per_day()
        rows.append(
            [
                name,
                f.fig(f"lit_rate|{tag}", lit.value, f.pct(lit.value, data.lit_target)),
                f.fig(f"online_rate|{tag}", online.value, f.pct(online.value)),
                f.fig(f"warm_share|{tag}", warm.value, f.pct(warm.value)),
                f.fig(f"tonnes_per_day|{tag}|all", per_day, f.tonnes(per_day)),
                f.fig(f"alerts_total|{tag}", alerts.total, f.count(alerts.total)),
                f.fig(f"closure_rate|{tag}", alerts.closure_rate, f.pct(alerts.closure_rate)),
                f.fig(f"mtta_s|{tag}", alerts.mtta_s, f.duration(alerts.mtta_s)),
                f.fig(f"mttr_s|{tag}", alerts.mttr_s, f.duration(alerts.mttr_s)),
            ]
        )
    return rows


def _rules(data: MonthData, f: Fmt) -> list[list[Markup]]:
    rows = []
    for rule in data.rules:
        s, tag = data.rule_alerts(rule), f"r:{rule}"
        rows.append(
            [
                Markup("{}<br><small>{}</small>").format(rule_name(f.lang, rule), rule),
                f.fig(f"alerts_total|{tag}", s.total, f.count(s.total)),
                f.fig(f"alerts_resolved|{tag}", s.resolved, f.count(s.resolved)),
                f.fig(f"closure_rate|{tag}", s.closure_rate, f.pct(s.closure_rate)),
                f.fig(f"mtta_s|{tag}", s.mtta_s, f.duration(s.mtta_s)),
                f.fig(f"mttr_s|{tag}", s.mttr_s, f.duration(s.mttr_s)),
            ]
        )
    return rows


@dataclass(frozen=True)
class IncidentView:
    heading: Markup
    summary: Markup
    steps: list[tuple[Markup, str]]
    open: bool


def _incident(incident: Incident, f: Fmt) -> IncidentView:
    key = f"incident|{incident.alert_id}"
    lang = f.lang
    frame = "【{}】{} · {} · {}" if f.zh else "[{}] {} · {} · {}"
    heading = Markup(frame).format(
        tr(lang, f"severity.{incident.severity}"),
        rule_name(lang, incident.rule),
        incident.district,
        f.fig(f"{key}|entity", incident.entity_id, incident.entity_id),
    )
    steps = [
        (f.fig(f"{key}|step|{i}", step.at, f.when(step.at)), tr(lang, f"state.{step.state}"))
        for i, step in enumerate(incident.steps)
    ]
    still_open = not any(s.state == "resolved" for s in incident.steps)
    text = f.fig(f"{key}|summary", incident.summary, incident.summary)
    return IncidentView(heading, text, steps, still_open)


def _unlisted(data: MonthData, f: Fmt) -> Markup | None:
    rest = data.incidents_total - min(len(data.incidents), MAX_INCIDENTS)
    if rest <= 0:
        return None
    n = f.fig("incidents_unlisted", rest, f.count(rest))
    if f.zh:
        return Markup("另有{}起紧急或重要告警未逐一列出。").format(n)
    return Markup("{} more critical or major alerts are not listed.").format(n)
