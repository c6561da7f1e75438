"""Truck kinematics: plans made of legs along polylines, and the excursions incidents add.

A leg moves along a path (the route, or an ad-hoc line) from s0 to s1 at a
constant speed, or stands still (s0 == s1) for a while; load changes linearly
over the leg. A truck's calm day is one cyclic plan: collect along the route,
unload at the transfer station, take a break (ignition off), drive back
empty. All positions are local metres about the city centre.
"""

from __future__ import annotations

import itertools
import math
import random
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

from cityops.base.city.geo import Polyline

MIN_SPEED_KMH, MAX_SPEED_KMH = 15.0, 40.0
STOP_MIN_S, STOP_MAX_S = 60, 300  # collection stops: far below the 10 min idle rule
UNLOAD_MIN_S, UNLOAD_MAX_S = 240, 420
BREAK_MIN_S, BREAK_MAX_S = 600, 1200  # ignition off at the transfer station
_LOAD_PER_STOP_KG = {
    "kitchen": (150.0, 400.0),
    "recyclable": (60.0, 200.0),
    "other": (150.0, 450.0),
    "hazardous": (5.0, 30.0),
}


@dataclass(frozen=True, slots=True)
class State:
    x: float
    y: float
    heading: float
    speed_kmh: float
    ignition: bool
    load_kg: float
    s: float  # distance along the leg's path (meaningful on the route)
    reverse: bool  # facing against the path's direction


@dataclass(frozen=True, slots=True)
class Leg:
    t0: int  # ms from the start of the plan
    t1: int
    path: Polyline
    s0: float
    s1: float
    speed_kmh: float  # reported while moving (0 for a stop)
    ignition: bool
    load0: float
    load1: float
    reverse: bool  # facing against the path's direction

    def at(self, u: int) -> State:
        f = 0.0 if self.t1 == self.t0 else (u - self.t0) / (self.t1 - self.t0)
        s = self.s0 + f * (self.s1 - self.s0)
        x, y, heading = self.path.at(s)
        if self.reverse:
            heading = (heading + 180.0) % 360.0
        load = self.load0 + f * (self.load1 - self.load0)
        return State(x, y, heading, self.speed_kmh, self.ignition, load, s, self.reverse)


class Plan:
    """Legs back to back from t=0; `at(u)` for 0 <= u < duration."""

    __slots__ = ("_starts", "duration", "legs")

    def __init__(self, legs: Sequence[Leg]) -> None:
        self.legs = list(legs)
        self._starts = [leg.t0 for leg in self.legs]
        self.duration = self.legs[-1].t1 if self.legs else 0

    def at(self, u: int) -> State:
        i = max(bisect_right(self._starts, u) - 1, 0)
        return self.legs[i].at(u)


class PlanBuilder:
    def __init__(self, path: Polyline, load: float = 0.0) -> None:
        self.path = path
        self.t = 0
        self.load = load
        self.legs: list[Leg] = []

    def drive(self, s0: float, s1: float, speed_kmh: float, path: Polyline | None = None) -> None:
        path = path or self.path
        dt = round(abs(s1 - s0) / (speed_kmh / 3.6) * 1000)
        if dt <= 0:
            return
        self.legs.append(
            Leg(self.t, self.t + dt, path, s0, s1, speed_kmh, True, self.load, self.load, s1 < s0)
        )
        self.t += dt

    def stop(
        self,
        s: float,
        seconds: float,
        *,
        ignition: bool = True,
        load_to: float | None = None,
        reverse: bool = False,
        path: Polyline | None = None,
    ) -> None:
        dt = round(seconds * 1000)
        end_load = self.load if load_to is None else load_to
        path = path or self.path
        self.legs.append(
            Leg(self.t, self.t + dt, path, s, s, 0.0, ignition, self.load, end_load, reverse)
        )
        self.t += dt
        self.load = end_load

    def plan(self) -> Plan:
        return Plan(self.legs)


def calm_cycle(path: Polyline, waste_kind: str, rng: random.Random) -> tuple[Plan, int]:
    """One round: collect along the route, unload, break, drive back. Returns (plan, unload t0)."""
    b = PlanBuilder(path)
    lo, hi = _LOAD_PER_STOP_KG[waste_kind]
    s = 0.0
    stop_at = rng.uniform(250.0, 450.0)
    while stop_at < path.length - 300.0:
        b.drive(s, stop_at, rng.uniform(MIN_SPEED_KMH, MAX_SPEED_KMH))
        b.stop(stop_at, rng.uniform(STOP_MIN_S, STOP_MAX_S), load_to=b.load + rng.uniform(lo, hi))
        s = stop_at
        stop_at += rng.uniform(350.0, 700.0)
    b.drive(s, path.length, rng.uniform(MIN_SPEED_KMH, MAX_SPEED_KMH))
    unload_t0 = b.t
    b.stop(path.length, rng.uniform(UNLOAD_MIN_S, UNLOAD_MAX_S), load_to=0.0)
    b.stop(path.length, rng.uniform(BREAK_MIN_S, BREAK_MAX_S), ignition=False)
    half = path.length / 2
    b.drive(path.length, half, rng.uniform(25.0, MAX_SPEED_KMH))
    b.drive(half, 0.0, rng.uniform(25.0, MAX_SPEED_KMH))
    return b.plan(), unload_t0


def shuttle(b: PlanBuilder, s0: float, distance: float, speed_kmh: float) -> None:
    """Drive `distance` along the path from s0 (bouncing at its ends), then back to s0."""
    length = b.path.length
    direction = 1.0 if length - s0 >= s0 else -1.0
    points = [s0]
    s, left = s0, distance
    while left > 1e-6 and length > 0:
        end = length if direction > 0 else 0.0
        step = min(left, abs(end - s))
        if step <= 1e-6:
            direction = -direction
            continue
        s += direction * step
        left -= step
        points.append(s)
    for a, c in itertools.pairwise(points):
        b.drive(a, c, speed_kmh)
    back = points[::-1]
    for a, c in itertools.pairwise(back):
        b.drive(a, c, speed_kmh)


def loop_path(
    x0: float, y0: float, nx: float, ny: float, offset_m: float, total_m: float
) -> Polyline:
    """Out along the normal (nx, ny) to offset_m, laps of a small circle further out, back."""
    radius = 120.0
    px, py = x0 + nx * offset_m, y0 + ny * offset_m
    cx, cy = px + nx * radius, py + ny * radius
    circumference = 2 * math.pi * radius
    laps = max(1, round((total_m - 2 * offset_m) / circumference))
    start_angle = math.atan2(py - cy, px - cx)
    points = [(x0, y0), (px, py)]
    segments = 24
    for k in range(1, laps * segments + 1):
        a = start_angle + 2 * math.pi * k / segments
        points.append((cx + radius * math.cos(a), cy + radius * math.sin(a)))
    points.append((x0, y0))
    return Polyline(points)
