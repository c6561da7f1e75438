"""Texts of the city and feed dashboards: overview, gas, streetlights, heating, fleet."""

from __future__ import annotations

#: message id -> (English, 简体中文)
MESSAGES: dict[str, tuple[str, str]] = {
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
}
