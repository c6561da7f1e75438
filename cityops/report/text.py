"""The report's words in English and 简体中文, and the sentences that carry its figures.

Pure. Sentences follow the bureaus' work reports (shared/seeds/): the figure, then the
target and whether it was met, e.g. "本月全市夜间亮灯率98.6%，高于98%的目标。" /
"The city's night lit rate was 98.6 %, above the 98 % target."
"""

from __future__ import annotations

from markupsafe import Markup, escape

from cityops.report.fmt import Fmt, Lang, join
from cityops.report.model import WASTE_KINDS, MonthData

#: message id -> (English, 简体中文)
MESSAGES: dict[str, tuple[str, str]] = {
    "title": ("City operations report", "城市运行管理服务平台运行情况报告"),
    "issuer": ("CityOps operations centre", "城市运行管理服务平台"),
    "scope.city": ("whole city", "全市"),
    "doc_no": ("Monthly report {year}/{month}", "城运月报〔{year}〕{month}号"),
    "sec.summary": ("Summary", "一、总体情况"),
    "sec.kpis": ("Indicators against targets", "二、主要指标完成情况"),
    "sec.districts": ("Districts", "三、分区运行情况"),
    "sec.alerts": ("Alert response", "四、告警处置情况"),
    "sec.incidents": ("Major incidents", "五、重大事件"),
    "sec.issues": ("Issues to follow up", "六、存在问题和下一步工作"),
    "sec.notes": ("Notes", "附注"),
    "kpi.lit_rate": ("Night lit rate", "夜间亮灯率"),
    "kpi.online_rate": ("Gas detector online rate", "燃气探测器在线率"),
    "kpi.warm_share": ("Heating compliance (indoor ≥ {t})", "供热达标率（室温≥{t}）"),
    "kpi.tonnes": ("Waste collected per day (t)", "日均垃圾收运量（吨）"),
    "kpi.closure_rate": ("Alert closure rate", "告警结案率"),
    "kpi.mtta": ("Mean time to acknowledge", "平均确认时长"),
    "kpi.mttr": ("Mean time to resolve", "平均处置时长"),
    "kpi.alerts_total": ("Alerts", "告警数"),
    "kpi.alerts_resolved": ("Resolved", "已处置"),
    "col.indicator": ("Indicator", "指标"),
    "col.month": ("This month", "本月"),
    "col.target": ("Target", "目标"),
    "col.status": ("Status", "完成情况"),
    "col.district": ("District", "行政区"),
    "col.warm_share": ("Heating compliance", "供热达标率"),
    "alerts.none": ("No alerts were raised this month.", "本月未产生告警。"),
    "incidents.none": ("No critical or major alerts this month.", "本月未发生紧急或重要告警。"),
    "col.rule": ("Rule", "告警规则"),
    "col.when": ("Time (UTC)", "时间（UTC）"),
    "col.event": ("Event", "事件"),
    "status.met": ("met", "达标"),
    "status.missed": ("missed", "未达标"),
    "status.none": ("no target", "—"),
    "chart.lit_daily": ("Night lit rate per day", "每日夜间亮灯率"),
    "chart.districts": ("Districts: lit, online and warm rates", "各区亮灯率、在线率、供热达标率"),
    "chart.waste": ("Waste collected per day, tonnes", "每日垃圾收运量（吨）"),
    "chart.rules": ("Alerts per rule (dark: resolved)", "各规则告警数（深色：已处置）"),
    "chart.target": ("target", "目标"),
    "waste.kitchen": ("kitchen waste", "厨余垃圾"),
    "waste.recyclable": ("recyclables", "可回收物"),
    "waste.other": ("other waste", "其他垃圾"),
    "waste.hazardous": ("hazardous waste", "有害垃圾"),
    "severity.critical": ("Critical", "紧急"),
    "severity.major": ("Major", "重要"),
    "state.firing": ("raised", "告警"),
    "state.acknowledged": ("acknowledged", "确认"),
    "state.resolved": ("resolved", "处置完毕"),
    "state.open": ("still open", "尚未关闭"),
    "rule.gas.lel_high": ("gas concentration high", "燃气浓度超限"),
    "rule.gas.detector_fault": ("gas detector fault", "燃气探测器故障"),
    "rule.gas.detector_offline": ("gas detector offline", "燃气探测器离线"),
    "rule.streetlight.dark": ("streetlight dark", "路灯不亮"),
    "rule.streetlight.circuit_outage": ("lighting circuit outage", "照明回路停电"),
    "rule.streetlight.day_burning": ("streetlight on by day", "路灯白天亮灯"),
    "rule.streetlight.lit_rate_low": ("district lit rate low", "区域亮灯率偏低"),
    "rule.heating.indoor_cold": ("indoor temperature low", "室内温度偏低"),
    "rule.heating.pressure_drop": ("heating pressure drop", "供热管网压力骤降"),
    "rule.heating.supply_temp_low": ("supply temperature low", "供水温度偏低"),
    "rule.heating.station_offline": ("heating station offline", "换热站离线"),
    "rule.fleet.off_route": ("truck off route", "收运车辆偏离线路"),
    "rule.fleet.geofence_violation": ("dumping in a no-dumping zone", "禁倒区域违规倾倒"),
    "rule.fleet.idle": ("truck idling", "收运车辆怠速"),
    "rule.fleet.speeding": ("truck speeding", "收运车辆超速"),
    "rule.pipeline.feed_silent": ("feed silent", "数据接入中断"),
    "note.source": (
        "Figures are read from the database's KPI views (kpi_night_lit_rate,"
        " kpi_detector_online_rate, kpi_heating_compliance, kpi_waste_tonnes_daily,"
        " kpi_alert_response_monthly) and the alert history; days and months are UTC.",
        "数据来源：数据库指标视图（kpi_night_lit_rate、kpi_detector_online_rate、"
        "kpi_heating_compliance、kpi_waste_tonnes_daily、kpi_alert_response_monthly）"
        "及告警历史；日期和月份按协调世界时（UTC）统计。",
    ),
    "note.rates": (
        "Rates are ratios of sums over the month (lights lit over lights that should be lit"
        " at night; detector-hours online over detector-hours known; station-hours warm over"
        " station-hours reporting). Waste per day is the month's tonnes over the days with"
        " collections. Alerts are those raised in the month, in their state today.",
        "各项比率为全月合计之比（夜间实际亮灯数／应亮灯数；探测器在线时长／应在线时长；"
        "室温达标时长／上报时长）。日均收运量为全月收运吨数除以有收运记录的天数。"
        "告警统计口径为本月发生的告警及其当前状态。",
    ),
}


def tr(lang: Lang, key: str, **kwargs: object) -> str:
    en, zh = MESSAGES[key]
    text = zh if lang == "zh" else en
    return text.format(**kwargs) if kwargs else text


def rule_name(lang: Lang, rule: str) -> str:
    """The rule's name in words; a rule this report does not know yet keeps its id."""
    key = f"rule.{rule}"
    return tr(lang, key) if key in MESSAGES else rule


def _rate_vs_target(f: Fmt, key: str, value: float, target: float) -> Markup:
    rate = f.fig(key, value, f.pct(value, target))
    goal = f.fig("lit_target", target, f.target_pct(target))
    if f.zh:
        verb = "高于" if value > target else "达到" if value == target else "低于"
        return Markup("{}，{}{}的目标").format(rate, verb, goal)
    verb = "above" if value > target else "meeting" if value == target else "below"
    return Markup("{}, {} the {} target").format(rate, verb, goal)


def summary(data: MonthData, lang: Lang) -> list[Markup]:
    """Section one: the month in plain sentences, each figure tagged."""
    f = Fmt(lang)
    zh = f.zh
    where = escape(data.district) if data.district else tr(lang, "scope.city")
    out: list[Markup] = []

    lit = data.city_lit.value
    if lit is None:
        out.append(
            Markup("本月{}无夜间路灯数据。" if zh else "No night streetlight data for {}.").format(
                where
            )
        )
    elif data.lit_target is None:
        rate = f.fig("lit_rate|city", lit, f.pct(lit))
        out.append(
            Markup("本月{}夜间亮灯率{}。" if zh else "The night lit rate of {} was {}.").format(
                where, rate
            )
        )
    else:
        body = _rate_vs_target(f, "lit_rate|city", lit, data.lit_target)
        if zh:
            out.append(Markup("本月{}夜间亮灯率{}。").format(where, body))
        else:
            subject = "The city's" if data.district is None else Markup("{}'s").format(where)
            out.append(Markup("{} night lit rate was {}.").format(subject, body))

    online = data.city_online.value
    if online is not None:
        rate = f.fig("online_rate|city", online, f.pct(online))
        out.append(
            Markup(
                "燃气探测器在线率{}。" if zh else "Gas detectors were online {} of the time."
            ).format(rate)
        )
    warm = data.city_warm.value
    if warm is not None:
        t = f.fig("warm_min_c", data.warm_min_c, f.celsius(data.warm_min_c))
        share = f.fig("warm_share|city", warm, f.pct(warm))
        out.append(
            Markup("供热站室内温度不低于{}的时段占{}。").format(t, share)
            if zh
            else Markup(
                "Heating stations kept indoor temperatures at or above {} {} of the time."
            ).format(t, share)
        )

    waste = data.city_waste
    if waste.days:
        parts = [_tonnes_phrase(f, kind, waste.per_day(kind)) for kind in WASTE_KINDS]
        out.append(
            Markup("日均收运{}。").format(join(parts, lang))
            if zh
            else Markup("Per day, the trucks collected {}.").format(join(parts, lang))
        )

    alerts = data.city_alerts
    if alerts.total:
        n = f.fig("alerts_total|city", alerts.total, f.count(alerts.total))
        done = f.fig("alerts_resolved|city", alerts.resolved, f.count(alerts.resolved))
        rate = f.fig("closure_rate|city", alerts.closure_rate, f.pct(alerts.closure_rate))
        mtta = f.fig("mtta_s|city", alerts.mtta_s, f.duration(alerts.mtta_s))
        mttr = f.fig("mttr_s|city", alerts.mttr_s, f.duration(alerts.mttr_s))
        big = f.fig("incidents_total", data.incidents_total, f.count(data.incidents_total))
        if zh:
            out.append(
                Markup(
                    "本月共产生告警{}起，已处置{}起，结案率{}；平均确认时长{}，平均处置时长{}。"
                    "其中紧急和重要告警{}起。"
                ).format(n, done, rate, mtta, mttr, big)
            )
        else:
            out.append(
                Markup(
                    "{} alerts were raised and {} resolved, a closure rate of {}; the mean time"
                    " to acknowledge was {} and to resolve {}. {} of them were critical or"
                    " major."
                ).format(n, done, rate, mtta, mttr, big)
            )
    else:
        out.append(Markup(tr(lang, "alerts.none")))
    return out


def _tonnes_phrase(f: Fmt, kind: str, tonnes: float | None) -> Markup:
    fig = f.fig(f"tonnes_per_day|city|{kind}", tonnes, f.tonnes(tonnes))
    name = tr(f.lang, f"waste.{kind}")
    return Markup("{}{}吨").format(name, fig) if f.zh else Markup("{} t of {}").format(fig, name)


def issues(data: MonthData, lang: Lang) -> list[Markup]:
    """Section six: what missed its target or took longest, from the figures alone."""
    f = Fmt(lang)
    out: list[Markup] = []
    below = data.below_target()
    if below and data.lit_target is not None:
        goal = f.fig("lit_target", data.lit_target, f.target_pct(data.lit_target))
        names = join(
            [
                Markup("{}（{}）" if f.zh else "{} ({})").format(
                    d, f.fig(f"lit_rate|d:{d}", v, f.pct(v, data.lit_target))
                )
                for d, v in below
            ],
            lang,
        )
        out.append(
            Markup("{}夜间亮灯率低于{}的目标，需重点排查照明回路和灯具故障。").format(names, goal)
            if f.zh
            else Markup(
                "The night lit rate of {} was below the {} target: check their lighting"
                " circuits and lamps first."
            ).format(names, goal)
        )
    rules = [(r, data.rule_alerts(r)) for r in data.rules]
    with_closure = [(r, s) for r, s in rules if s.closure_rate is not None and s.closure_rate < 1]
    if with_closure:
        rule, stats = min(with_closure, key=lambda rs: (rs[1].closure_rate, rs[0]))
        rate = f.fig(f"closure_rate|r:{rule}", stats.closure_rate, f.pct(stats.closure_rate))
        name = rule_name(lang, rule)
        out.append(
            Markup("“{}”类告警结案率最低（{}），需加强跟踪督办。").format(name, rate)
            if f.zh
            else Markup("“{}” alerts had the lowest closure rate ({}): follow them up.").format(
                name, rate
            )
        )
    with_mttr = [(r, s) for r, s in rules if s.mttr_s is not None]
    if with_mttr:
        rule, stats = max(with_mttr, key=lambda rs: (rs[1].mttr_s or 0.0, rs[0]))
        took = f.fig(f"mttr_s|r:{rule}", stats.mttr_s, f.duration(stats.mttr_s))
        name = rule_name(lang, rule)
        out.append(
            Markup("“{}”类告警平均处置时长最长（{}），需优化处置流程。").format(name, took)
            if f.zh
            else Markup("“{}” alerts took longest to resolve ({} on average).").format(name, took)
        )
    if not out:
        # "met every target" would be claimed for KPIs without data too: say only what is known
        out.append(
            Markup(
                "本月未发现低于目标或需督办的指标。"
                if f.zh
                else "No indicator fell below its target."
            )
        )
    return out
