-- 1-minute roll-ups from rollups.v1 (columns = streams.models.Rollup), current alert
-- state from alerts.v1 and the append-only alert history.

CREATE TABLE IF NOT EXISTS rollups_1m (
    feed                 text             NOT NULL,
    district             text             NOT NULL,
    bucket               timestamptz      NOT NULL,
    bucket_end           timestamptz      NOT NULL,
    readings             bigint           NOT NULL,
    detectors_reporting  bigint,
    detectors_known      bigint,
    detectors_online     bigint,
    detector_online_rate double precision,
    lel_max_pct          double precision,
    detectors_alarming   bigint,
    lights_reporting     bigint,
    lights_expected_lit  bigint,
    lights_lit           bigint,
    lit_rate             double precision,
    power_w_sum          double precision,
    stations_reporting   bigint,
    supply_temp_sum_c    double precision,
    return_temp_sum_c    double precision,
    supply_temp_mean_c   double precision,
    return_temp_mean_c   double precision,
    indoor_temp_min_c    double precision,
    stations_warm        bigint,
    warm_share           double precision,
    trucks_active        bigint,
    km_travelled         double precision,
    load_kitchen_kg      double precision,
    load_recyclable_kg   double precision,
    load_other_kg        double precision,
    load_hazardous_kg    double precision,
    PRIMARY KEY (feed, district, bucket)
);

CREATE TABLE IF NOT EXISTS alerts (
    alert_id    text             PRIMARY KEY,
    rule        text             NOT NULL,
    severity    text             NOT NULL,
    state       text             NOT NULL,
    entity_type text             NOT NULL,
    entity_id   text             NOT NULL,
    district    text             NOT NULL,
    lat         double precision,
    lon         double precision,
    started_at  timestamptz      NOT NULL,
    updated_at  timestamptz      NOT NULL,
    resolved_at timestamptz,
    value       double precision,
    threshold   double precision,
    summary     text             NOT NULL,
    runbook     text             NOT NULL,
    -- routing context for Alertmanager inhibition (circuit_id, station_id, ...)
    labels      jsonb            NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS alerts_open_idx ON alerts (district, rule) WHERE state <> 'resolved';

CREATE TABLE IF NOT EXISTS alert_history (LIKE alerts INCLUDING DEFAULTS);
ALTER TABLE alert_history ADD PRIMARY KEY (alert_id, state, updated_at);
