"""City profiles: figures, geometry and the CityContext answers the rules rely on."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from shapely import LineString, Point, Polygon

from cityops.base.city.profiles import PROFILES, CityProfile, UnknownProfileError, load_profile
from sensors_sim.incidents import zone_centre
from streams.rules.city import CityContext


@pytest.fixture(scope="module")
def small() -> CityProfile:
    return load_profile("small")


def test_unknown_profile_lists_the_valid_names() -> None:
    with pytest.raises(UnknownProfileError) as err:
        load_profile("atlantis")
    for name in PROFILES:
        assert name in str(err.value)


def test_qingdao_carries_the_seed_figures() -> None:
    p = load_profile("qingdao")
    assert len(p.detectors.ids) == 525
    assert len(p.enterprises) == 134
    assert len(p.routes) == 20
    assert len(p.lights.ids) == 6000
    ids = {d.district_id for d in p.districts}
    assert {"shinan", "shibei", "licang", "laoshan", "huangdao", "chengyang", "jimo"} <= ids
    assert p.district("shinan").name_zh == "市南区"
    per_enterprise: dict[str, int] = {}
    for e in p.stations.enterprise:
        per_enterprise[e] = per_enterprise.get(e, 0) + 1
    assert set(per_enterprise) == {e.enterprise_id for e in p.enterprises}
    assert min(per_enterprise.values()) >= 1
    assert max(per_enterprise.values()) <= 5


def test_small_is_a_few_hundred_devices(small: CityProfile) -> None:
    assert 200 <= small.device_count <= 500
    assert len(small.routes) == 3
    assert len(small.trucks.ids) == 6
    assert len(set(small.lights.cabinet)) == 3


def test_megacity_has_the_load_target_figures() -> None:
    p = load_profile("megacity")
    assert len(p.lights.ids) == 300_000
    assert len(p.detectors.ids) == 100_000
    assert len(p.stations.ids) == 13_000
    assert len(p.trucks.ids) == 2_500


@pytest.mark.parametrize("name", PROFILES)
def test_ids_are_unique_and_valid(name: str) -> None:
    p = load_profile(name)
    for ids in (p.detectors.ids, p.lights.ids, p.stations.ids, p.trucks.ids):
        assert len(set(ids)) == len(ids)
    sample = [*p.detectors.ids[:50], *p.lights.circuit[:50], *p.trucks.ids[:50]]
    assert all(":" not in i and len(i) <= 64 for i in sample)


def test_profile_is_a_city_context(small: CityProfile) -> None:
    ctx: CityContext = small  # statically checked by mypy
    assert ctx.name == "small"


def test_is_dark_from_dusk_to_dawn(small: CityProfile) -> None:
    # Qingdao, 22 Nov 2026: civil dawn ~06:14, dusk ~17:15 local (UTC+8)
    assert small.is_dark(datetime(2026, 11, 22, 20, 0, tzinfo=UTC))  # 04:00 local
    assert not small.is_dark(datetime(2026, 11, 22, 4, 0, tzinfo=UTC))  # 12:00 local
    assert not small.is_dark(datetime(2026, 11, 22, 9, 10, tzinfo=UTC))  # 17:10
    assert small.is_dark(datetime(2026, 11, 22, 9, 20, tzinfo=UTC))  # 17:20
    with pytest.raises(ValueError, match="aware"):
        small.is_dark(datetime(2026, 11, 22, 9, 20))


def test_distance_to_route(small: CityProfile) -> None:
    route = small.routes[0]
    lon, lat = route.coords[2]
    assert small.distance_to_route_m(route.route_id, lat, lon) == pytest.approx(0.0, abs=0.5)
    far = small.distance_to_route_m(route.route_id, lat + 0.01, lon)  # ~1.1 km north
    assert far is not None and 0 < far <= 1120
    assert small.distance_to_route_m("nope", lat, lon) is None


def test_no_dumping_zones(small: CityProfile) -> None:
    for zone in small.zones:
        lon, lat = zone_centre(zone)
        assert small.no_dumping_zone_at(lat, lon) == zone.zone_id
    d = small.districts[0]
    assert small.no_dumping_zone_at(d.transfer.lat, d.transfer.lon) is None


@pytest.mark.parametrize("name", ["small", "qingdao"])
def test_zones_keep_clear_of_routes_and_stations(name: str) -> None:
    p = load_profile(name)
    zones = [Polygon(z.ring) for z in p.zones]
    assert zones, "every file profile has zones"
    for r in p.routes:
        line = LineString(r.coords)
        assert not any(z.intersects(line) for z in zones), r.route_id
        end = r.coords[-1]
        station = p.district(r.district).transfer
        assert end == pytest.approx((station.lon, station.lat), abs=2e-6)
    for d in p.districts:
        assert not any(z.contains(Point(d.transfer.lon, d.transfer.lat)) for z in zones)


def test_heating_curve_rises_as_it_gets_colder(small: CityProfile) -> None:
    e = small.enterprises[0].enterprise_id
    assert small.min_supply_temp_c(e, -10) > small.min_supply_temp_c(e, 0)
    assert 40 < small.min_supply_temp_c(e, 0) < 70
    assert small.min_supply_temp_c("unknown-enterprise", 0) == pytest.approx(50.0)


def test_profiles_are_cached() -> None:
    assert load_profile("small") is load_profile("small")
