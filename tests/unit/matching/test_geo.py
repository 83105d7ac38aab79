"""Great-circle distance, bounding boxes and the spatial index against brute force."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from network.matching.exceptions import MatchingError
from network.matching.geo import (
    EARTH_RADIUS_KM,
    GeoError,
    SpatialIndex,
    bounding_box,
    haversine_km,
)
from network.reference import load_municipalities

latitudes = st.floats(-90, 90, allow_nan=False)
longitudes = st.floats(-180, 180, allow_nan=False)
radii = st.floats(0, 3000, allow_nan=False)


def _town(name: str):
    return next(m for m in load_municipalities() if m.name == name)


class TestHaversine:
    def test_muenster_rheine(self):
        muenster, rheine = _town("Münster"), _town("Rheine")
        km = haversine_km(muenster.latitude, muenster.longitude, rheine.latitude, rheine.longitude)
        # Vincenty on WGS84 gives 37.585 km between these centres; the sphere is within 0.5 %.
        assert km == pytest.approx(37.585, rel=5e-3)
        assert 36 < km < 40

    def test_one_degree_on_the_equator(self):
        assert haversine_km(0, 0, 0, 1) == pytest.approx(EARTH_RADIUS_KM * math.pi / 180)

    def test_antipodes_and_poles(self):
        assert haversine_km(0, 0, 0, 180) == pytest.approx(EARTH_RADIUS_KM * math.pi)
        assert haversine_km(90, 0, -90, 0) == pytest.approx(EARTH_RADIUS_KM * math.pi)
        assert haversine_km(90, 10, 90, -170) == pytest.approx(0, abs=1e-9)

    def test_across_the_antimeridian(self):
        assert haversine_km(0, 179.5, 0, -179.5) == pytest.approx(haversine_km(0, 0, 0, 1))

    def test_scalar_returns_float(self):
        assert isinstance(haversine_km(51, 7, 52, 7), float)

    def test_broadcasting(self):
        lat = np.array([[51.0], [52.0]])
        result = haversine_km(lat, 7.0, np.array([51.0, 52.0, 53.0]), 7.0)
        assert result.shape == (2, 3)
        assert result[0, 0] == 0 and result[1, 1] == 0
        assert result[0, 1] == pytest.approx(result[1, 0])

    @given(latitudes, longitudes, latitudes, longitudes)
    def test_symmetric_and_bounded(self, lat1, lon1, lat2, lon2):
        d = haversine_km(lat1, lon1, lat2, lon2)
        assert d == pytest.approx(haversine_km(lat2, lon2, lat1, lon1), abs=1e-6)
        assert 0 <= d <= EARTH_RADIUS_KM * math.pi + 1e-6

    @pytest.mark.parametrize("bad", [(91, 0), (-90.5, 0), (math.nan, 0), (0, math.inf)])
    def test_rejects_invalid_coordinates(self, bad):
        with pytest.raises(GeoError) as info:
            haversine_km(*bad, 0, 0)
        assert isinstance(info.value, MatchingError) and isinstance(info.value, ValueError)
        assert info.value.text("de").startswith("Ungültige Geodaten")


class TestBoundingBox:
    @settings(max_examples=300)
    @given(latitudes, longitudes, radii, latitudes, longitudes)
    def test_contains_every_point_in_reach(self, lat, lon, radius, plat, plon):
        min_lat, max_lat, min_lon, max_lon = bounding_box(lat, lon, radius)
        if haversine_km(lat, lon, plat, plon) <= radius:
            assert min_lat <= plat <= max_lat
            assert min_lon <= plon <= max_lon

    def test_small_box_is_tight(self):
        town = _town("Münster")
        min_lat, max_lat, min_lon, max_lon = bounding_box(town.latitude, town.longitude, 10)
        assert haversine_km(min_lat, town.longitude, town.latitude, town.longitude) == (
            pytest.approx(10, rel=1e-6)
        )
        assert max_lat - town.latitude == pytest.approx(town.latitude - min_lat)
        assert (max_lon - min_lon) > (max_lat - min_lat)  # meridians converge at 52° N

    def test_pole_and_antimeridian_use_the_full_longitude_range(self):
        assert bounding_box(89.9, 10, 50)[2:] == (-180.0, 180.0)
        assert bounding_box(0, 179.9, 50)[2:] == (-180.0, 180.0)

    def test_zero_radius(self):
        box = bounding_box(52, 7, 0)
        assert box[0] == pytest.approx(52) and box[2] == pytest.approx(7)

    @pytest.mark.parametrize("radius", [-1, math.nan, math.inf])
    def test_rejects_bad_radius(self, radius):
        with pytest.raises(GeoError):
            bounding_box(52, 7, radius)


def _random_points(rng, n, regional=True):
    if regional:
        return rng.uniform(51.4, 52.6, n), rng.uniform(6.2, 8.4, n)
    z = rng.uniform(-1, 1, n)  # uniform on the sphere, poles and antimeridian included
    return np.degrees(np.arcsin(z)), rng.uniform(-180, 180, n)


def _brute_pairs(qlat, qlon, radius, qgroup, plat, plon, pgroup):
    d = haversine_km(qlat[:, None], qlon[:, None], plat[None, :], plon[None, :])
    ok = d <= radius[:, None]
    ok &= (qgroup[:, None] < 0) | (qgroup[:, None] == pgroup[None, :])
    return {(int(q), int(p)) for q, p in zip(*np.nonzero(ok), strict=True)}, d


class TestSpatialIndex:
    @settings(max_examples=40, deadline=None)
    @given(st.integers(0, 2**32 - 1), st.booleans(), st.floats(0, 80))
    def test_within_matches_brute_force(self, seed, regional, radius):
        rng = np.random.default_rng(seed)
        lat, lon = _random_points(rng, 300, regional)
        index = SpatialIndex(lat, lon)
        for qlat, qlon in zip(*_random_points(rng, 5, regional), strict=True):
            ids, km = index.within(qlat, qlon, radius, return_distance=True)
            d = haversine_km(qlat, qlon, lat, lon)
            assert set(ids.tolist()) == set(np.flatnonzero(d <= radius).tolist())
            assert np.all(np.diff(km) >= 0)
            np.testing.assert_allclose(km, d[ids], atol=1e-9)

    @settings(max_examples=40, deadline=None)
    @given(st.integers(0, 2**32 - 1), st.booleans())
    def test_pairs_within_matches_brute_force(self, seed, regional):
        rng = np.random.default_rng(seed)
        plat, plon = _random_points(rng, 400, regional)
        pgroup = rng.integers(0, 4, 400)
        qlat, qlon = _random_points(rng, 60, regional)
        top = 60 if regional else 3000
        radius = rng.uniform(0, top, 60)
        qgroup = rng.integers(-1, 4, 60)
        index = SpatialIndex(plat, plon, groups=pgroup)
        q, p, km = index.pairs_within(qlat, qlon, radius, groups=qgroup)
        expected, d = _brute_pairs(qlat, qlon, radius, qgroup, plat, plon, pgroup)
        assert set(zip(q.tolist(), p.tolist(), strict=True)) == expected
        assert len(q) == len(expected)  # no duplicates
        np.testing.assert_allclose(km, d[q, p], atol=1e-8)

    def test_pole_and_antimeridian_queries(self):
        plat = np.array([89.9, 89.95, 89.9, 0.0, 0.0, -89.99])
        plon = np.array([0.0, 120.0, -150.0, 179.95, -179.95, 33.0])
        index = SpatialIndex(plat, plon)
        q, p, _ = index.pairs_within([90.0, 0.0, -90.0], [0.0, -179.99, 0.0], [20.0, 10.0, 5.0])
        pairs = set(zip(q.tolist(), p.tolist(), strict=True))
        assert pairs == {(0, 0), (0, 1), (0, 2), (1, 3), (1, 4), (2, 5)}

    @pytest.mark.parametrize("radius", [9000.0, 15000.0, 20015.0, 30000.0])
    def test_huge_radii(self, radius):
        rng = np.random.default_rng(int(radius))
        plat, plon = _random_points(rng, 300, regional=False)
        qlat, qlon = _random_points(rng, 10, regional=False)
        radii = np.full(10, radius)
        index = SpatialIndex(plat, plon)
        q, p, _ = index.pairs_within(qlat, qlon, radii)
        expected, _ = _brute_pairs(qlat, qlon, radii, np.full(10, -1), plat, plon, np.zeros(300))
        assert set(zip(q.tolist(), p.tolist(), strict=True)) == expected

    def test_results_do_not_depend_on_band_height(self):
        rng = np.random.default_rng(7)
        plat, plon = _random_points(rng, 500)
        qlat, qlon = _random_points(rng, 50)
        radius = rng.uniform(5, 40, 50)
        index = SpatialIndex(plat, plon)
        results = []
        for band in (0.25, 3.0, 500.0, None):
            q, p, _ = index.pairs_within(qlat, qlon, radius, band_km=band)
            results.append(set(zip(q.tolist(), p.tolist(), strict=True)))
        assert all(result == results[0] for result in results)

    def test_chunks_are_bounded_and_complete(self):
        rng = np.random.default_rng(3)
        plat, plon = _random_points(rng, 2000)
        qlat, qlon = _random_points(rng, 30)
        index = SpatialIndex(plat, plon)
        chunks = list(index.iter_pairs_within(qlat, qlon, 30.0, max_pairs=500))
        assert len(chunks) > 1
        assert all(len(q) <= 500 for q, _, _ in chunks)
        whole = index.pairs_within(qlat, qlon, 30.0)
        got = {(a, b) for q, p, _ in chunks for a, b in zip(q.tolist(), p.tolist(), strict=True)}
        assert got == set(zip(whole[0].tolist(), whole[1].tolist(), strict=True))

    def test_nearest_matches_brute_force(self):
        rng = np.random.default_rng(11)
        lat, lon = _random_points(rng, 300)
        index = SpatialIndex(lat, lon, ids=[f"p{i}" for i in range(300)])
        ids, km = index.nearest(52.0, 7.5, k=5)
        d = haversine_km(52.0, 7.5, lat, lon)
        assert ids.tolist() == [f"p{i}" for i in np.argsort(d, kind="stable")[:5]]
        np.testing.assert_allclose(km, np.sort(d)[:5])

    def test_ids_are_returned_and_inputs_copied(self):
        lat = np.array([52.0, 52.01, 53.0])
        lon = np.array([7.0, 7.0, 7.0])
        ids = ["a", "b", "c"]
        index = SpatialIndex(lat, lon, ids)
        lat[:] = 0.0
        ids[0] = "changed"
        assert index.within(52.0, 7.0, 5.0).tolist() == ["a", "b"]
        assert not index.lats.flags.writeable

    def test_empty_index_and_empty_queries(self):
        empty = SpatialIndex([], [])
        assert len(empty) == 0
        assert empty.within(52, 7, 10).tolist() == []
        assert len(empty.pairs_within([52.0], [7.0], [10.0])[0]) == 0
        index = SpatialIndex([52.0], [7.0])
        assert len(index.pairs_within([], [], [])[0]) == 0

    def test_point_on_the_circle_is_inside(self):
        index = SpatialIndex([0.0], [1.0])
        radius = haversine_km(0, 0, 0, 1)
        assert index.within(0.0, 0.0, radius).tolist() == [0]
        assert index.pairs_within([0.0], [0.0], [radius])[0].tolist() == [0]

    @pytest.mark.parametrize(
        "kwargs",
        [
            {"lats": [1.0, 2.0], "lons": [1.0]},
            {"lats": [95.0], "lons": [1.0]},
            {"lats": [1.0], "lons": [1.0], "ids": [1, 2]},
            {"lats": [1.0], "lons": [1.0], "groups": [-1]},
        ],
    )
    def test_rejects_bad_construction(self, kwargs):
        with pytest.raises(GeoError):
            SpatialIndex(**kwargs)

    def test_rejects_bad_queries(self):
        index = SpatialIndex([52.0], [7.0])
        with pytest.raises(GeoError):
            index.pairs_within([52.0], [7.0], [-1.0])
        with pytest.raises(GeoError):
            index.within(52.0, 7.0, math.nan)
        with pytest.raises(GeoError):
            index.nearest(52.0, 7.0, k=0)
