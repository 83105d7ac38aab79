"""Searching positions: filters, the scoring module's ranking with reasons, saved searches.

This is the adapter between the database and the pure ``network.matching.scoring``: it loads rows,
builds the plain :class:`~network.matching.scoring.Candidate` and
:class:`~network.matching.scoring.Position` values, and turns the scoring module's ranked matches
back into rows with reasons. It only reads; :mod:`network.positions.services` writes.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import numpy as np
import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_sqlalchemy.pagination import Pagination

from network.extensions import db
from network.matching import scoring
from network.matching.geo import bounding_box, haversine_km
from network.models import Municipality, Position, SavedSearch, TraineeProfile
from network.models.base import utcnow
from network.positions.catalogue import EXTRA_PROFESSIONS, professions
from network.vocabulary import EMPLOYER_BENEFITS, POSITION_TYPES

__all__ = [
    "PER_PAGE",
    "RADIUS_CHOICES",
    "ANY_RADIUS_KM",
    "SearchParams",
    "SearchResult",
    "SearchOutcome",
    "today_local",
    "is_expired",
    "reason_items",
    "score_components",
    "profile_of",
    "default_search_params",
    "municipalities",
    "search_positions",
    "position_match",
    "matching_positions_for_saved_search",
    "scoring_candidate",
    "scoring_position",
    "paginate_list",
    "known_codes",
    "count_for_saved_search",
]

PER_PAGE = 20
RADIUS_CHOICES = (5, 10, 25, 50, 100)
#: Radius of a trainee's ranking when they search "anywhere": covers a whole region.
ANY_RADIUS_KM = 300.0
REGION_TIMEZONE = ZoneInfo("Europe/Berlin")


# --------------------------------------------------------------------------- helpers


def today_local(now: datetime | None = None) -> date:
    """Today's date in the region (deadlines are calendar days in Germany)."""
    moment = now or utcnow()
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(REGION_TIMEZONE).date()


def is_expired(position: Position, today: date | None = None) -> bool:
    """A position whose application deadline has passed (whether or not the job closed it yet)."""
    return position.deadline is not None and position.deadline < (today or today_local())


def _open_clause(today: date) -> sa.ColumnElement[bool]:
    return sa.and_(
        Position.status == "open",
        sa.or_(Position.deadline.is_(None), Position.deadline >= today),
    )


def _tag_clause(column: Any, code: str) -> sa.ColumnElement[bool]:
    # TagList stores a sorted JSON array of plain codes; the quoted code matches exactly one item,
    # on SQLite and PostgreSQL alike (no JSON operators needed).
    return sa.cast(column, sa.Text).like(f'%"{code}"%')


def _reason_text(reason: scoring.Reason, language: str) -> str:
    text = reason.text(language)
    # The scoring module knows the reference professions; ours add a few it shows as raw codes.
    for key in ("profession", "qualification"):
        code = reason.params.get(key)
        if code in EXTRA_PROFESSIONS:
            text = text.replace(code, EXTRA_PROFESSIONS[code].label(language))
    return text


def reason_items(reasons: Iterable[scoring.Reason], language: str) -> list[tuple[str, str]]:
    """(text, css class) of each reason, for ``<ul class="reasons">``."""
    classes = {"positive": "reason-pos", "negative": "reason-neg"}
    return [(_reason_text(r, language), classes.get(r.polarity, "")) for r in reasons]


class _ListPagination(Pagination):
    """Pagination over an already ordered list (ranked or sorted by distance in Python)."""

    def _query_items(self) -> list[Any]:
        items = self._query_args["items"]
        return items[self._query_offset : self._query_offset + self.per_page]

    def _query_count(self) -> int:
        return len(self._query_args["items"])


def paginate_list(items: list[Any], page: int, per_page: int) -> Pagination:
    return _ListPagination(page=page, per_page=per_page, error_out=False, items=items)


# --------------------------------------------------------------------------- search


def known_codes(values: Iterable[Any], allowed: Iterable[str]) -> tuple[str, ...]:
    """The values that are codes of ``allowed``, sorted and without duplicates."""
    allowed = set(allowed)
    return tuple(sorted({str(v) for v in values if str(v) in allowed}))


def _as_list(value: Any) -> list[Any]:
    if value is None or value == "":
        return []
    if isinstance(value, list | tuple | set | frozenset):
        return list(value)
    return [value]


@dataclass(frozen=True)
class SearchParams:
    """The filters of a search, as in the URL (``art``, ``beruf``, ``ort``, ``umkreis``,
    ``beginn``, ``angebot``) and in a saved search's ``params``."""

    position_types: tuple[str, ...] = ()
    professions: tuple[str, ...] = ()
    ags: str | None = None
    radius_km: float | None = None
    start_from: date | None = None
    benefits: tuple[str, ...] = ()
    #: A centre given as (lat, lon) instead of a municipality (the API allows it).
    point: tuple[float, float] | None = None

    def to_query(self) -> dict[str, Any]:
        """URL parameters (and the JSON of a saved search)."""
        query: dict[str, Any] = {}
        if self.position_types:
            query["art"] = list(self.position_types)
        if self.professions:
            query["beruf"] = list(self.professions)
        if self.ags:
            query["ort"] = self.ags
        elif self.point:
            query["lat"], query["lon"] = self.point
        if self.radius_km:
            query["umkreis"] = (
                int(self.radius_km) if float(self.radius_km).is_integer() else self.radius_km
            )
        if self.start_from:
            query["beginn"] = self.start_from.isoformat()
        if self.benefits:
            query["angebot"] = list(self.benefits)
        return query

    @classmethod
    def from_query(cls, data: Mapping[str, Any]) -> SearchParams:
        """Read URL parameters or a saved search's JSON; unknown codes and bad values are dropped."""

        def values(key: str) -> list[Any]:
            if hasattr(data, "getlist"):
                return [v for v in data.getlist(key) if v != ""]
            return _as_list(data.get(key))

        ags = next(iter(values("ort")), None)
        radius = None
        for raw in values("umkreis"):
            try:
                radius = float(raw)
            except (TypeError, ValueError):
                radius = None
            if radius is not None and not (0 < radius <= 1000 and math.isfinite(radius)):
                radius = None
        start = None
        for raw in values("beginn"):
            try:
                start = date.fromisoformat(str(raw))
            except ValueError:
                start = None
        point = None
        try:
            lat, lon = (float(next(iter(values(key)))) for key in ("lat", "lon"))
        except (StopIteration, RuntimeError, TypeError, ValueError):
            pass
        else:
            if abs(lat) <= 90 and abs(lon) <= 180:
                point = (lat, lon)
        return cls(
            point=point,
            position_types=known_codes(values("art"), POSITION_TYPES),
            professions=known_codes(values("beruf"), professions()),
            ags=str(ags) if ags and str(ags).isdigit() and len(str(ags)) == 8 else None,
            radius_km=radius,
            start_from=start,
            benefits=known_codes(values("angebot"), EMPLOYER_BENEFITS),
        )

    @property
    def is_empty(self) -> bool:
        return not self.to_query()


@dataclass
class SearchResult:
    """One position in a result list, with its score and reasons when ranked."""

    position: Position
    distance_km: float | None = None
    score: float | None = None
    reasons: tuple[scoring.Reason, ...] = ()

    @property
    def percent(self) -> int | None:
        return None if self.score is None else round(100 * self.score)

    @property
    def score_class(self) -> str:
        if self.score is None:
            return ""
        return (
            "score-high"
            if self.score >= 0.75
            else "score-mid"
            if self.score >= 0.5
            else "score-low"
        )

    def reason_items(self, language: str) -> list[tuple[str, str]]:
        return reason_items(self.reasons, language)


@dataclass
class SearchOutcome:
    """A page of results. ``mode``: ``ranked`` (match score for the trainee's profile),
    ``distance`` (nearest first) or ``date`` (earliest start first)."""

    params: SearchParams
    pagination: Pagination
    results: list[SearchResult]
    mode: str
    centre_name: Any = None
    total: int = 0
    score_components: list[tuple[Any, int]] = field(default_factory=list)


def score_components() -> list[tuple[Any, int]]:
    """The components of the match score with their share in percent, for the explanation."""
    labels = {
        "profession": _l("Beruf passt zu Ihren Wünschen"),
        "position_type": _l("Art des Angebots passt zu Ihren Wünschen"),
        "distance": _l("Entfernung (je näher, desto besser)"),
        "start": _l("Beginn passt zu Ihrem frühesten Starttermin"),
        "benefits": _l("Ihre gewünschten Angebote des Arbeitgebers"),
        "requirements": _l("Voraussetzungen erfüllt (Führerschein, Sprachen)"),
    }
    shares = scoring.DEFAULT_WEIGHTS.normalised()
    return [(labels.get(name, name), round(100 * share)) for name, share in shares.items()]


@dataclass(frozen=True)
class _Centre:
    lat: float
    lon: float
    name: Any  # str or a lazy string


def profile_of(user: Any) -> TraineeProfile | None:
    """The trainee profile of ``user`` (``None`` for anonymous users and non-trainees)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return db.session.get(TraineeProfile, user.id)


def default_search_params(profile: TraineeProfile | None) -> SearchParams:
    """The filters a trainee starts with: what their profile says they look for, and where."""
    if profile is None:
        return SearchParams()
    return SearchParams(
        position_types=known_codes(profile.position_types, POSITION_TYPES),
        professions=known_codes(profile.professions, professions()),
        ags=profile.home_ags,
        radius_km=profile.max_distance_km,
    )


def municipalities() -> list[Municipality]:
    """The municipalities of the region, by name (for selects)."""
    return list(db.session.scalars(sa.select(Municipality).order_by(Municipality.name)))


def _centre(params: SearchParams, profile: TraineeProfile | None) -> _Centre | None:
    if params.point and not params.ags:
        lat, lon = params.point
        return _Centre(lat, lon, f"{lat:.4f}, {lon:.4f}")
    if params.ags:
        place = db.session.get(Municipality, params.ags)
        if place is None:
            return None
        if profile is not None and profile.home_ags == params.ags and profile.latitude is not None:
            return _Centre(profile.latitude, profile.longitude, place.name)
        return _Centre(place.latitude, place.longitude, place.name)
    if profile is not None:
        point = _profile_point(profile)
        if point is not None:
            return _Centre(point[0], point[1], _l("Ihr Wohnort"))
    return None


def _profile_point(profile: TraineeProfile) -> tuple[float, float] | None:
    if profile.latitude is not None and profile.longitude is not None:
        return profile.latitude, profile.longitude
    if profile.home_ags:
        place = db.session.get(Municipality, profile.home_ags)
        if place is not None:
            return place.latitude, place.longitude
    return None


#: The columns ranking and ordering need; full rows are loaded only for the page shown.
_LIGHT_COLUMNS = (
    Position.id,
    Position.latitude,
    Position.longitude,
    Position.position_type,
    Position.profession,
    Position.start_date,
    # As text: the same few code lists repeat across thousands of rows, so each distinct one is
    # decoded once (see _code_set) instead of once per row.
    sa.cast(Position.benefits, sa.Text).label("benefits"),
    sa.cast(Position.requirements, sa.Text).label("requirements"),
    Position.seats,
    Position.hours_per_week,
)


@lru_cache(maxsize=4096)
def _code_set(stored: str | None) -> frozenset[str]:
    if not stored:
        return frozenset()
    return frozenset(str(code) for code in json.loads(stored))


def _codes_of(value: Any) -> frozenset[str]:
    if isinstance(value, str):
        return _code_set(value)
    return frozenset(value or ())


def _filtered_query(
    params: SearchParams,
    centre: _Centre | None,
    today: date,
    *,
    columns: tuple[Any, ...] = (Position,),
    extra_radius: float | None = None,
    created_after: datetime | None = None,
) -> sa.Select:
    stmt = sa.select(*columns).where(_open_clause(today))
    if params.position_types:
        stmt = stmt.where(Position.position_type.in_(params.position_types))
    if params.professions:
        stmt = stmt.where(Position.profession.in_(params.professions))
    if params.start_from:
        stmt = stmt.where(
            sa.or_(Position.start_date.is_(None), Position.start_date >= params.start_from)
        )
    for code in params.benefits:
        stmt = stmt.where(_tag_clause(Position.benefits, code))
    if created_after is not None:
        stmt = stmt.where(Position.created_at > created_after)
    radius = params.radius_km if params.radius_km else extra_radius
    if centre is not None and radius:
        min_lat, max_lat, min_lon, max_lon = bounding_box(centre.lat, centre.lon, radius)
        stmt = stmt.where(
            Position.latitude.between(min_lat, max_lat),
            Position.longitude.between(min_lon, max_lon),
        )
    return stmt


def scoring_position(position: Any) -> scoring.Position:
    """A position (row or light row with the same attribute names) as the scoring module sees it."""
    hours = position.hours_per_week
    return scoring.Position(
        id=position.id,
        lat=position.latitude,
        lon=position.longitude,
        position_type=position.position_type,
        profession=position.profession,
        start=position.start_date,
        benefits=_codes_of(position.benefits),
        requirements=_codes_of(position.requirements),
        seats=max(0, int(position.seats or 0)),
        hours_per_week=hours if hours and hours > 0 else None,
    )


class _LightPosition(NamedTuple):
    """A row of :data:`_LIGHT_COLUMNS` as a plain, hashable tuple."""

    id: int
    latitude: float
    longitude: float
    position_type: str
    profession: str
    start_date: date | None
    benefits: str | None
    requirements: str | None
    seats: int | None
    hours_per_week: float | None


#: Every open position of a large region is converted on each whole-region ranking; the
#: conversion (with its validation) costs ~20 µs a position, a cache hit well under 1 µs.
#: The key is the whole light row, so a changed position is a new entry, never a stale one.
_SCORING_CACHE_SIZE = 250_000


@lru_cache(maxsize=_SCORING_CACHE_SIZE)
def _cached_scoring_position(light: _LightPosition) -> scoring.Position:
    return scoring_position(light)


def scoring_candidate(
    profile: TraineeProfile,
    *,
    point: tuple[float, float],
    radius_km: float,
    params: SearchParams | None = None,
) -> scoring.Candidate:
    """The trainee as the scoring module sees them; a search's filters override the profile's."""
    position_types = profile.position_types
    wanted_professions = profile.professions
    earliest = profile.earliest_start
    benefits = set(profile.wanted_benefits or ())
    if params is not None:
        position_types = params.position_types
        wanted_professions = params.professions
        earliest = params.start_from or earliest
        benefits |= set(params.benefits)
    return scoring.Candidate(
        id=profile.user_id,
        lat=point[0],
        lon=point[1],
        max_distance_km=float(radius_km),
        professions=frozenset(wanted_professions or ()),
        position_types=frozenset(t for t in position_types or () if t in POSITION_TYPES),
        earliest_start=earliest,
        wanted_benefits=frozenset(b for b in benefits if b in EMPLOYER_BENEFITS),
        driving_licence=bool(profile.driving_licence),
        languages=frozenset(profile.languages or ()),
        qualifications=frozenset(),
    )


@dataclass
class _Ordering:
    """Position ids in result order, with what is needed to explain any slice of them."""

    mode: str
    centre: _Centre | None
    ids: list[int]
    distances: np.ndarray | None = None
    table: scoring.ScoreTable | None = None

    def positions(self, start: int = 0, stop: int | None = None) -> list[Position]:
        """The rows of ``ids[start:stop]`` in order, without building reasons."""
        wanted = self.ids[start:stop]
        rows = (
            {
                p.id: p
                for p in db.session.scalars(sa.select(Position).where(Position.id.in_(wanted)))
            }
            if wanted
            else {}
        )
        return [rows[position_id] for position_id in wanted]

    def results(self, start: int, stop: int) -> list[SearchResult]:
        """Full results (rows, scores, reasons) for ``ids[start:stop]`` only."""
        wanted = self.ids[start:stop]
        if not wanted:
            return []
        rows = {
            p.id: p for p in db.session.scalars(sa.select(Position).where(Position.id.in_(wanted)))
        }
        results = []
        for offset, position_id in enumerate(wanted, start):
            if self.table is not None:
                match = self.table.match(offset)
                results.append(
                    SearchResult(rows[position_id], match.distance_km, match.score, match.reasons)
                )
            else:
                distance = None if self.distances is None else float(self.distances[offset])
                results.append(SearchResult(rows[position_id], distance_km=distance))
        return results


def _ordering(
    params: SearchParams,
    profile: TraineeProfile | None,
    today: date,
    *,
    created_after: datetime | None = None,
) -> _Ordering | None:
    """The order of all results, or ``None`` when the database orders and pages them itself.

    Only light rows are read here (ids, places, codes), so ordering a whole region stays cheap.
    """
    centre = _centre(params, profile)
    if centre is None:
        return None
    if profile is not None:
        radius = params.radius_km or ANY_RADIUS_KM
        candidate = scoring_candidate(
            profile, point=(centre.lat, centre.lon), radius_km=radius, params=params
        )
        stmt = _filtered_query(
            params,
            centre,
            today,
            columns=_LIGHT_COLUMNS,
            extra_radius=radius,
            created_after=created_after,
        )
        light = db.session.connection().execute(stmt).all()
        table = scoring.score_all(
            [candidate], [_cached_scoring_position(_LightPosition(*row)) for row in light]
        )
        ids = [light[int(j)].id for j in table.position_idx]
        return _Ordering("ranked", centre, ids, table=table)
    stmt = _filtered_query(
        params,
        centre,
        today,
        columns=(Position.id, Position.latitude, Position.longitude, Position.start_date),
        created_after=created_after,
    )
    light = db.session.connection().execute(stmt).all()
    if not light:
        return _Ordering("distance", centre, [])
    id_column, lat_column, lon_column, start_column = zip(*light, strict=True)
    ids = np.array(id_column, np.int64)
    lats = np.array(lat_column, np.float64)
    lons = np.array(lon_column, np.float64)
    no_start = date.max.toordinal()
    starts = np.array([s.toordinal() if s else no_start for s in start_column], np.int64)
    distances = np.atleast_1d(haversine_km(centre.lat, centre.lon, lats, lons))
    keep = distances <= params.radius_km if params.radius_km else np.ones(len(light), bool)
    ids, starts, distances = ids[keep], starts[keep], distances[keep]
    # Nearest first (to the metre), then the earlier start, then the older id.
    order = np.lexsort((ids, starts, np.round(distances, 3)))
    return _Ordering("distance", centre, ids[order].tolist(), distances=distances[order])


def _date_ordered(
    params: SearchParams,
    today: date,
    created_after: datetime | None = None,
    columns: tuple[Any, ...] = (Position,),
) -> sa.Select:
    return _filtered_query(
        params, None, today, columns=columns, created_after=created_after
    ).order_by(
        Position.start_date.is_(None),
        Position.start_date,
        Position.created_at.desc(),
        Position.id,
    )


def _date_page(
    params: SearchParams, today: date, page: int, per_page: int
) -> tuple[Pagination, list[SearchResult]]:
    """Earliest start first, paged in the database: ids of one page, then only those rows."""
    total = (
        db.session.scalar(
            _filtered_query(params, None, today, columns=(sa.func.count(Position.id),))
        )
        or 0
    )
    pagination = _CountPagination(page=page, per_page=per_page, error_out=False, total=int(total))
    offset = (pagination.page - 1) * pagination.per_page
    ids = db.session.scalars(
        _date_ordered(params, today, columns=(Position.id,))
        .limit(pagination.per_page)
        .offset(offset)
    ).all()
    ordering = _Ordering("date", None, list(ids))
    return pagination, [SearchResult(p) for p in ordering.positions()]


class _CountPagination(Pagination):
    """Page numbers for ``total`` items whose page the caller loads itself."""

    def _query_items(self) -> list[Any]:
        return []

    def _query_count(self) -> int:
        return self._query_args["total"]


def search_positions(
    params: SearchParams, *, seeker: Any = None, page: int = 1, per_page: int = PER_PAGE
) -> SearchOutcome:
    """Open, unexpired positions matching ``params``, one page of them.

    A trainee with a profile gets the positions ranked by the documented match score
    (``network.matching.scoring``), each with its reasons; everyone else gets the nearest first
    when a place is given, otherwise the earliest start first.
    """
    today = today_local()
    profile = profile_of(seeker)
    if profile is not None and _profile_point(profile) is None and not (params.ags or params.point):
        profile = None  # nowhere to measure distances from: no ranking
    ordering = _ordering(params, profile, today)
    if ordering is None:
        pagination, page_results = _date_page(params, today, page, per_page)
        mode, centre = "date", None
    else:
        pagination = paginate_list(ordering.ids, page, per_page)
        offset = (pagination.page - 1) * pagination.per_page
        page_results = ordering.results(offset, offset + pagination.per_page)
        mode, centre = ordering.mode, ordering.centre
    return SearchOutcome(
        params=params,
        pagination=pagination,
        results=page_results,
        mode=mode,
        centre_name=centre.name if centre else None,
        total=pagination.total or 0,
        score_components=score_components() if mode == "ranked" else [],
    )


def position_match(position: Position, seeker: Any) -> SearchResult | None:
    """How well one position fits the trainee's profile (reasons also for failed filters)."""
    profile = profile_of(seeker)
    if profile is None:
        return None
    point = _profile_point(profile)
    if point is None:
        return None
    candidate = scoring_candidate(
        profile, point=point, radius_km=profile.max_distance_km or ANY_RADIUS_KM
    )
    target = scoring_position(position)
    match = scoring.score_pair(candidate, target)
    if match is not None:
        return SearchResult(position, match.distance_km, match.score, match.reasons)
    distance = float(haversine_km(point[0], point[1], position.latitude, position.longitude))
    return SearchResult(position, distance, None, scoring.explain(candidate, target))


def _saved_search_ordering(
    saved_search: SavedSearch, since: datetime | None
) -> tuple[_Ordering | None, SearchParams, date]:
    params = SearchParams.from_query(saved_search.params or {})
    profile = db.session.get(TraineeProfile, saved_search.user_id)
    if profile is not None and _profile_point(profile) is None and not (params.ags or params.point):
        profile = None
    today = today_local()
    return _ordering(params, profile, today, created_after=since), params, today


def count_for_saved_search(saved_search: SavedSearch, since: datetime | None = None) -> int:
    """How many open positions match a saved search (published after ``since`` when given)."""
    ordering, params, today = _saved_search_ordering(saved_search, since)
    if ordering is not None:
        return len(ordering.ids)
    stmt = _filtered_query(
        params, None, today, columns=(sa.func.count(Position.id),), created_after=since
    )
    return int(db.session.scalar(stmt) or 0)


def matching_positions_for_saved_search(
    saved_search: SavedSearch, since: datetime | None = None
) -> list[Position]:
    """Open, unexpired positions matching a saved search, best first; only those published after
    ``since`` when given (for the digest). Ranked by the owner's profile when they have one."""
    ordering, params, today = _saved_search_ordering(saved_search, since)
    if ordering is None:
        return list(db.session.scalars(_date_ordered(params, today, created_after=since)))
    return ordering.positions()
