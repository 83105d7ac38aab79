"""Great-circle distances, bounding boxes and a spatial index over many points on the sphere."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np
from scipy.spatial import cKDTree

from network.matching.exceptions import MatchingError

__all__ = [
    "EARTH_RADIUS_KM",
    "GeoError",
    "haversine_km",
    "bounding_box",
    "SpatialIndex",
]

#: Mean earth radius (IUGG) in kilometres, used by every function of this module.
EARTH_RADIUS_KM = 6371.0088

_KM_PER_DEGREE = EARTH_RADIUS_KM * math.pi / 180.0
#: Relative and absolute slack added to search regions, so that rounding never drops a point
#: that the exact great-circle test accepts.
_REL_SLACK = 1e-9
_ABS_SLACK_RAD = 1e-12
#: Longitudes are shifted into [0, 360] and stored after the bucket number times this stride.
_LON_STRIDE = 512.0
#: Default number of candidate pairs materialised at once by :meth:`SpatialIndex.iter_pairs_within`.
_DEFAULT_MAX_PAIRS = 2_000_000


class GeoError(MatchingError):
    """A coordinate, radius or index argument is unusable (out of range, not finite, wrong shape)."""

    code = "invalid_geo_input"
    _de = "Ungültige Geodaten: {message}"

    def text(self, language: str = "de") -> str:
        if language == "en":
            return self.message
        return self._de.format(message=self.message)


def _as_float_array(value: Any, name: str) -> np.ndarray:
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise GeoError(f"{name} must be numeric", argument=name) from err
    return array


def _check_coordinates(lat: np.ndarray, lon: np.ndarray, what: str = "") -> None:
    if not (np.all(np.isfinite(lat)) and np.all(np.isfinite(lon))):
        raise GeoError(f"{what}coordinates must be finite numbers", argument="coordinates")
    if np.any(np.abs(lat) > 90.0):
        raise GeoError(f"{what}latitude must lie in [-90, 90]", argument="latitude")


def _check_radius(radius: np.ndarray) -> None:
    if not np.all(np.isfinite(radius)) or np.any(radius < 0):
        raise GeoError("radius_km must be finite and non-negative", argument="radius_km")


def haversine_km(lat1: Any, lon1: Any, lat2: Any, lon2: Any) -> Any:
    r"""Great-circle distance in kilometres between points given in decimal degrees.

    .. math:: d = 2R \arcsin\sqrt{\sin^2\frac{\varphi_2-\varphi_1}{2}
              + \cos\varphi_1\cos\varphi_2\sin^2\frac{\lambda_2-\lambda_1}{2}}

    with the mean earth radius :data:`EARTH_RADIUS_KM`.

    Parameters
    ----------
    lat1, lon1, lat2, lon2 : float or array_like
        Latitudes and longitudes in degrees. Arrays broadcast against each other (numpy rules),
        so one point against many, or an ``(n, 1)`` column against an ``(m,)`` row, both work.

    Returns
    -------
    float or numpy.ndarray
        A Python float when every argument is a scalar, otherwise an array of the broadcast
        shape.

    Raises
    ------
    GeoError
        If a coordinate is not finite or a latitude lies outside [-90, 90].

    See Also
    --------
    bounding_box : a cheap rectangular prefilter for a radius search.

    Notes
    -----
    The sphere is an approximation: against the WGS84 ellipsoid the error is below 0.5 %.

    Examples
    --------
    Münster to Rheine, town centre to town centre:

    >>> round(haversine_km(51.961908, 7.626804, 52.279214, 7.438651), 1)
    37.5
    >>> haversine_km(52.0, 7.6, [52.0, 52.1], [7.6, 7.6]).round(2)
    array([ 0.  , 11.12])
    """
    if all(type(value) in (float, int) for value in (lat1, lon1, lat2, lon2)):
        return _haversine_scalar(lat1, lon1, lat2, lon2)
    lat1_a, lon1_a = _as_float_array(lat1, "lat1"), _as_float_array(lon1, "lon1")
    lat2_a, lon2_a = _as_float_array(lat2, "lat2"), _as_float_array(lon2, "lon2")
    _check_coordinates(lat1_a, lon1_a)
    _check_coordinates(lat2_a, lon2_a)
    phi1, phi2 = np.radians(lat1_a), np.radians(lat2_a)
    half_dphi = np.sin((phi2 - phi1) * 0.5)
    half_dlmb = np.sin(np.radians(lon2_a - lon1_a) * 0.5)
    a = half_dphi * half_dphi + np.cos(phi1) * np.cos(phi2) * half_dlmb * half_dlmb
    distance = 2.0 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
    if distance.ndim == 0:
        return float(distance)
    return distance


def _haversine_scalar(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """:func:`haversine_km` for four Python numbers, without numpy's per-call overhead."""
    for lat, lon in ((lat1, lon1), (lat2, lon2)):
        if not (math.isfinite(lat) and math.isfinite(lon)):
            raise GeoError("coordinates must be finite numbers", argument="coordinates")
        if abs(lat) > 90.0:
            raise GeoError("latitude must lie in [-90, 90]", argument="latitude")
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    half_dphi = math.sin((phi2 - phi1) * 0.5)
    half_dlmb = math.sin(math.radians(lon2 - lon1) * 0.5)
    a = half_dphi * half_dphi + math.cos(phi1) * math.cos(phi2) * half_dlmb * half_dlmb
    return 2.0 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(max(a, 0.0), 1.0)))


def bounding_box(lat: float, lon: float, radius_km: float) -> tuple[float, float, float, float]:
    """The smallest latitude/longitude rectangle containing every point within ``radius_km``.

    Meant as a cheap prefilter, e.g. ``WHERE lat BETWEEN min_lat AND max_lat AND lon BETWEEN
    min_lon AND max_lon`` so that a database index on ``(lat, lon)`` can be used; the exact test
    (:func:`haversine_km` ``<= radius_km``) must follow, since the box's corners lie outside the
    circle.

    Parameters
    ----------
    lat, lon : float
        Centre in decimal degrees.
    radius_km : float
        Search radius in kilometres, non-negative.

    Returns
    -------
    (min_lat, max_lat, min_lon, max_lon) : tuple of float
        Degrees. The longitude extent is the exact one of a circle on the sphere (it is wider
        than ``radius_km`` at the centre's latitude, because meridians converge). When the circle
        contains a pole or crosses the antimeridian (±180°), the longitude range is the full
        ``(-180.0, 180.0)`` so that one ``BETWEEN`` clause stays correct. The box is widened
        by a few nanodegrees so that rounding never excludes a point on the circle.

    Raises
    ------
    GeoError
        If the centre is not a valid coordinate or the radius is negative or not finite.

    References
    ----------
    .. [1] J. P. Matuschek, "Finding Points Within a Distance of a Latitude/Longitude Using
       Bounding Coordinates", http://janmatuschek.de/LatitudeLongitudeBoundingCoordinates

    Examples
    --------
    >>> box = bounding_box(51.961908, 7.626804, 10.0)
    >>> [round(value, 3) for value in box]
    [51.872, 52.052, 7.481, 7.773]
    >>> bounding_box(89.99, 0.0, 50.0)[2:]
    (-180.0, 180.0)
    """
    lat_a = _as_float_array(lat, "lat")
    lon_a = _as_float_array(lon, "lon")
    radius = _as_float_array(radius_km, "radius_km")
    if lat_a.ndim or lon_a.ndim or radius.ndim:
        raise GeoError("bounding_box takes scalars", argument="lat")
    _check_coordinates(lat_a, lon_a)
    _check_radius(radius)
    delta = float(radius) / EARTH_RADIUS_KM * (1.0 + _REL_SLACK) + _ABS_SLACK_RAD
    phi = math.radians(float(lat_a))
    lat_lo = math.degrees(phi - delta)
    lat_hi = math.degrees(phi + delta)
    if lat_lo <= -90.0 or lat_hi >= 90.0 or delta >= math.pi / 2:
        return (max(lat_lo, -90.0), min(lat_hi, 90.0), -180.0, 180.0)
    dlon = math.degrees(math.asin(min(1.0, math.sin(delta) / math.cos(phi))))
    lon_lo = float(lon_a) - dlon
    lon_hi = float(lon_a) + dlon
    if lon_lo < -180.0 or lon_hi > 180.0:
        return (lat_lo, lat_hi, -180.0, 180.0)
    return (lat_lo, lat_hi, lon_lo, lon_hi)


def _unit_vectors(lat_deg: np.ndarray, lon_deg: np.ndarray) -> np.ndarray:
    phi = np.radians(lat_deg)
    lmb = np.radians(lon_deg)
    cos_phi = np.cos(phi)
    return np.column_stack((cos_phi * np.cos(lmb), cos_phi * np.sin(lmb), np.sin(phi)))


def _chord(radius_km: np.ndarray | float) -> np.ndarray | float:
    """Straight-line distance through the unit sphere for a great-circle distance."""
    angle = np.minimum(np.asarray(radius_km, dtype=np.float64) / EARTH_RADIUS_KM, math.pi)
    return 2.0 * np.sin(angle * 0.5)


def _chord_to_km(chord: np.ndarray) -> np.ndarray:
    return 2.0 * EARTH_RADIUS_KM * np.arcsin(np.minimum(chord * 0.5, 1.0))


def _expand_ranges(starts: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For ranges ``[starts[i], starts[i] + counts[i])`` return (range number, value) per item."""
    return np.repeat(np.arange(len(counts)), counts), _range_values(starts, counts)


def _range_values(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The values of the ranges ``[starts[i], starts[i] + counts[i])``, concatenated."""
    offsets = np.cumsum(counts) - counts
    return np.arange(int(counts.sum()), dtype=np.int64) - np.repeat(offsets - starts, counts)


class _BandLayout:
    """Points sorted by (group, latitude band, longitude) for a vectorised radius join.

    Every (group, band) pair present gets a dense bucket number ``b``; a point's sort key is
    ``b * _LON_STRIDE + (lon + 180)``, so the points of one bucket within a longitude interval
    are one contiguous slice that two ``searchsorted`` calls find.
    """

    __slots__ = ("band_deg", "n_bands", "bucket_keys", "sort_key", "order", "x", "y", "z")

    def __init__(
        self, lat: np.ndarray, lon: np.ndarray, xyz: np.ndarray, groups: np.ndarray, band_km: float
    ) -> None:
        self.band_deg = band_km / _KM_PER_DEGREE
        self.n_bands = int(math.floor(180.0 / self.band_deg)) + 2
        bands = np.floor((lat + 90.0) / self.band_deg).astype(np.int64)
        bucket = groups * self.n_bands + bands
        self.order = np.lexsort((lon, bucket))
        sorted_bucket = bucket[self.order]
        self.bucket_keys, dense = np.unique(sorted_bucket, return_inverse=True)
        self.sort_key = dense * _LON_STRIDE + (lon[self.order] + 180.0)
        self.x = np.ascontiguousarray(xyz[self.order, 0])
        self.y = np.ascontiguousarray(xyz[self.order, 1])
        self.z = np.ascontiguousarray(xyz[self.order, 2])


class SpatialIndex:
    """An index over many points on the sphere for radius searches in kilometres.

    Built once (``O(n log n)``) over, e.g., 100,000 positions or candidates; then answers

    - :meth:`within` — the points within a radius of one centre, exactly (great circle);
    - :meth:`nearest` — the ``k`` nearest points of one centre;
    - :meth:`pairs_within` / :meth:`iter_pairs_within` — many-to-many: for many query points,
      each with its *own* radius (and optionally its own group), every indexed point in reach.

    Single-centre searches use a :class:`scipy.spatial.cKDTree` over 3-D unit vectors: a
    great-circle radius is converted to the equivalent chord, the tree returns the points in
    that ball, and the exact great-circle test removes rounding strays. Many-to-many search uses
    a vectorised sweep instead, because a tree returns one Python list per query point, which
    costs more than the search itself once there are millions of pairs: the points are sorted
    once by (group, latitude band, longitude); for every query and every latitude band its
    circle touches, the exact longitude extent of the circle inside that band is one contiguous
    slice found by binary search; the candidates of all slices are then tested by chord length
    in one numpy pass. Bands are built lazily and cached per band height.

    Parameters
    ----------
    lats, lons : array_like of float, shape (n,)
        Coordinates in decimal degrees. The index keeps its own copies.
    ids : array_like, shape (n,), optional (default=None)
        What the queries return for each point; ``None`` means the positions ``0 .. n-1``.
    groups : array_like of int, shape (n,), optional (default=None)
        Non-negative group labels (e.g. a profession code). A many-to-many query that names a
        group only sees the points of that group. ``None`` puts every point in group 0.

    Raises
    ------
    GeoError
        On mismatched lengths, invalid coordinates or negative group labels.

    Examples
    --------
    >>> index = SpatialIndex([51.96, 52.28, 51.85], [7.63, 7.44, 6.46], ids=["MS", "RE", "BOR"])
    >>> len(index)
    3
    >>> index.within(51.96, 7.63, 40.0).tolist()
    ['MS', 'RE']
    >>> ids, km = index.within(51.96, 7.63, 40.0, return_distance=True)
    >>> km.round(1).tolist()
    [0.0, 37.9]
    >>> q, p, d = index.pairs_within([51.96, 51.85], [7.63, 6.46], [40.0, 5.0])
    >>> sorted(zip(q.tolist(), p.tolist()))
    [(0, 0), (0, 1), (1, 2)]
    """

    __slots__ = ("_lat", "_lon", "_ids", "_groups", "_xyz", "_tree", "_layouts")

    def __init__(self, lats: Any, lons: Any, ids: Any = None, *, groups: Any = None) -> None:
        lat = np.array(lats, dtype=np.float64, copy=True).reshape(-1)
        lon = np.array(lons, dtype=np.float64, copy=True).reshape(-1)
        if lat.shape != lon.shape:
            raise GeoError("lats and lons must have the same length", argument="lons")
        _check_coordinates(lat, lon, "indexed ")
        lon = (lon + 180.0) % 360.0 - 180.0
        n = len(lat)
        if ids is None:
            id_array = np.arange(n)
        else:
            id_array = np.array(ids, copy=True)
            if id_array.shape != (n,):
                raise GeoError("ids must have one entry per point", argument="ids")
        if groups is None:
            group_array = np.zeros(n, dtype=np.int64)
        else:
            try:
                group_array = np.array(groups, dtype=np.int64, copy=True).reshape(-1)
            except (TypeError, ValueError) as err:
                raise GeoError("groups must be integers", argument="groups") from err
            if group_array.shape != (n,) or np.any(group_array < 0):
                raise GeoError("groups must be n non-negative integers", argument="groups")
        for array in (lat, lon, id_array, group_array):
            array.setflags(write=False)
        self._lat, self._lon, self._ids, self._groups = lat, lon, id_array, group_array
        self._xyz = _unit_vectors(lat, lon)
        self._tree = cKDTree(self._xyz) if n else None
        self._layouts: dict[tuple[float, bool], _BandLayout] = {}

    def __len__(self) -> int:
        return len(self._lat)

    def __repr__(self) -> str:
        return f"SpatialIndex(n={len(self)})"

    @property
    def lats(self) -> np.ndarray:
        """Latitudes of the indexed points (read-only)."""
        return self._lat

    @property
    def lons(self) -> np.ndarray:
        """Longitudes of the indexed points, normalised to [-180, 180) (read-only)."""
        return self._lon

    @property
    def ids(self) -> np.ndarray:
        """The id of each indexed point (read-only)."""
        return self._ids

    @property
    def groups(self) -> np.ndarray:
        """The group label of each indexed point (read-only)."""
        return self._groups

    # -- one centre ---------------------------------------------------------------------------

    def _indices_within(
        self, lat: float, lon: float, radius_km: float
    ) -> tuple[np.ndarray, np.ndarray]:
        lat_a, lon_a, radius = (
            _as_float_array(v, n) for v, n in ((lat, "lat"), (lon, "lon"), (radius_km, "radius_km"))
        )
        if lat_a.ndim or lon_a.ndim or radius.ndim:
            raise GeoError("within takes a scalar centre and radius", argument="lat")
        _check_coordinates(lat_a, lon_a, "centre ")
        _check_radius(radius)
        if self._tree is None:
            return np.empty(0, dtype=np.int64), np.empty(0)
        centre = _unit_vectors(lat_a.reshape(1), lon_a.reshape(1))[0]
        ball = float(_chord(radius)) * (1.0 + _REL_SLACK) + _ABS_SLACK_RAD
        hits = np.asarray(self._tree.query_ball_point(centre, ball), dtype=np.int64)
        km = haversine_km(float(lat_a), float(lon_a), self._lat[hits], self._lon[hits])
        keep = km <= float(radius)
        hits, km = hits[keep], km[keep]
        order = np.lexsort((hits, km))
        return hits[order], km[order]

    def within(
        self, lat: float, lon: float, radius_km: float, *, return_distance: bool = False
    ) -> Any:
        """Ids of the points at most ``radius_km`` (great circle) from ``(lat, lon)``.

        Parameters
        ----------
        lat, lon : float
            The centre in decimal degrees.
        radius_km : float
            Non-negative radius in kilometres; a point exactly on the circle is inside.
        return_distance : bool, optional (default=False)
            Also return the distances.

        Returns
        -------
        ids : numpy.ndarray
            Nearest first; equal distances in index order.
        distances_km : numpy.ndarray
            Only if ``return_distance``; aligned with ``ids``.

        Examples
        --------
        >>> index = SpatialIndex([0.0, 0.0, 0.0], [0.0, 0.1, 1.0])
        >>> index.within(0.0, 0.0, 20.0).tolist()
        [0, 1]
        """
        hits, km = self._indices_within(lat, lon, radius_km)
        if return_distance:
            return self._ids[hits], km
        return self._ids[hits]

    def nearest(self, lat: float, lon: float, k: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` points nearest to ``(lat, lon)`` with their distances in kilometres.

        Returns fewer than ``k`` rows if the index is smaller.

        Examples
        --------
        >>> index = SpatialIndex([0.0, 0.0, 0.0], [0.0, 0.1, 1.0], ids=["a", "b", "c"])
        >>> ids, km = index.nearest(0.0, 0.95, k=2)
        >>> ids.tolist(), km.round(1).tolist()
        (['c', 'b'], [5.6, 94.5])
        """
        if not isinstance(k, int | np.integer) or isinstance(k, bool) or k < 1:
            raise GeoError("k must be a positive integer", argument="k")
        lat_a, lon_a = _as_float_array(lat, "lat"), _as_float_array(lon, "lon")
        _check_coordinates(lat_a, lon_a, "centre ")
        k = min(int(k), len(self))
        if k == 0:
            return self._ids[:0], np.empty(0)
        centre = _unit_vectors(lat_a.reshape(1), lon_a.reshape(1))[0]
        _chords, hits = self._tree.query(centre, k=k)
        hits = np.atleast_1d(hits).astype(np.int64)
        km = haversine_km(float(lat_a), float(lon_a), self._lat[hits], self._lon[hits])
        order = np.lexsort((hits, km))
        return self._ids[hits[order]], km[order]

    # -- many centres -------------------------------------------------------------------------

    def _layout(self, band_km: float, grouped: bool) -> _BandLayout:
        key = (band_km, grouped)
        layout = self._layouts.get(key)
        if layout is None:
            groups = self._groups if grouped else np.zeros(len(self), dtype=np.int64)
            layout = _BandLayout(self._lat, self._lon, self._xyz, groups, band_km)
            self._layouts[key] = layout
        return layout

    def pairs_within(
        self,
        lats: Any,
        lons: Any,
        radii_km: Any,
        *,
        groups: Any = None,
        band_km: float | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every (query point, indexed point) pair within the query point's own radius.

        Parameters
        ----------
        lats, lons : array_like of float, shape (q,)
            Query points in decimal degrees.
        radii_km : float or array_like of float, shape (q,)
            One radius per query point (a scalar applies to all); non-negative and finite.
        groups : array_like of int, shape (q,), optional (default=None)
            Restrict each query to the indexed points of this group; ``-1`` (or ``None`` for
            all queries) means every group.
        band_km : float, optional (default=None)
            Height of the latitude bands of the sweep (a tuning knob; results never depend on
            it). ``None`` picks about an eighth of the median radius, rounded to a power of two.

        Returns
        -------
        query_idx : numpy.ndarray of int64
            Position of the query point in ``lats``.
        point_idx : numpy.ndarray of int64
            Position of the indexed point (use ``index.ids[point_idx]`` for ids).
        distance_km : numpy.ndarray of float64
            Great-circle distance (from the chord; equals :func:`haversine_km` to ~1e-9 km).

        The order of the pairs is deterministic but otherwise unspecified.

        See Also
        --------
        iter_pairs_within : the same in chunks of bounded size.

        Examples
        --------
        >>> index = SpatialIndex([0.0, 0.0, 0.0], [0.0, 0.1, 1.0], groups=[0, 1, 0])
        >>> q, p, d = index.pairs_within([0.0, 0.0], [0.0, 0.0], [20.0, 200.0], groups=[-1, 0])
        >>> sorted(zip(q.tolist(), p.tolist()))
        [(0, 0), (0, 1), (1, 0), (1, 2)]
        """
        parts = list(self.iter_pairs_within(lats, lons, radii_km, groups=groups, band_km=band_km))
        if not parts:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64), np.empty(0)
        return tuple(np.concatenate(column) for column in zip(*parts, strict=True))  # type: ignore[return-value]

    def iter_pairs_within(
        self,
        lats: Any,
        lons: Any,
        radii_km: Any,
        *,
        groups: Any = None,
        band_km: float | None = None,
        max_pairs: int = _DEFAULT_MAX_PAIRS,
    ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Like :meth:`pairs_within`, but yields the pairs in chunks.

        Each chunk ``(query_idx, point_idx, distance_km)`` comes from examining at most about
        ``max_pairs`` candidate pairs (one query's pairs may be split over chunks), so memory
        stays bounded however many pairs there are in total.

        Examples
        --------
        >>> index = SpatialIndex([0.0] * 5, [0.0, 0.01, 0.02, 0.03, 0.04])
        >>> chunks = list(index.iter_pairs_within([0.0], [0.0], [10.0], max_pairs=2))
        >>> [len(q) for q, _, _ in chunks]
        [2, 2, 1]
        """
        lat = _as_float_array(lats, "lats").reshape(-1)
        lon = _as_float_array(lons, "lons").reshape(-1)
        if lat.shape != lon.shape:
            raise GeoError("lats and lons must have the same length", argument="lons")
        _check_coordinates(lat, lon, "query ")
        radius = np.broadcast_to(_as_float_array(radii_km, "radii_km"), lat.shape).astype(
            np.float64
        )
        _check_radius(radius)
        if groups is None:
            group = np.full(lat.shape, -1, dtype=np.int64)
        else:
            try:
                group = np.broadcast_to(np.asarray(groups, dtype=np.int64), lat.shape)
            except (TypeError, ValueError) as err:
                raise GeoError("groups must be integers, one per query", argument="groups") from err
        if not isinstance(max_pairs, int) or max_pairs < 1:
            raise GeoError("max_pairs must be a positive integer", argument="max_pairs")
        if len(self) == 0 or len(lat) == 0:
            return
        if band_km is None:
            band_km = _auto_band_km(radius)
        elif not (math.isfinite(band_km) and band_km > 0):
            raise GeoError("band_km must be positive", argument="band_km")
        lon = (lon + 180.0) % 360.0 - 180.0
        query_xyz = _unit_vectors(lat, lon)
        any_group = group < 0
        for grouped, selector in ((False, any_group), (True, ~any_group)):
            queries = np.flatnonzero(selector)
            if len(queries) == 0:
                continue
            layout = self._layout(float(band_km), grouped)
            yield from self._sweep(
                layout,
                queries,
                lat,
                lon,
                radius,
                group if grouped else np.zeros_like(group),
                query_xyz,
                max_pairs,
            )

    def _sweep(
        self,
        layout: _BandLayout,
        queries: np.ndarray,
        lat: np.ndarray,
        lon: np.ndarray,
        radius: np.ndarray,
        group: np.ndarray,
        query_xyz: np.ndarray,
        max_pairs: int,
    ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        # Bound the number of (query, band) combinations handled at once.
        band_counts = (2.0 * radius[queries] / EARTH_RADIUS_KM) / math.radians(layout.band_deg) + 3
        cum = np.cumsum(np.minimum(band_counts, layout.n_bands))
        step = max(1, max_pairs // 8)
        bounds = np.searchsorted(cum, np.arange(step, cum[-1] + step, step), side="left")
        start = 0
        for stop in np.unique(np.minimum(bounds + 1, len(queries))):
            block = queries[start:stop]
            start = int(stop)
            if len(block):
                yield from self._sweep_block(
                    layout, block, lat, lon, radius, group, query_xyz, max_pairs
                )

    def _sweep_block(
        self,
        layout: _BandLayout,
        block: np.ndarray,
        lat: np.ndarray,
        lon: np.ndarray,
        radius: np.ndarray,
        group: np.ndarray,
        query_xyz: np.ndarray,
        max_pairs: int,
    ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        delta = radius[block] / EARTH_RADIUS_KM * (1.0 + _REL_SLACK) + _ABS_SLACK_RAD
        phi0 = np.radians(lat[block])
        lat_lo = np.maximum(phi0 - delta, -math.pi / 2)
        lat_hi = np.minimum(phi0 + delta, math.pi / 2)
        band_rad = math.radians(layout.band_deg)
        band_lo = np.floor((lat_lo + math.pi / 2) / band_rad).astype(np.int64)
        band_hi = np.floor((lat_hi + math.pi / 2) / band_rad).astype(np.int64)
        n_bands = band_hi - band_lo + 1
        combo_query, band = _expand_ranges(band_lo, n_bands)
        # Latitude interval of the circle inside each band.
        edge_lo = np.maximum(band * band_rad - math.pi / 2, lat_lo[combo_query])
        edge_hi = np.minimum((band + 1) * band_rad - math.pi / 2, lat_hi[combo_query])
        # The circle's longitude half-width is largest at phi_star, and unimodal in latitude.
        d = delta[combo_query]
        p0 = phi0[combo_query]
        cos_d = np.cos(d)
        with np.errstate(divide="ignore", invalid="ignore"):
            phi_star = np.arcsin(np.clip(np.sin(p0) / cos_d, -1.0, 1.0))
            phi_e = np.clip(phi_star, edge_lo, edge_hi)
            cos_dl = (cos_d - np.sin(phi_e) * np.sin(p0)) / (np.cos(phi_e) * np.cos(p0))
        cos_dl = np.where(np.isfinite(cos_dl), cos_dl, -1.0)
        half_width = np.degrees(
            np.arccos(np.clip(cos_dl, -1.0, 1.0)) * (1.0 + _REL_SLACK) + _ABS_SLACK_RAD
        )
        full = (half_width >= 180.0) | (cos_d <= 0.0)
        centre = lon[block][combo_query]
        lo = np.where(full, -180.0, centre - half_width)
        hi = np.where(full, 180.0, centre + half_width)
        # Longitude intervals that cross the antimeridian become two intervals.
        wrap_lo = lo < -180.0
        wrap_hi = hi > 180.0
        second = np.flatnonzero(wrap_lo | wrap_hi)
        seg_combo = np.concatenate((np.arange(len(lo)), second))
        seg_lo = np.concatenate(
            (np.maximum(lo, -180.0), np.where(wrap_lo[second], lo[second] + 360.0, -180.0))
        )
        seg_hi = np.concatenate(
            (np.minimum(hi, 180.0), np.where(wrap_lo[second], 180.0, hi[second] - 360.0))
        )
        # Find each segment's bucket, then its slice of sorted points.
        seg_query = block[combo_query[seg_combo]]
        bucket_key = group[seg_query] * layout.n_bands + band[seg_combo]
        bucket = np.searchsorted(layout.bucket_keys, bucket_key)
        found = bucket < len(layout.bucket_keys)
        found[found] = layout.bucket_keys[bucket[found]] == bucket_key[found]
        base = bucket[found] * _LON_STRIDE + 180.0
        first = np.searchsorted(layout.sort_key, base + seg_lo[found], side="left")
        last = np.searchsorted(layout.sort_key, base + seg_hi[found], side="right")
        seg_query = seg_query[found]
        counts = last - first
        keep = counts > 0
        seg_query, first, counts = seg_query[keep], first[keep], counts[keep]
        if len(counts) == 0:
            return
        # Split slices longer than max_pairs so that every chunk honours the bound.
        pieces = -(-counts // max_pairs)
        if np.any(pieces > 1):
            seg, piece = _expand_ranges(np.zeros_like(pieces), pieces)
            first = first[seg] + piece * max_pairs
            counts = np.minimum(counts[seg] - piece * max_pairs, max_pairs)
            seg_query = seg_query[seg]
        # Emit in pieces of about max_pairs candidate pairs.
        cum = np.cumsum(counts)
        cuts = np.searchsorted(cum, np.arange(max_pairs, int(cum[-1]), max_pairs), side="left")
        edges = np.concatenate(([0], np.unique(cuts + 1), [len(counts)]))
        edges = np.unique(np.minimum(edges, len(counts)))
        for a, b in zip(edges[:-1], edges[1:], strict=True):
            piece_counts = counts[a:b]
            piece_query = seg_query[a:b]
            slot = _range_values(first[a:b], piece_counts)
            query = np.repeat(piece_query, piece_counts)
            dx = layout.x[slot]
            dx -= np.repeat(query_xyz[piece_query, 0], piece_counts)
            dy = layout.y[slot]
            dy -= np.repeat(query_xyz[piece_query, 1], piece_counts)
            dz = layout.z[slot]
            dz -= np.repeat(query_xyz[piece_query, 2], piece_counts)
            dx *= dx
            dy *= dy
            dz *= dz
            dx += dy
            dx += dz
            km = _chord_to_km(np.sqrt(dx, out=dx))
            inside = km <= np.repeat(radius[piece_query], piece_counts)
            yield query[inside], layout.order[slot[inside]], km[inside]


def _auto_band_km(radius: np.ndarray) -> float:
    """About an eighth of the median radius, as a power of two in [1/16, 1024] km."""
    positive = radius[radius > 0]
    median = float(np.median(positive)) if len(positive) else 1.0
    return float(2.0 ** np.clip(np.round(np.log2(max(median / 8.0, 1e-6))), -4, 10))
