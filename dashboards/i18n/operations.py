"""Texts of the operations dashboards: alerts and response, pipeline health."""

from __future__ import annotations

#: message id -> (English, 简体中文)
MESSAGES: dict[str, tuple[str, str]] = {
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
