-- Alert response per calendar month (UTC), for the monthly operations report
-- (`cityops report`, DESIGN.md "The monthly operations report"). Same definitions as
-- kpi_alert_response (004), with the month an alert started in as a column so a report
-- reads one month, and the counts behind each mean (alerts_acknowledged for the time to
-- acknowledge, alerts_resolved for the time to resolve) so district and rule rows can
-- be merged into city figures as weighted means. Cheap: `month` is a grouping column,
-- so a WHERE on it is applied to `alerts` before the aggregation.
CREATE OR REPLACE VIEW kpi_alert_response_monthly AS
WITH first_ack AS (
    SELECT alert_id, min(updated_at) AS acked_at
    FROM alert_history
    WHERE state = 'acknowledged'
    GROUP BY alert_id
)
SELECT
    date_trunc('month', a.started_at AT TIME ZONE 'UTC')::date       AS month,
    a.district,
    a.rule,
    count(*)                                                         AS alerts_total,
    count(*) FILTER (WHERE a.state = 'resolved')                     AS alerts_resolved,
    count(f.acked_at)                                                AS alerts_acknowledged,
    (count(*) FILTER (WHERE a.state = 'resolved'))::double precision / count(*)
                                                                     AS closure_rate,
    avg(extract(EPOCH FROM f.acked_at - a.started_at))::double precision
                                                                     AS mean_time_to_ack_s,
    (avg(extract(EPOCH FROM a.resolved_at - a.started_at))
        FILTER (WHERE a.state = 'resolved'))::double precision       AS mean_time_to_resolve_s
FROM alerts AS a
LEFT JOIN first_ack AS f USING (alert_id)
GROUP BY date_trunc('month', a.started_at AT TIME ZONE 'UTC')::date, a.district, a.rule;
