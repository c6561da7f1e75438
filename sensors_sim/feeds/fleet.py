"""`fleet.gps.v1`: garbage trucks on their rounds, a fix every 10 s.

Each truck repeats its calm cycle (`fleet_motion.calm_cycle`) from a seeded
offset. A fleet incident is an excursion: for its duration the truck follows
the excursion's own plan, starting where its round had got to; afterwards the
round resumes from that same point (the truck's round clock is delayed by
the excursion), so positions never jump.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

import orjson
from shapely import LineString, Point

from cityops.base.city.geo import Polyline
from cityops.base.city.profiles import CityProfile
from sensors_sim.feeds.base import DeviceFeed
from sensors_sim.feeds.fleet_motion import (
    Plan,
    PlanBuilder,
    State,
    calm_cycle,
    loop_path,
    shuttle,
)
from sensors_sim.incidents import (
    Idling,
    IllegalDumping,
    Incident,
    IncidentError,
    OffRoute,
    Speeding,
    nearest_zone,
    zone_centre,
)
from streams import topics

PERIOD_MS = 10_000
GPS_JITTER_M = 2.0


@dataclass(frozen=True, slots=True)
class Excursion:
    start: int
    end: int
    plan: Plan
    load_delta: float  # added to the round's load after the excursion ...
    delta_until: int  # ... until this round-clock time (the next unload)


class FleetFeed(DeviceFeed):
    topic = topics.FLEET_GPS
    salt = "fleet"
    period_ms = PERIOD_MS

    def __init__(self, number: int, profile: CityProfile, seed: int) -> None:
        trucks = profile.trucks
        super().__init__(number, profile, trucks.ids, seed)
        rng = self._rng
        self._paths: list[Polyline] = []
        self._plans: list[Plan] = []
        self._unload_at: list[int] = []
        self._offset: list[int] = []
        for truck, route, kind in zip(trucks.ids, trucks.route, trucks.waste_kind, strict=True):
            path = profile.route_path(route)
            plan, unload_at = calm_cycle(path, kind, random.Random(f"{seed}/fleet/{truck}"))
            self._paths.append(path)
            self._plans.append(plan)
            self._unload_at.append(unload_at)
            self._offset.append(int(rng.integers(plan.duration)))
        self._excursions: dict[int, list[Excursion]] = {}

    # --- motion ---
    def _round_time(self, device: int, t: int) -> tuple[int, float, Excursion | None]:
        """(round-clock time, load adjustment, the excursion under way at t if any)."""
        delay, delta = 0, 0.0
        done: list[Excursion] = []
        for e in self._excursions.get(device, ()):
            if t < e.start:
                break
            if t < e.end:
                return t - delay, 0.0, e
            delay += e.end - e.start
            done.append(e)
        b = t - delay
        for e in done:
            if b < e.delta_until:
                delta += e.load_delta
        return b, delta, None

    def state(self, device: int, t: int) -> State:
        """Where truck `device` is, and what it is doing, at event time t (ms)."""
        b, delta, exc = self._round_time(device, t)
        if exc is not None:
            return exc.plan.at(t - exc.start)
        plan = self._plans[device]
        st = plan.at((b + self._offset[device]) % plan.duration)
        if delta:
            st = State(st.x, st.y, st.heading, st.speed_kmh, st.ignition,
                       max(st.load_kg + delta, 0.0), st.s, st.reverse)  # fmt: skip
        return st

    # --- incidents ---
    def add_incident(self, incident: Incident, start_ms: int, end_ms: int) -> int | None:
        if not isinstance(incident, Idling | Speeding | OffRoute | IllegalDumping):
            return None
        device = self._device(incident, self._profile.index.truck, "truck")
        for e in self._excursions.get(device, ()):
            if (e.start < end_ms and start_ms < e.end) or start_ms < e.start:
                raise IncidentError(
                    f"{incident.kind}: truck {incident.entity_id} already has an incident "
                    "at or after this time (fleet incidents of one truck must be in time "
                    "order and must not overlap)"
                )
        b, _, _ = self._round_time(device, start_ms)
        plan = self._plans[device]
        st = plan.at((b + self._offset[device]) % plan.duration)
        excursion_plan, load_after = self._excursion(device, incident, st, end_ms - start_ms)
        u0 = (b + self._offset[device]) % plan.duration
        until = b + (self._unload_at[device] - u0) % plan.duration
        end = start_ms + excursion_plan.duration  # dumping: the trip adds to the stop
        self._excursions.setdefault(device, []).append(
            Excursion(
                start=start_ms,
                end=end,
                plan=excursion_plan,
                load_delta=load_after - st.load_kg,
                delta_until=until,
            )
        )
        return end

    def _excursion(
        self, device: int, inc: Incident, st: State, duration_ms: int
    ) -> tuple[Plan, float]:
        path = self._paths[device]
        b = PlanBuilder(path, st.load_kg)
        if isinstance(inc, Idling):
            b.stop(st.s, duration_ms / 1000, reverse=st.reverse)
        elif isinstance(inc, Speeding):
            shuttle(b, st.s, inc.speed_kmh / 3.6 * duration_ms / 2000, inc.speed_kmh)
        elif isinstance(inc, OffRoute):
            loop = self._off_route_loop(device, st, inc, duration_ms)
            b.drive(0.0, loop.length, loop.length / (duration_ms / 1000) * 3.6, path=loop)
        elif isinstance(inc, IllegalDumping):
            self._dump_trip(b, device, st, inc)
        return b.plan(), b.load

    def _off_route_loop(self, device: int, st: State, inc: OffRoute, duration_ms: int) -> Polyline:
        h = math.radians(st.heading)
        proj, route = self._profile.projection, self._profile.trucks.route[device]
        best: tuple[float, Polyline] | None = None
        for side in (1.0, -1.0):  # the side that takes the truck further from its route
            nx, ny = side * math.cos(h), -side * math.sin(h)
            total = inc.speed_kmh / 3.6 * duration_ms / 1000
            loop = loop_path(st.x, st.y, nx, ny, inc.offset_m, total)
            lat, lon = proj.to_latlon(st.x + nx * inc.offset_m, st.y + ny * inc.offset_m)
            far = self._profile.distance_to_route_m(route, lat, lon) or 0.0
            if best is None or far > best[0]:
                best = (far, loop)
        assert best is not None
        return best[1]

    def _dump_trip(self, b: PlanBuilder, device: int, st: State, inc: IllegalDumping) -> None:
        profile = self._profile
        route = profile.trucks.route[device]
        zone = profile.zone(inc.zone_id) if inc.zone_id else nearest_zone(profile, route)
        lon, lat = zone_centre(zone)
        zx, zy = profile.projection.to_xy(lat, lon)
        path = self._paths[device]
        s_z = float(LineString(list(zip(path.xs, path.ys, strict=True))).project(Point(zx, zy)))
        px, py, _ = path.at(s_z)
        spur = Polyline([(px, py), (zx, zy)])
        v = inc.speed_kmh
        b.load = max(b.load, inc.min_load_kg)
        b.drive(st.s, s_z, v)
        b.drive(0.0, spur.length, v, path=spur)
        b.stop(spur.length, inc.duration_s, load_to=b.load * (1 - inc.dump_fraction), path=spur)
        b.drive(spur.length, 0.0, v, path=spur)
        b.drive(s_z, st.s, v)

    # --- output ---
    def render(self, device: int, t: int, ts: str) -> bytes | None:
        trucks = self._profile.trucks
        st = self.state(device, t)
        noise = self._noise
        lat, lon = self._profile.projection.to_latlon(
            st.x + GPS_JITTER_M * noise(device, t), st.y + GPS_JITTER_M * noise(device, t + 1)
        )
        speed = st.speed_kmh * (1.0 + 0.04 * noise(device, t + 2)) if st.speed_kmh else 0.0
        heading = round(st.heading, 1)
        return orjson.dumps(
            {
                "truck_id": trucks.ids[device],
                "ts": ts,
                "route_id": trucks.route[device],
                "district": trucks.district[device],
                "lat": round(lat, 6),
                "lon": round(lon, 6),
                "speed_kmh": round(speed, 1),
                "heading_deg": 0.0 if heading >= 360.0 else heading,
                "ignition": st.ignition,
                "load_kg": round(st.load_kg, 1),
                "waste_kind": trucks.waste_kind[device],
            }
        )
