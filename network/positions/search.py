"""Searching positions: filters, the scoring module's ranking with reasons, saved searches.

This is the adapter between the database and the pure ``network.matching.scoring``: it loads rows,
builds the plain :class:`~network.matching.scoring.Candidate` and
:class:`~network.matching.scoring.Position` values, and turns the scoring module's ranked matches
back into rows with reasons. It only reads; :mod:`network.positions.services` writes.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
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


def _filtered_query(
    params: SearchParams, centre: _Centre | None, today: date, *, extra_radius: float | None = None
) -> sa.Select:
    stmt = sa.select(Position).where(_open_clause(today))
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
    radius = params.radius_km if params.radius_km else extra_radius
    if centre is not None and radius:
        min_lat, max_lat, min_lon, max_lon = bounding_box(centre.lat, centre.lon, radius)
        stmt = stmt.where(
            Position.latitude.between(min_lat, max_lat),
            Position.longitude.between(min_lon, max_lon),
        )
    return stmt


def scoring_position(position: Position) -> scoring.Position:
    hours = (
        position.hours_per_week if position.hours_per_week and position.hours_per_week > 0 else None
    )
    return scoring.Position(
        id=position.id,
        lat=position.latitude,
        lon=position.longitude,
        position_type=position.position_type,
        profession=position.profession,
        start=position.start_date,
        benefits=frozenset(position.benefits or ()),
        requirements=frozenset(position.requirements or ()),
        seats=max(0, int(position.seats or 0)),
        hours_per_week=hours,
    )


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


def _ordered_results(
    params: SearchParams, profile: TraineeProfile | None, today: date
) -> tuple[list[SearchResult] | None, str, _Centre | None]:
    """All results in order, or ``None`` when the database can order and page them itself."""
    centre = _centre(params, profile)
    if profile is not None and centre is not None:
        radius = params.radius_km or ANY_RADIUS_KM
        candidate = scoring_candidate(
            profile, point=(centre.lat, centre.lon), radius_km=radius, params=params
        )
        rows = db.session.scalars(_filtered_query(params, centre, today, extra_radius=radius)).all()
        by_id = {row.id: row for row in rows}
        table = scoring.score_all([candidate], [scoring_position(row) for row in rows])
        results = [
            _LazyRankedResult(by_id[table.positions[int(j)].id], table, row)
            for row, j in enumerate(table.position_idx)
        ]
        return results, "ranked", centre
    if centre is not None:
        rows = db.session.scalars(_filtered_query(params, centre, today)).all()
        if not rows:
            return [], "distance", centre
        lats = np.fromiter((r.latitude for r in rows), float, len(rows))
        lons = np.fromiter((r.longitude for r in rows), float, len(rows))
        distances = np.atleast_1d(haversine_km(centre.lat, centre.lon, lats, lons))
        results = [
            SearchResult(row, distance_km=float(km))
            for row, km in zip(rows, distances, strict=True)
            if not params.radius_km or km <= params.radius_km
        ]
        results.sort(
            key=lambda r: (
                round(r.distance_km or 0.0, 3),
                r.position.start_date or date.max,
                r.position.id,
            )
        )
        return results, "distance", centre
    return None, "date", None


class _LazyRankedResult(SearchResult):
    """A ranked result whose reasons are built only when shown (a page of many)."""

    def __init__(self, position: Position, table: scoring.ScoreTable, row: int) -> None:
        self.position = position
        self.score = float(table.score[row])
        self._table = table
        self._row = row
        self._match: scoring.Match | None = None

    def _built(self) -> scoring.Match:
        if self._match is None:
            self._match = self._table.match(self._row)
        return self._match

    @property  # type: ignore[override]
    def reasons(self) -> tuple[scoring.Reason, ...]:
        return self._built().reasons

    @property  # type: ignore[override]
    def distance_km(self) -> float:
        return self._built().distance_km


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
    results, mode, centre = _ordered_results(params, profile, today)
    if results is None:
        stmt = _filtered_query(params, None, today).order_by(
            Position.start_date.is_(None),
            Position.start_date,
            Position.created_at.desc(),
            Position.id,
        )
        pagination = db.paginate(
            stmt, page=page, per_page=per_page, error_out=False, max_per_page=100
        )
        page_results = [SearchResult(p) for p in pagination.items]
    else:
        pagination = paginate_list(results, page, per_page)
        page_results = list(pagination.items)
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


def matching_positions_for_saved_search(
    saved_search: SavedSearch, since: datetime | None = None
) -> list[Position]:
    """Open, unexpired positions matching a saved search, best first; only those published after
    ``since`` when given (for the digest). Ranked by the owner's profile when they have one."""
    params = SearchParams.from_query(saved_search.params or {})
    profile = db.session.get(TraineeProfile, saved_search.user_id)
    if profile is not None and _profile_point(profile) is None and not params.ags:
        profile = None
    today = today_local()
    results, _mode, _centre_used = _ordered_results(params, profile, today)
    if results is None:
        stmt = _filtered_query(params, None, today).order_by(
            Position.start_date.is_(None),
            Position.start_date,
            Position.created_at.desc(),
            Position.id,
        )
        if since is not None:
            stmt = stmt.where(Position.created_at > since)
        return list(db.session.scalars(stmt))
    positions = [r.position for r in results]
    if since is not None:
        positions = [p for p in positions if p.created_at > since]
    return positions
