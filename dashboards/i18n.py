"""Every dashboard text in English and 简体中文, keyed by message id.

Dashboards never hold literal text: they ask `Tr(lang)(message_id)`, so one
definition renders both languages and a missing translation fails the build.
"""

from __future__ import annotations

from typing import Literal, get_args

Lang = Literal["en", "zh"]
LANGS: tuple[Lang, ...] = get_args(Lang)

#: message id -> (English, 简体中文)
MESSAGES: dict[str, tuple[str, str]] = {
    # --- shared ---
    "links.dashboards": ("CityOps dashboards", "城市运行仪表盘"),
    "annotations.alerts": ("Alerts", "告警"),
    "var.district": ("District", "行政区"),
    "var.enterprise": ("Heating enterprise", "供热企业"),
    "var.route": ("Collection route", "收运线路"),
    "severity.critical": ("Critical", "紧急"),
    "severity.major": ("Major", "重要"),
    "severity.minor": ("Minor", "次要"),
    "severity.warning": ("Warning", "警告"),
    "severity.info": ("Info", "提示"),
    "state.firing": ("Firing", "告警中"),
    "state.acknowledged": ("Acknowledged", "已确认"),
    "waste.kitchen": ("Kitchen waste", "厨余垃圾"),
    "waste.recyclable": ("Recyclables", "可回收物"),
    "waste.other": ("Other waste", "其他垃圾"),
    "waste.hazardous": ("Hazardous waste", "有害垃圾"),
    "legend.supply": ("supply", "供水"),
    "legend.return": ("return", "回水"),
    "legend.time_to_ack": ("Mean time to acknowledge", "平均确认时长"),
    "legend.time_to_resolve": ("Mean time to resolve", "平均处置时长"),
    "legend.events": ("events/s", "事件/秒"),
    "legend.deadletters": ("dead letters", "死信"),
    "legend.sink_errors": ("sink write errors", "入库写入错误"),
    "legend.notifier_failures": ("Alertmanager push failures", "告警推送失败"),
    "legend.lag": ("max lag", "最大积压"),
    "legend.simulator_sent": ("simulator sent (all topics)", "模拟器发送(全部主题)"),
    "legend.p50": ("median", "中位数"),
    "legend.p95": ("95th percentile", "95分位"),
    "legend.p99": ("99th percentile", "99分位"),
    "legend.skipped": ("skipped", "跳过"),
    "legend.pushed": ("pushed to Alertmanager", "已推送"),
    # --- table columns and tooltip fields ---
    "col.rule": ("Rule", "规则"),
    "col.acknowledged_at": ("Acknowledged", "确认时间"),
    "col.severity": ("Severity", "级别"),
    "col.state": ("State", "状态"),
    "col.entity": ("Device", "设备"),
    "col.entity_type": ("Device type", "设备类型"),
    "col.district": ("District", "行政区"),
    "col.started_at": ("Started", "开始时间"),
    "col.updated_at": ("Updated", "更新时间"),
    "col.summary": ("Summary", "摘要"),
    "col.value": ("Value", "数值"),
    "col.threshold": ("Threshold", "阈值"),
    "col.open_for": ("Open for", "持续时长"),
    "col.runbook": ("Runbook", "处置手册"),
    "col.lit_rate": ("Night lit rate", "夜间亮灯率"),
    "col.online_rate": ("Detector online rate", "探测器在线率"),
    "col.warm_share": ("Heating compliance", "供热达标率"),
    "col.open_alerts": ("Open alerts", "未关闭告警"),
    "col.closure_rate": ("Closure rate", "结案率"),
    "col.alerts_total": ("Alerts", "告警数"),
    "col.alerts_resolved": ("Resolved", "已处置"),
    "col.mtta": ("Mean time to acknowledge", "平均确认时长"),
    "col.mttr": ("Mean time to resolve", "平均处置时长"),
    "col.detector": ("Detector", "探测器"),
    "col.site_type": ("Site type", "场所类型"),
    "col.status": ("Device status", "设备状态"),
    "col.last_seen": ("Last reading", "最后上报"),
    "col.lel_pct": ("Gas concentration (% LEL)", "燃气浓度(%LEL)"),
    "col.battery_pct": ("Battery", "电量"),
    "col.silent_for": ("Silent for", "静默时长"),
    "col.station": ("Heat-exchange station", "换热站"),
    "col.enterprise": ("Enterprise", "供热企业"),
    "col.supply_temp": ("Supply temperature", "供水温度"),
    "col.return_temp": ("Return temperature", "回水温度"),
    "col.supply_pressure": ("Supply pressure", "供水压力"),
    "col.return_pressure": ("Return pressure", "回水压力"),
    "col.flow": ("Flow", "流量"),
    "col.indoor_temp": ("Indoor temperature", "室内温度"),
    "col.outdoor_temp": ("Outdoor temperature", "室外温度"),
    "col.truck": ("Truck", "车辆"),
    "col.route": ("Route", "线路"),
    "col.waste_kind": ("Waste kind", "垃圾类别"),
    "col.ignition": ("Ignition", "点火"),
    "col.minute": ("Minute", "时间(分钟)"),
    "col.speed": ("Speed", "车速"),
    "col.heading": ("Heading", "航向"),
    "col.load": ("Load", "载重"),
    "col.trucks": ("Trucks", "车辆数"),
    "col.driving": ("Driving time", "行驶时长"),
    "col.off_route_alerts": ("Off-route alerts", "偏离线路告警"),
    "col.off_route_time": ("Time off route", "偏离线路时长"),
    "col.adherence": ("Route adherence", "线路遵从率"),
    # --- City overview ---
    "overview.title": ("CityOps · City overview", "城市运行 · 总览"),
    "overview.description": (
        "City KPIs against their targets, open alerts and where they are.",
        "城市关键指标与目标对比、未关闭告警及其位置。",
    ),
    "overview.lit_rate.title": ("Night lit rate (target 98 %)", "夜间亮灯率(目标 98%)"),
    "overview.lit_rate.description": (
        "Lights lit / lights expected lit at night, over the selected days"
        " (kpi_night_lit_rate). Orange below the 98 % target.",
        "所选日期内夜间实际亮灯数 / 应亮灯数(kpi_night_lit_rate)。低于 98% 目标显示橙色。",
    ),
    "overview.closure.title": ("Alert closure rate", "告警结案率"),
    "overview.closure.description": (
        "Resolved / raised alerts since records began (kpi_alert_response)."
        " Green from 99 %, yellow from 95 %.",
        "自有记录以来已处置告警 / 全部告警(kpi_alert_response)。99% 以上为绿色,95% 以上为黄色。",
    ),
    "overview.online.title": ("Gas detector online rate", "燃气探测器在线率"),
    "overview.online.description": (
        "Detectors reporting / detectors known, latest hour (kpi_detector_online_rate).",
        "最近一小时上报的探测器 / 已登记探测器(kpi_detector_online_rate)。",
    ),
    "overview.heating.title": ("Heating compliance (indoor ≥ 18 °C)", "供热达标率(室温 ≥ 18 °C)"),
    "overview.heating.description": (
        "Share of heat-exchange stations whose indoor temperature is at least 18 °C,"
        " latest hour (kpi_heating_compliance). Red below 90 %: homes are cold.",
        "最近一小时室内温度不低于 18 °C 的换热站占比(kpi_heating_compliance)。"
        "低于 90% 显示红色:居民室温不达标。",
    ),
    "overview.open_alerts.title": ("Open alerts by severity", "未关闭告警(按级别)"),
    "overview.open_alerts.description": (
        "Alerts firing or acknowledged, not yet resolved. Red: critical or major alerts open.",
        "告警中或已确认、尚未处置的告警。红色:存在紧急或重要告警。",
    ),
    "overview.map.title": ("City map: open alerts", "城市地图:未关闭告警"),
    "overview.map.description": (
        "Every open alert with a location, coloured by severity.",
        "所有带位置的未关闭告警,按级别着色。",
    ),
    "overview.map.layer": ("Open alerts", "未关闭告警"),
    "overview.districts.title": ("KPIs by district", "各区关键指标"),
    "overview.districts.description": (
        "Night lit rate over the range, detector online rate and heating compliance of the"
        " latest hour, open alerts.",
        "所选时段夜间亮灯率、最近一小时探测器在线率与供热达标率、未关闭告警数。",
    ),
    # --- Gas safety ---
    "gas.title": ("CityOps · Gas safety", "城市运行 · 燃气安全"),
    "gas.description": (
        "Combustible-gas detectors at restaurants, pipelines, stations and homes"
        " (gas.detector.v1): concentrations, alarms and offline detectors.",
        "餐饮、管网、场站和居民户的可燃气体探测器(gas.detector.v1):浓度、报警与离线设备。",
    ),
    "gas.alarming.title": ("Detectors in alarm now", "当前报警探测器"),
    "gas.alarming.description": (
        "Detectors at or above the first alarm level (25 % LEL) in the latest 1-minute roll-up.",
        "最近一分钟汇总中达到一级报警(25% LEL)及以上的探测器数。",
    ),
    "gas.max_lel.title": ("Highest gas concentration", "最高燃气浓度"),
    "gas.max_lel.description": (
        "Maximum % of the lower explosive limit across the selected districts."
        " Orange from 25 % LEL (first alarm), red from 50 % (second alarm).",
        "所选行政区内燃气浓度最大值(爆炸下限百分比)。25% LEL(一级报警)起橙色,50%(二级报警)起红色。",
    ),
    "gas.online.title": ("Detector online rate", "探测器在线率"),
    "gas.online.description": (
        "Detectors reporting / detectors known per hour (kpi_detector_online_rate).",
        "每小时上报探测器 / 已登记探测器(kpi_detector_online_rate)。",
    ),
    "gas.offline_count.title": ("Detectors offline", "离线探测器"),
    "gas.offline_count.description": (
        "Detectors seen in the range whose last heartbeat is more than 3 intervals"
        " (180 s) before its end.",
        "所选时段内出现过、但最后心跳早于时段结束 3 个周期(180 秒)以上的探测器数。",
    ),
    "gas.lel_by_district.title": ("Max LEL by district", "各区最高燃气浓度"),
    "gas.lel_by_district.description": (
        "Per-minute maximum concentration (rollups_1m.lel_max_pct) with the 25 % and"
        " 50 % LEL alarm levels.",
        "每分钟最高浓度(rollups_1m.lel_max_pct),标出 25% 与 50% LEL 报警线。",
    ),
    "gas.online_by_district.title": ("Online rate by district", "各区探测器在线率"),
    "gas.online_by_district.description": (
        "Hourly detector online rate per district; the line marks 95 %.",
        "各区每小时探测器在线率,参考线为 95%。",
    ),
    "gas.map.title": ("Detectors by status", "探测器状态分布"),
    "gas.map.description": (
        "Latest reading of every detector. Red: second alarm level; orange: first alarm"
        " level; yellow: fault or tamper; purple: offline; green: normal.",
        "每个探测器的最新读数。红色:二级报警;橙色:一级报警;黄色:故障或被拆;紫色:离线;绿色:正常。",
    ),
    "gas.map.layer": ("Gas detectors", "燃气探测器"),
    "gas.state.lel_critical": ("Alarm level 2 (≥ 50 % LEL)", "二级报警(≥50% LEL)"),
    "gas.state.lel_major": ("Alarm level 1 (≥ 25 % LEL)", "一级报警(≥25% LEL)"),
    "gas.state.tamper": ("Tampered", "被拆/遮挡"),
    "gas.state.fault": ("Fault", "故障"),
    "gas.state.offline": ("Offline", "离线"),
    "gas.state.ok": ("Normal", "正常"),
    "gas.offline.title": ("Offline detectors", "离线探测器清单"),
    "gas.offline.description": (
        "Detectors silent for more than 3 heartbeat intervals, longest silent first.",
        "超过 3 个心跳周期未上报的探测器,静默最久的在前。",
    ),
    # --- Streetlights ---
    "streetlights.title": ("CityOps · Streetlights", "城市运行 · 路灯照明"),
    "streetlights.description": (
        "Streetlight status (streetlight.status.v1): night lit rate against the 98 % target,"
        " dark lights, circuit outages and energy.",
        "路灯状态(streetlight.status.v1):夜间亮灯率与 98% 目标对比、灭灯、回路停电与能耗。",
    ),
    "streetlights.lit_now.title": ("Lit rate (target 98 %)", "亮灯率(目标 98%)"),
    "streetlights.lit_now.description": (
        "Lights lit / lights expected lit, from the 1-minute roll-ups of night-time"
        " minutes. Orange below 98 %.",
        "夜间每分钟汇总中实际亮灯数 / 应亮灯数。低于 98% 显示橙色。",
    ),
    "streetlights.dark_count.title": ("Dark lights", "灭灯数"),
    "streetlights.dark_count.description": (
        "Open streetlight.dark alerts: lights off or faulty while they should be lit.",
        "未关闭的灭灯告警(streetlight.dark):应亮未亮或故障的路灯。",
    ),
    "streetlights.outage_count.title": ("Circuit outages", "回路停电"),
    "streetlights.outage_count.description": (
        "Open streetlight.circuit_outage alerts (half a circuit dark at once, usually a"
        " cable fault). Red: send a repair crew.",
        "未关闭的回路停电告警(同一回路半数以上灭灯,多为电缆故障)。红色:需派抢修。",
    ),
    "streetlights.energy_total.title": ("Energy in range", "时段能耗"),
    "streetlights.energy_total.description": (
        "Estimated from reported power: each status message stands for its 5-minute"
        " reporting interval.",
        "按上报功率估算:每条状态消息代表其 5 分钟上报周期。",
    ),
    "streetlights.lit_rate.title": ("Lit rate by district", "各区亮灯率"),
    "streetlights.lit_rate.description": (
        "Night-time lit rate per district from rollups_1m; the line marks the 98 % target.",
        "各区夜间亮灯率(rollups_1m),参考线为 98% 目标。",
    ),
    "streetlights.night_kpi.title": (
        "Night lit rate by district vs 98 %",
        "各区夜间亮灯率与 98% 目标",
    ),
    "streetlights.night_kpi.description": (
        "Night lit rate over the selected days (kpi_night_lit_rate). Orange bars miss the target.",
        "所选日期夜间亮灯率(kpi_night_lit_rate)。橙色柱未达标。",
    ),
    "streetlights.map.title": ("Dark lights and circuit outages", "灭灯与回路停电分布"),
    "streetlights.map.description": (
        "Open alerts: yellow dots are dark lights, red squares are circuit outages.",
        "未关闭告警:黄色圆点为灭灯,红色方块为回路停电。",
    ),
    "streetlights.map.dark": ("Dark lights", "灭灯"),
    "streetlights.map.outage": ("Circuit outages", "回路停电"),
    "streetlights.energy.title": ("Energy by district", "各区能耗"),
    "streetlights.energy.description": (
        "kWh per interval, estimated from reported power (5-minute reporting interval).",
        "每个时间间隔的电量(千瓦时),按上报功率估算(5 分钟上报周期)。",
    ),
    # --- Heating ---
    "heating.title": ("CityOps · Heating", "城市运行 · 供热"),
    "heating.description": (
        "Heat-exchange stations of the heating enterprises (heating.station.v1):"
        " temperatures, pressures and indoor compliance against 18 °C.",
        "各供热企业换热站(heating.station.v1):温度、压力及室温 18 °C 达标情况。",
    ),
    "heating.compliance.title": ("Heating compliance (indoor ≥ 18 °C)", "供热达标率(室温 ≥ 18 °C)"),
    "heating.compliance.description": (
        "Share of stations whose indoor temperature is at least 18 °C, per hour"
        " (kpi_heating_compliance). Red below 90 %.",
        "每小时室温不低于 18 °C 的换热站占比(kpi_heating_compliance)。低于 90% 显示红色。",
    ),
    "heating.cold_stations.title": ("Stations below 18 °C", "室温低于 18 °C 的换热站"),
    "heating.cold_stations.description": (
        "Stations whose latest indoor temperature is below 18 °C. Red: residents are cold.",
        "最新室内温度低于 18 °C 的换热站数。红色:居民室温不达标。",
    ),
    "heating.pressure_alerts.title": ("Critical and major heating alerts", "供热紧急与重要告警"),
    "heating.pressure_alerts.description": (
        "Open heating alerts of severity critical (pressure drop: possible burst pipe)"
        " or major (indoor cold).",
        "未关闭的紧急(压力骤降,疑似爆管)或重要(室温过低)供热告警。",
    ),
    "heating.stations.title": ("Stations reporting", "上报换热站"),
    "heating.stations.description": (
        "Stations of the selected enterprises with readings in the range.",
        "所选供热企业在时段内有数据上报的换热站数。",
    ),
    "heating.indoor_min.title": ("Lowest indoor temperature by district", "各区最低室内温度"),
    "heating.indoor_min.description": (
        "Per-minute minimum indoor temperature (rollups_1m.indoor_temp_min_c);"
        " red area below 18 °C.",
        "每分钟最低室内温度(rollups_1m.indoor_temp_min_c);低于 18 °C 区域为红色。",
    ),
    "heating.compliance_by_district.title": ("Compliance by district", "各区供热达标率"),
    "heating.compliance_by_district.description": (
        "Hourly share of stations at or above 18 °C per district.",
        "各区每小时室温达标换热站占比。",
    ),
    "heating.temps.title": ("Supply and return temperature by enterprise", "各企业供回水温度"),
    "heating.temps.description": (
        "Mean supply and return water temperature of each selected enterprise's stations.",
        "所选供热企业换热站的平均供水与回水温度。",
    ),
    "heating.pressures.title": ("Supply and return pressure by station", "各换热站供回水压力"),
    "heating.pressures.description": (
        "Supply and return pressure (MPa) of each station of the selected enterprises;"
        " a sudden drop may be a burst pipe.",
        "所选供热企业各换热站供回水压力(MPa);压力骤降可能是爆管。",
    ),
    "heating.table.title": ("Stations: latest readings", "换热站最新读数"),
    "heating.table.description": (
        "Latest reading per station, coldest homes first; indoor temperature red below 18 °C.",
        "各换热站最新读数,室温最低的在前;室温低于 18 °C 显示红色。",
    ),
    # --- Sanitation fleet ---
    "fleet.title": ("CityOps · Sanitation fleet", "城市运行 · 环卫车队"),
    "fleet.description": (
        "Garbage trucks (fleet.gps.v1): positions, today's tracks, collected waste per"
        " kind and route adherence.",
        "垃圾收运车辆(fleet.gps.v1):实时位置、当日轨迹、分类收运量与线路遵从情况。",
    ),
    "fleet.map.title": ("Trucks and today's tracks", "车辆位置与当日轨迹"),
    "fleet.map.description": (
        "Latest position of every truck, coloured by waste kind, over its track since"
        " midnight (one point per minute).",
        "每辆车的最新位置(按垃圾类别着色)及当日零点以来的轨迹(每分钟一个点)。",
    ),
    "fleet.map.tracks": ("Today's tracks", "当日轨迹"),
    "fleet.map.trucks": ("Trucks", "车辆"),
    "fleet.active.title": ("Trucks active", "在线车辆"),
    "fleet.active.description": (
        "Trucks with ignition on that reported in the last 5 minutes of the range.",
        "时段末 5 分钟内点火并上报的车辆数。",
    ),
    "fleet.off_route_now.title": ("Open fleet alerts", "未关闭车队告警"),
    "fleet.off_route_now.description": (
        "Off route (yellow), dumping in a no-dumping zone (red) and speeding (orange).",
        "偏离线路(黄色)、禁倒区域倾倒(红色)与超速(橙色)。",
    ),
    "fleet.off_route_now.off_route": ("Off route", "偏离线路"),
    "fleet.off_route_now.geofence": ("Geofence violations", "电子围栏违规"),
    "fleet.off_route_now.speeding": ("Speeding", "超速"),
    "fleet.tonnes.title": ("Waste collected per day by kind", "每日分类收运量"),
    "fleet.tonnes.description": (
        "Tonnes per waste kind per day (kpi_waste_tonnes_daily).",
        "每日各类垃圾收运吨数(kpi_waste_tonnes_daily)。",
    ),
    "fleet.adherence.title": ("Route adherence", "线路遵从率"),
    "fleet.adherence.description": (
        "Per route: 1 - time off route (fleet.off_route alerts) / driving time"
        " (one GPS fix stands for 10 s). Least adherent first.",
        "按线路统计:1 - 偏离线路时长(fleet.off_route 告警)/ 行驶时长"
        "(每个定位点代表 10 秒)。遵从率最低的在前。",
    ),
    "fleet.trucks.title": ("Active trucks by district", "各区在线车辆"),
    "fleet.trucks.description": (
        "Trucks active per minute (rollups_1m.trucks_active).",
        "每分钟在线车辆数(rollups_1m.trucks_active)。",
    ),
    # --- Alerts and response ---
    # --- open alerts of one feed (dashboards/alert_overlays.py) ---
    "gas.open_alerts.title": ("Gas alert list (open)", "燃气告警清单(未关闭)"),
    "gas.open_alerts.description": (
        "Gas alerts firing or acknowledged, most urgent first; the red regions on the charts"
        " are the same alerts over time. The runbook column links to the rule's runbook.",
        "告警中或已确认的燃气告警,按紧急程度排序;图表上的红色区域即这些告警的持续时段。"
        "处置手册列链接到该规则的处置手册。",
    ),
    "streetlights.open_alerts.title": ("Streetlight alert list (open)", "路灯告警清单(未关闭)"),
    "streetlights.open_alerts.description": (
        "Streetlight alerts firing or acknowledged, most urgent first; the red regions on the"
        " charts are the same alerts over time. The runbook column links to the rule's runbook.",
        "告警中或已确认的路灯告警,按紧急程度排序;图表上的红色区域即这些告警的持续时段。"
        "处置手册列链接到该规则的处置手册。",
    ),
    "heating.open_alerts.title": ("Heating alert list (open)", "供热告警清单(未关闭)"),
    "heating.open_alerts.description": (
        "Heating alerts firing or acknowledged, most urgent first; the red regions on the"
        " charts are the same alerts over time. The runbook column links to the rule's runbook.",
        "告警中或已确认的供热告警,按紧急程度排序;图表上的红色区域即这些告警的持续时段。"
        "处置手册列链接到该规则的处置手册。",
    ),
    "fleet.open_alerts.title": ("Fleet alert list (open)", "环卫车辆告警清单(未关闭)"),
    "fleet.open_alerts.description": (
        "Garbage-truck alerts firing or acknowledged, most urgent first; the red regions on the"
        " charts are the same alerts over time. The runbook column links to the rule's runbook.",
        "告警中或已确认的环卫车辆告警,按紧急程度排序;图表上的红色区域即这些告警的持续时段。"
        "处置手册列链接到该规则的处置手册。",
    ),
    "alerts.title": ("CityOps · Alerts and response", "城市运行 · 告警与处置"),
    "alerts.description": (
        "Open alerts with their runbooks, how fast they are acknowledged and resolved,"
        " closure rate by district.",
        "未关闭告警及处置手册、确认与处置时效、各区结案率。",
    ),
    "alerts.open_by_severity.title": ("Open alerts by severity", "未关闭告警(按级别)"),
    "alerts.open_by_severity.description": (
        "Alerts firing or acknowledged, not yet resolved.",
        "告警中或已确认、尚未处置的告警。",
    ),
    "alerts.open.title": ("Open alerts", "未关闭告警清单"),
    "alerts.open.description": (
        "Most urgent first. The runbook column links to the rule's runbook page.",
        "按紧急程度排序。处置手册列链接到该规则的处置手册页面。",
    ),
    "alerts.open.runbook_link": ("Open runbook", "打开处置手册"),
    "alerts.raised.title": ("Alerts raised by severity", "新增告警(按级别)"),
    "alerts.raised.description": (
        "Alerts by start time and severity.",
        "按开始时间与级别统计的告警数。",
    ),
    "alerts.response_time.title": ("Time to acknowledge and resolve", "确认与处置时长"),
    "alerts.response_time.description": (
        "Mean seconds from start to first acknowledgement (alert_history) and to"
        " resolution, by start time.",
        "按开始时间统计:从告警开始到首次确认(alert_history)及到处置完成的平均秒数。",
    ),
    "alerts.closure.title": ("Closure rate by district", "各区结案率"),
    "alerts.closure.description": (
        "Resolved / raised alerts per district (kpi_alert_response); the line marks 99 %.",
        "各区已处置告警 / 全部告警(kpi_alert_response),参考线为 99%。",
    ),
    "alerts.by_rule.title": ("Response by rule", "各规则处置时效"),
    "alerts.by_rule.description": (
        "Alerts, closure rate, mean time to acknowledge and to resolve per rule"
        " (kpi_alert_response).",
        "各规则告警数、结案率、平均确认时长与平均处置时长(kpi_alert_response)。",
    ),
    # --- Pipeline health ---
    "pipeline.title": ("CityOps · Pipeline health", "城市运行 · 数据管道健康"),
    "pipeline.description": (
        "Prometheus metrics of the workers, sink, notifier and simulator.",
        "流处理、入库、告警推送与模拟器进程的 Prometheus 指标。",
    ),
    "pipeline.events_total.title": ("Events in", "输入事件速率"),
    "pipeline.events_total.description": (
        "Messages consumed from the input topics per second.",
        "每秒从输入主题消费的消息数。",
    ),
    "pipeline.deadletters_range.title": ("Dead letters in range", "时段内死信数"),
    "pipeline.deadletters_range.description": (
        "Messages rejected to deadletter.v1 in the range. Orange: inspect the producers.",
        "时段内被拒并写入 deadletter.v1 的消息数。橙色:请检查数据源。",
    ),
    "pipeline.errors.title": ("Write and push errors", "写入与推送错误"),
    "pipeline.errors.description": (
        "Sink batches that failed (retried) and failed pushes to Alertmanager in the range.",
        "时段内入库失败(已重试)的批次与推送 Alertmanager 失败次数。",
    ),
    "pipeline.max_lag.title": ("Max consumer lag", "最大消费积压"),
    "pipeline.max_lag.description": (
        "Largest lag of any consumer group and topic. Orange from 10k, red from 100k messages.",
        "所有消费组与主题中的最大积压。1 万条起橙色,10 万条起红色。",
    ),
    "pipeline.events.title": ("Events per second by topic", "各主题事件速率"),
    "pipeline.events.description": (
        "cityops_events_in_total per topic, and what the simulator sent.",
        "各主题 cityops_events_in_total 速率,以及模拟器发送速率。",
    ),
    "pipeline.deadletters.title": ("Dead letters by reason", "死信原因分布"),
    "pipeline.deadletters.description": (
        "Rejected messages per second by reason code and source topic.",
        "按原因代码与来源主题统计的每秒被拒消息数。",
    ),
    "pipeline.latency.title": ("Processing latency", "处理延迟"),
    "pipeline.latency.description": (
        "Event time to processed by the worker: quantiles from cityops_processing_latency_seconds.",
        "从事件时间到流处理完成的延迟分位数(cityops_processing_latency_seconds)。",
    ),
    "pipeline.e2e.title": ("End-to-end latency by table", "各表端到端延迟"),
    "pipeline.e2e.description": (
        "Event time to row committed, 95th percentile per table.",
        "从事件时间到数据入库提交,各表 95 分位延迟。",
    ),
    "pipeline.sink_rows.title": ("Sink rows per second", "入库行速率"),
    "pipeline.sink_rows.description": (
        "Rows written per table (duplicates included) and messages skipped as invalid.",
        "各表每秒写入行数(含重复)及因无效而跳过的消息。",
    ),
    "pipeline.lag.title": ("Consumer lag", "消费积压"),
    "pipeline.lag.description": (
        "Messages behind the log end per consumer group and topic.",
        "各消费组与主题落后于日志末端的消息数。",
    ),
    "pipeline.batch.title": ("Sink batch duration", "入库批次耗时"),
    "pipeline.batch.description": (
        "Time to write and commit one batch.",
        "写入并提交一个批次所需时间。",
    ),
    "pipeline.alerts.title": ("Alert events per minute", "每分钟告警事件"),
    "pipeline.alerts.description": (
        "Firing alert events by severity, and alerts pushed to Alertmanager by state.",
        "按级别统计的告警触发事件,以及按状态统计的已推送 Alertmanager 告警。",
    ),
}


class Tr:
    """`Tr("zh")("gas.title")` -> the Chinese text; a missing id raises KeyError."""

    def __init__(self, lang: Lang) -> None:
        if lang not in LANGS:
            raise ValueError(f"unknown language {lang!r}; expected one of {LANGS}")
        self.lang: Lang = lang
        self._index = LANGS.index(lang)

    def __call__(self, message_id: str) -> str:
        return MESSAGES[message_id][self._index]
