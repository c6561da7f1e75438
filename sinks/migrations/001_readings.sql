-- Raw readings, one table per feed; columns = the event fields (streams/models.py).
-- The primary key is (entity id, ts): a replayed event hits the key and the sink's
-- INSERT ... ON CONFLICT DO NOTHING ignores it, so replays change nothing.

CREATE TABLE IF NOT EXISTS gas_detector_readings (
    detector_id text             NOT NULL,
    ts          timestamptz      NOT NULL,
    site_type   text             NOT NULL,
    district    text             NOT NULL,
    lat         double precision NOT NULL,
    lon         double precision NOT NULL,
    lel_pct     double precision NOT NULL,
    status      text             NOT NULL,
    battery_pct double precision NOT NULL,
    PRIMARY KEY (detector_id, ts)
);

CREATE TABLE IF NOT EXISTS streetlight_readings (
    light_id    text             NOT NULL,
    ts          timestamptz      NOT NULL,
    circuit_id  text             NOT NULL,
    cabinet_id  text             NOT NULL,
    district    text             NOT NULL,
    lat         double precision NOT NULL,
    lon         double precision NOT NULL,
    power_state text             NOT NULL,
    power_w     double precision NOT NULL,
    voltage_v   double precision NOT NULL,
    fault       text,
    PRIMARY KEY (light_id, ts)
);

CREATE TABLE IF NOT EXISTS heating_station_readings (
    station_id          text             NOT NULL,
    ts                  timestamptz      NOT NULL,
    enterprise_id       text             NOT NULL,
    district            text             NOT NULL,
    lat                 double precision NOT NULL,
    lon                 double precision NOT NULL,
    supply_temp_c       double precision NOT NULL,
    return_temp_c       double precision NOT NULL,
    supply_pressure_mpa double precision NOT NULL,
    return_pressure_mpa double precision NOT NULL,
    flow_m3h            double precision NOT NULL,
    indoor_temp_c       double precision NOT NULL,
    outdoor_temp_c      double precision NOT NULL,
    PRIMARY KEY (station_id, ts)
);

CREATE TABLE IF NOT EXISTS fleet_gps_readings (
    truck_id    text             NOT NULL,
    ts          timestamptz      NOT NULL,
    route_id    text             NOT NULL,
    district    text             NOT NULL,
    lat         double precision NOT NULL,
    lon         double precision NOT NULL,
    speed_kmh   double precision NOT NULL,
    heading_deg double precision NOT NULL,
    ignition    boolean          NOT NULL,
    load_kg     double precision NOT NULL,
    waste_kind  text             NOT NULL,
    PRIMARY KEY (truck_id, ts)
);
