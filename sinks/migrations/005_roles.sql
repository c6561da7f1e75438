-- Roles (cluster-wide, so created only when missing): the sink writes, Grafana only
-- reads. Passwords are never in the repository: `cityops db migrate` sets them from
-- CITYOPS_WRITER_PASSWORD / CITYOPS_GRAFANA_PASSWORD when those are set.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'cityops_writer') THEN
        CREATE ROLE cityops_writer LOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'cityops_grafana') THEN
        CREATE ROLE cityops_grafana LOGIN;
    END IF;
END
$$;

GRANT USAGE ON SCHEMA public TO cityops_writer, cityops_grafana;

-- The sink: INSERT (readings, roll-ups, history) and UPDATE (alerts upsert); SELECT
-- because ON CONFLICT ... DO UPDATE WHERE reads the existing row.
GRANT SELECT, INSERT, UPDATE ON
    gas_detector_readings, streetlight_readings, heating_station_readings,
    fleet_gps_readings, rollups_1m, alerts, alert_history
    TO cityops_writer;
GRANT SELECT ON schema_migrations TO cityops_writer;

-- Grafana: SELECT on every table and view, now and in later migrations.
GRANT SELECT ON ALL TABLES IN SCHEMA public TO cityops_grafana;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO cityops_grafana;
