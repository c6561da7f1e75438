-- KPI views (DESIGN.md "KPIs"; names and columns per docs/ARCHITECTURE.md), read by
-- the dashboards as cityops_grafana. They read the hourly/daily roll-ups, so on
-- TimescaleDB they are served from the continuous aggregates. Per-hour counts are
-- per-minute means (entity-minutes / minutes); rates are ratios of sums.

-- Days are UTC days. lights_expected_lit only counts lights that should be lit (dusk
-- to dawn), so a day's sums are the night's.
CREATE OR REPLACE VIEW kpi_night_lit_rate AS
SELECT
    (bucket AT TIME ZONE 'UTC')::date                                     AS day,
    district,
    lights_expected_lit,
    lights_lit,
    lights_lit::double precision / NULLIF(lights_expected_lit, 0)         AS lit_rate,
    0.98::double precision                                                AS target,
    lights_lit::double precision / NULLIF(lights_expected_lit, 0) >= 0.98 AS meets_target
FROM rollups_1d
WHERE feed = 'streetlight' AND lights_expected_lit > 0;

CREATE OR REPLACE VIEW kpi_detector_online_rate AS
SELECT
    bucket,
    district,
    detectors_known::double precision / minutes  AS detectors_known,
    detectors_online::double precision / minutes AS detectors_online,
    detector_online_rate                         AS online_rate
FROM rollups_1h
WHERE feed = 'gas';

-- "Warm" = indoor temperature >= 18 °C (the northern-China heating-season minimum).
CREATE OR REPLACE VIEW kpi_heating_compliance AS
SELECT
    bucket,
    district,
    stations_reporting::double precision / minutes AS stations_reporting,
    stations_warm::double precision / minutes      AS stations_warm,
    warm_share
FROM rollups_1h
WHERE feed = 'heating';

CREATE OR REPLACE VIEW kpi_waste_tonnes_daily AS
SELECT
    (r.bucket AT TIME ZONE 'UTC')::date AS day,
    r.district,
    w.waste_kind,
    w.kg / 1000.0                       AS tonnes
FROM rollups_1d AS r
CROSS JOIN LATERAL (
    VALUES ('kitchen', r.load_kitchen_kg),
           ('recyclable', r.load_recyclable_kg),
           ('other', r.load_other_kg),
           ('hazardous', r.load_hazardous_kg)
) AS w (waste_kind, kg)
WHERE r.feed = 'fleet' AND w.kg IS NOT NULL;

-- Time to acknowledge = first 'acknowledged' event in the history - started_at;
-- time to resolve = resolved_at - started_at of resolved alerts.
CREATE OR REPLACE VIEW kpi_alert_response AS
WITH first_ack AS (
    SELECT alert_id, min(updated_at) AS acked_at
    FROM alert_history
    WHERE state = 'acknowledged'
    GROUP BY alert_id
)
SELECT
    a.district,
    a.rule,
    count(*)                                                         AS alerts_total,
    count(*) FILTER (WHERE a.state = 'resolved')                     AS alerts_resolved,
    (count(*) FILTER (WHERE a.state = 'resolved'))::double precision / count(*)
                                                                     AS closure_rate,
    avg(extract(EPOCH FROM f.acked_at - a.started_at))::double precision
                                                                     AS mean_time_to_ack_s,
    (avg(extract(EPOCH FROM a.resolved_at - a.started_at))
        FILTER (WHERE a.state = 'resolved'))::double precision       AS mean_time_to_resolve_s
FROM alerts AS a
LEFT JOIN first_ack AS f USING (alert_id)
GROUP BY a.district, a.rule;
