-- Plain PostgreSQL mode (no timescaledb extension): the same names as
-- 003_time_series.timescaledb.sql. Readings, rollups_1m and alert_history stay plain
-- tables (no retention or compression: prune by hand if needed), and rollups_1h /
-- rollups_1d are ordinary views computed from rollups_1m on each query, with the same
-- columns as the continuous aggregates. date_bin(..., origin at UTC midnight) buckets
-- like time_bucket does, whatever the session's TimeZone.

-- BRIN on ts: time-range scans of append-mostly tables for a few kB of index, without
-- slowing the sink's inserts the way a second B-tree would.
CREATE INDEX IF NOT EXISTS gas_detector_readings_ts_brin ON gas_detector_readings USING brin (ts);
CREATE INDEX IF NOT EXISTS streetlight_readings_ts_brin ON streetlight_readings USING brin (ts);
CREATE INDEX IF NOT EXISTS heating_station_readings_ts_brin
    ON heating_station_readings USING brin (ts);
CREATE INDEX IF NOT EXISTS fleet_gps_readings_ts_brin ON fleet_gps_readings USING brin (ts);
CREATE INDEX IF NOT EXISTS rollups_1m_bucket_idx ON rollups_1m (bucket);
CREATE INDEX IF NOT EXISTS alert_history_updated_at_idx ON alert_history (updated_at);

CREATE OR REPLACE VIEW rollups_1h AS
SELECT
    feed,
    district,
    date_bin(INTERVAL '1 hour', bucket, TIMESTAMPTZ '2000-01-01 00:00:00+00')
                                                               AS bucket,
    count(*)                                                   AS minutes,
    sum(readings)::bigint                                      AS readings,
    sum(detectors_reporting)::bigint                           AS detectors_reporting,
    sum(detectors_known)::bigint                               AS detectors_known,
    sum(detectors_online)::bigint                              AS detectors_online,
    sum(detectors_online)::double precision / NULLIF(sum(detectors_known), 0)
                                                               AS detector_online_rate,
    max(lel_max_pct)                                           AS lel_max_pct,
    sum(detectors_alarming)::bigint                            AS detectors_alarming,
    sum(lights_reporting)::bigint                              AS lights_reporting,
    sum(lights_expected_lit)::bigint                           AS lights_expected_lit,
    sum(lights_lit)::bigint                                    AS lights_lit,
    sum(lights_lit)::double precision / NULLIF(sum(lights_expected_lit), 0) AS lit_rate,
    sum(power_w_sum)                                           AS power_w_sum,
    sum(stations_reporting)::bigint                            AS stations_reporting,
    sum(supply_temp_sum_c)                                     AS supply_temp_sum_c,
    sum(return_temp_sum_c)                                     AS return_temp_sum_c,
    sum(supply_temp_sum_c) / NULLIF(sum(stations_reporting), 0) AS supply_temp_mean_c,
    sum(return_temp_sum_c) / NULLIF(sum(stations_reporting), 0) AS return_temp_mean_c,
    min(indoor_temp_min_c)                                     AS indoor_temp_min_c,
    sum(stations_warm)::bigint                                 AS stations_warm,
    sum(stations_warm)::double precision / NULLIF(sum(stations_reporting), 0) AS warm_share,
    sum(trucks_active)::bigint                                 AS trucks_active,
    sum(km_travelled)                                          AS km_travelled,
    sum(load_kitchen_kg)                                       AS load_kitchen_kg,
    sum(load_recyclable_kg)                                    AS load_recyclable_kg,
    sum(load_other_kg)                                         AS load_other_kg,
    sum(load_hazardous_kg)                                     AS load_hazardous_kg
FROM rollups_1m
GROUP BY feed, district, date_bin(INTERVAL '1 hour', bucket, TIMESTAMPTZ '2000-01-01 00:00:00+00');

CREATE OR REPLACE VIEW rollups_1d AS
SELECT
    feed,
    district,
    date_bin(INTERVAL '1 day', bucket, TIMESTAMPTZ '2000-01-01 00:00:00+00')
                                                               AS bucket,
    count(*)                                                   AS minutes,
    sum(readings)::bigint                                      AS readings,
    sum(detectors_reporting)::bigint                           AS detectors_reporting,
    sum(detectors_known)::bigint                               AS detectors_known,
    sum(detectors_online)::bigint                              AS detectors_online,
    sum(detectors_online)::double precision / NULLIF(sum(detectors_known), 0)
                                                               AS detector_online_rate,
    max(lel_max_pct)                                           AS lel_max_pct,
    sum(detectors_alarming)::bigint                            AS detectors_alarming,
    sum(lights_reporting)::bigint                              AS lights_reporting,
    sum(lights_expected_lit)::bigint                           AS lights_expected_lit,
    sum(lights_lit)::bigint                                    AS lights_lit,
    sum(lights_lit)::double precision / NULLIF(sum(lights_expected_lit), 0) AS lit_rate,
    sum(power_w_sum)                                           AS power_w_sum,
    sum(stations_reporting)::bigint                            AS stations_reporting,
    sum(supply_temp_sum_c)                                     AS supply_temp_sum_c,
    sum(return_temp_sum_c)                                     AS return_temp_sum_c,
    sum(supply_temp_sum_c) / NULLIF(sum(stations_reporting), 0) AS supply_temp_mean_c,
    sum(return_temp_sum_c) / NULLIF(sum(stations_reporting), 0) AS return_temp_mean_c,
    min(indoor_temp_min_c)                                     AS indoor_temp_min_c,
    sum(stations_warm)::bigint                                 AS stations_warm,
    sum(stations_warm)::double precision / NULLIF(sum(stations_reporting), 0) AS warm_share,
    sum(trucks_active)::bigint                                 AS trucks_active,
    sum(km_travelled)                                          AS km_travelled,
    sum(load_kitchen_kg)                                       AS load_kitchen_kg,
    sum(load_recyclable_kg)                                    AS load_recyclable_kg,
    sum(load_other_kg)                                         AS load_other_kg,
    sum(load_hazardous_kg)                                     AS load_hazardous_kg
FROM rollups_1m
GROUP BY feed, district, date_bin(INTERVAL '1 day', bucket, TIMESTAMPTZ '2000-01-01 00:00:00+00');
