-- TimescaleDB mode (the extension exists): hypertables, continuous aggregates,
-- retention and compression. 003_time_series.postgresql.sql is the plain twin with
-- the same table and view names.
--
-- Chunk intervals, sized for the megacity profile (DESIGN.md: 300k streetlights every
-- 5 min, 100k gas detectors and 13k heating stations every 60 s, 2.5k trucks every
-- 10 s: ~3.1k events/s from heartbeats, ~15k events/s with on-change bursts). A row
-- costs ~170-220 bytes with its primary-key index entry. TimescaleDB's guidance is
-- that the chunks being written (all four feeds, with indexes) fit in ~25% of memory
-- (24 GiB here -> ~6 GB), and chunks much shorter than the 1-day compression age let
-- compression and the 30-day retention act on whole chunks soon after they close:
--   gas      ~1.7k/s x 2 h  = 12M rows  ~2 GB
--   lights   ~1.0k/s x 4 h  = 14M rows  ~3 GB (dusk/dawn bursts are minutes long)
--   heating  ~0.2k/s x 12 h =  9M rows  ~2 GB
--   fleet    ~0.25k/s x 12 h = 11M rows ~2 GB
--   rollups_1m: 4 feeds x ~20 districts x 1440 min = ~115k rows/day -> 7-day chunks
--   alert_history: hundreds to thousands of rows a day -> 30-day chunks
SELECT create_hypertable('gas_detector_readings', 'ts',
                         chunk_time_interval => INTERVAL '2 hours', migrate_data => true);
SELECT create_hypertable('streetlight_readings', 'ts',
                         chunk_time_interval => INTERVAL '4 hours', migrate_data => true);
SELECT create_hypertable('heating_station_readings', 'ts',
                         chunk_time_interval => INTERVAL '12 hours', migrate_data => true);
SELECT create_hypertable('fleet_gps_readings', 'ts',
                         chunk_time_interval => INTERVAL '12 hours', migrate_data => true);
SELECT create_hypertable('rollups_1m', 'bucket',
                         chunk_time_interval => INTERVAL '7 days', migrate_data => true);
SELECT create_hypertable('alert_history', 'updated_at',
                         chunk_time_interval => INTERVAL '30 days', migrate_data => true);

-- Compression after 1 day, one segment per entity: dashboards read one entity's
-- history, and its rows compress well together (same district, coordinates, ids).
ALTER TABLE gas_detector_readings SET (timescaledb.compress,
    timescaledb.compress_segmentby = 'detector_id', timescaledb.compress_orderby = 'ts DESC');
ALTER TABLE streetlight_readings SET (timescaledb.compress,
    timescaledb.compress_segmentby = 'light_id', timescaledb.compress_orderby = 'ts DESC');
ALTER TABLE heating_station_readings SET (timescaledb.compress,
    timescaledb.compress_segmentby = 'station_id', timescaledb.compress_orderby = 'ts DESC');
ALTER TABLE fleet_gps_readings SET (timescaledb.compress,
    timescaledb.compress_segmentby = 'truck_id', timescaledb.compress_orderby = 'ts DESC');
SELECT add_compression_policy('gas_detector_readings', INTERVAL '1 day', if_not_exists => true);
SELECT add_compression_policy('streetlight_readings', INTERVAL '1 day', if_not_exists => true);
SELECT add_compression_policy('heating_station_readings', INTERVAL '1 day', if_not_exists => true);
SELECT add_compression_policy('fleet_gps_readings', INTERVAL '1 day', if_not_exists => true);

-- Retention: raw readings 30 days, 1-minute roll-ups 90 days; hourly and daily kept.
SELECT add_retention_policy('gas_detector_readings', INTERVAL '30 days', if_not_exists => true);
SELECT add_retention_policy('streetlight_readings', INTERVAL '30 days', if_not_exists => true);
SELECT add_retention_policy('heating_station_readings', INTERVAL '30 days', if_not_exists => true);
SELECT add_retention_policy('fleet_gps_readings', INTERVAL '30 days', if_not_exists => true);
SELECT add_retention_policy('rollups_1m', INTERVAL '90 days', if_not_exists => true);

-- Hourly and daily roll-ups: sums of the additive fields; ratios and means are
-- recomputed from the sums (never averaged); counts become "entity-minutes" (divide
-- by `minutes` for a per-minute mean). Real-time (materialized_only = false), so the
-- newest, not yet materialised buckets are still answered from rollups_1m.
CREATE MATERIALIZED VIEW rollups_1h
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT
    feed,
    district,
    time_bucket(INTERVAL '1 hour', bucket)                     AS bucket,
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
GROUP BY feed, district, time_bucket(INTERVAL '1 hour', bucket)
WITH NO DATA;

CREATE MATERIALIZED VIEW rollups_1d
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT
    feed,
    district,
    time_bucket(INTERVAL '1 day', bucket)                      AS bucket,
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
GROUP BY feed, district, time_bucket(INTERVAL '1 day', bucket)
WITH NO DATA;

-- Refresh policies: set by sinks/migrate.py (`apply_refresh_policies`) after the
-- migrations, from CITYOPS_MAX_EVENT_AGE_S, so they always reach back as far as the
-- worker and sink accept late events (issue 12).
