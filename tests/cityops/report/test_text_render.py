"""Sentences and the page, from figures alone (no database)."""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime

from cityops.report.model import AlertStats, Incident, Share, Step
from cityops.report.render import MAX_INCIDENTS, render
from cityops.report.text import MESSAGES, issues, summary
from tests.cityops.report.figures import read
from tests.cityops.report.test_model import month


def plain(markup: object) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", str(markup)))


def test_lit_rate_sentence_in_the_bureaus_words() -> None:
    data = month(lit={"市南区": Share(986, 1000)})
    assert plain(summary(data, "zh")[0]) == "本月全市夜间亮灯率98.6%，高于98%的目标。"
    assert plain(summary(data, "en")[0]) == (
        "The city's night lit rate was 98.6 %, above the 98 % target."
    )
    low = month(lit={"市南区": Share(975, 1000)}, district="市南区")
    assert plain(summary(low, "zh")[0]) == "本月市南区夜间亮灯率97.5%，低于98%的目标。"
    assert plain(summary(low, "en")[0]) == (
        "市南区's night lit rate was 97.5 %, below the 98 % target."
    )
    assert plain(summary(month(lit={"a": Share(98, 100)}), "en")[0]).endswith(
        "meeting the 98 % target."
    )


def test_other_sentences() -> None:
    data = month(
        online={"a": Share(977, 1000)},
        warm={"a": Share(97, 100)},
        waste_daily={date(2026, 11, 1): {"kitchen": 84.06, "recyclable": 51.7, "other": 220.6}},
        alerts={("a", "gas.lel_high"): AlertStats.from_means(10, 9, 8, 252.0, 7200.0)},
        incidents_total=3,
    )
    zh = [plain(s) for s in summary(data, "zh")]
    assert "燃气探测器在线率97.7%。" in zh
    assert "供热站室内温度不低于18 °C的时段占97.0%。" in zh
    assert "日均收运厨余垃圾84.06吨、可回收物51.70吨、其他垃圾220.60吨和有害垃圾0.00吨。" in zh
    assert (
        "本月共产生告警10起，已处置9起，结案率90.0%；平均确认时长4.2 分钟，"
        "平均处置时长2.0 小时。其中紧急和重要告警3起。"
    ) in zh
    en = [plain(s) for s in summary(data, "en")]
    assert "Gas detectors were online 97.7 % of the time." in en
    assert any(
        s.startswith("10 alerts were raised and 9 resolved, a closure rate of 90.0 %") for s in en
    )
    assert "No night streetlight data for whole city." in en


def test_no_alerts_and_nothing_to_follow_up() -> None:
    data = month(lit={"a": Share(99, 100)})
    assert plain(summary(data, "zh")[-1]) == "本月未产生告警。"
    assert [plain(s) for s in issues(data, "en")] == ["No indicator fell below its target."]
    assert [plain(s) for s in issues(month(), "zh")] == ["本月未发现低于目标或需督办的指标。"]


def test_issues_name_the_worst_district_and_rules() -> None:
    data = month(
        lit={"甲区": Share(97, 100), "乙区": Share(99, 100)},
        alerts={
            ("甲区", "fleet.idle"): AlertStats.from_means(4, 1, 1, 60.0, 600.0),
            ("甲区", "gas.lel_high"): AlertStats.from_means(2, 2, 2, 60.0, 9000.0),
        },
    )
    zh = [plain(s) for s in issues(data, "zh")]
    assert zh[0] == "甲区（97.0%）夜间亮灯率低于98%的目标，需重点排查照明回路和灯具故障。"
    assert "“收运车辆怠速”类告警结案率最低（25.0%），需加强跟踪督办。" in zh
    assert "“燃气浓度超限”类告警平均处置时长最长（2.5 小时），需优化处置流程。" in zh


def test_page_is_self_contained_and_lists_incidents_with_timelines() -> None:
    t0 = datetime(2026, 11, 3, 14, 5, tzinfo=UTC)
    incidents = tuple(
        Incident(
            f"gas.lel_high:GD-{i}:1",
            "gas.lel_high",
            "critical",
            "市南区",
            f"GD-{i}",
            "LEL 55 %",
            t0,
            (Step("firing", t0), Step("acknowledged", t0.replace(minute=9))),
        )
        for i in range(MAX_INCIDENTS + 2)
    )
    data = month(
        lit={"市南区": Share(97, 100)},
        lit_daily={date(2026, 11, 3): Share(97, 100)},
        alerts={("市南区", "new.rule"): AlertStats.from_means(12, 0, 0, None, None)},
        incidents_total=12,
        incidents=incidents,
    )
    page_html = render(data, "zh", date(2026, 12, 1))
    page = read(page_html)
    assert page.links == [] and not page.tags & {"script", "link", "img"}
    keys = [k for k, _, _ in page.figures]
    assert keys.count("incident|gas.lel_high:GD-0:1|step|1") == 1
    assert "incident|gas.lel_high:GD-8:1|entity" not in keys  # beyond MAX_INCIDENTS
    unlisted = next(t for k, _, t in page.figures if k == "incidents_unlisted")
    assert unlisted == "4"
    assert "尚未关闭" in page_html  # no resolved step
    assert "new.rule" in page_html  # an unknown rule keeps its id
    assert not re.search(r"\d", "".join(page.loose_text))


def test_every_message_has_both_languages() -> None:
    for key, (en, zh) in MESSAGES.items():
        assert en and zh, key
        assert en.count("{") == zh.count("{"), key


def test_a_month_without_alerts_says_so_in_every_section() -> None:
    page = render(month(online={"a": Share(99, 100)}), "zh", date(2026, 12, 1))
    alerts_section = page.split('id="alerts"')[1].split("</section>")[0]
    assert "本月未产生告警。" in alerts_section
    assert "本月未发生紧急或重要告警。" in page
    assert "本月全市无夜间路灯数据。" in page
