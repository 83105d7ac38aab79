"""Positions, trainee profiles, searches, invitations and applications: the only writers here.

Views call one function of this module. Ranking and its reasons come from the pure
``network.matching.scoring``; this module only loads rows, turns them into the scoring module's
plain :class:`~network.matching.scoring.Candidate` and :class:`~network.matching.scoring.Position`,
persists, audits and queues mail through the outbox.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import sqlalchemy as sa
from flask import current_app, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_sqlalchemy.pagination import Pagination

from network.audit import record
from network.extensions import db
from network.mail import queue_email
from network.matching import scoring
from network.matching.geo import bounding_box, haversine_km
from network.models import (
    Application,
    AuditLog,
    Invitation,
    Membership,
    Municipality,
    Organisation,
    OutboxMessage,
    Position,
    SavedSearch,
    TraineeProfile,
    User,
)
from network.models.base import utcnow
from network.positions import uploads
from network.positions.catalogue import (
    DRIVING_LICENCE,
    EXTRA_PROFESSIONS,
    LANGUAGE_PREFIX,
    LANGUAGES,
    professions,
)
from network.vocabulary import (
    APPLICATION_STATUSES,
    EMPLOYER_BENEFITS,
    POSITION_STATUSES,
    POSITION_TYPES,
)

__all__ = [
    "PER_PAGE",
    "RADIUS_CHOICES",
    "ANY_RADIUS_KM",
    "PROVIDER_APPLICATION_STATUSES",
    "PositionError",
    "SearchParams",
    "SearchResult",
    "SearchOutcome",
    "CandidateResult",
    "PositionData",
    "ProfileData",
    "today_local",
    "is_expired",
    "profile_of",
    "default_search_params",
    "search_positions",
    "position_match",
    "PositionPage",
    "position_page",
    "TraineeOverview",
    "trainee_overview",
    "municipalities",
    "member_organisations",
    "is_member",
    "managed_positions",
    "save_position",
    "set_position_status",
    "refresh_position_locations",
    "close_expired_positions",
    "ranked_candidates",
    "invite_candidate",
    "position_applications",
    "update_application",
    "apply_for_position",
    "withdraw_application",
    "can_view_application",
    "attachment_file",
    "applications_of",
    "invitations_of",
    "existing_application",
    "save_profile",
    "save_search",
    "delete_saved_search",
    "saved_searches_of",
    "mark_saved_search_seen",
    "matching_positions_for_saved_search",
    "export_user_data",
    "delete_trainee_account",
]

PER_PAGE = 20
RADIUS_CHOICES = (5, 10, 25, 50, 100)
#: Radius of a trainee's ranking when they search "anywhere": covers a whole region.
ANY_RADIUS_KM = 300.0
#: The statuses a provider sets; "withdrawn" is the trainee's.
PROVIDER_APPLICATION_STATUSES = ("received", "interview", "accepted", "rejected")
REGION_TIMEZONE = ZoneInfo("Europe/Berlin")


class PositionError(Exception):
    """An operation on positions or applications cannot be done; the message is for the user."""


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


def _absolute(endpoint: str, **values: Any) -> str:
    return current_app.config["BASE_URL"] + url_for(endpoint, **values)


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


def _paginate_list(items: list[Any], page: int, per_page: int) -> Pagination:
    return _ListPagination(page=page, per_page=per_page, error_out=False, items=items)


# --------------------------------------------------------------------------- search


def _codes(values: Iterable[Any], allowed: Iterable[str]) -> tuple[str, ...]:
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
            position_types=_codes(values("art"), POSITION_TYPES),
            professions=_codes(values("beruf"), professions()),
            ags=str(ags) if ags and str(ags).isdigit() and len(str(ags)) == 8 else None,
            radius_km=radius,
            start_from=start,
            benefits=_codes(values("angebot"), EMPLOYER_BENEFITS),
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
        position_types=_codes(profile.position_types, POSITION_TYPES),
        professions=_codes(profile.professions, professions()),
        ags=profile.home_ags,
        radius_km=profile.max_distance_km if profile.home_ags else None,
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


def _scoring_position(position: Position) -> scoring.Position:
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


def _scoring_candidate(
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
        candidate = _scoring_candidate(
            profile, point=(centre.lat, centre.lon), radius_km=radius, params=params
        )
        rows = db.session.scalars(_filtered_query(params, centre, today, extra_radius=radius)).all()
        by_id = {row.id: row for row in rows}
        table = scoring.score_all([candidate], [_scoring_position(row) for row in rows])
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
        pagination = _paginate_list(results, page, per_page)
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
    candidate = _scoring_candidate(
        profile, point=point, radius_km=profile.max_distance_km or ANY_RADIUS_KM
    )
    target = _scoring_position(position)
    match = scoring.score_pair(candidate, target)
    if match is not None:
        return SearchResult(position, match.distance_km, match.score, match.reasons)
    distance = float(haversine_km(point[0], point[1], position.latitude, position.longitude))
    return SearchResult(position, distance, None, scoring.explain(candidate, target))


@dataclass
class PositionPage:
    """What the detail page of a position shows to the current visitor."""

    is_open: bool
    is_member: bool
    is_trainee: bool
    match: SearchResult | None = None
    application: Application | None = None
    invited: bool = False
    application_count: int = 0


def position_page(position: Position, viewer: Any) -> PositionPage:
    """The detail page's data: open or not, the trainee's fit and application, the members' view."""
    member = is_member(viewer, position.organisation_id)
    trainee = bool(getattr(viewer, "is_authenticated", False) and viewer.role == "trainee")
    page = PositionPage(
        is_open=position.status == "open" and not is_expired(position),
        is_member=member,
        is_trainee=trainee,
    )
    if trainee:
        page.match = position_match(position, viewer)
        page.application = existing_application(position, viewer)
        page.invited = (
            db.session.scalar(
                sa.select(Invitation.id).where(
                    Invitation.position_id == position.id, Invitation.trainee_id == viewer.id
                )
            )
            is not None
        )
    if member:
        page.application_count = (
            db.session.scalar(
                sa.select(sa.func.count())
                .select_from(Application)
                .where(Application.position_id == position.id)
            )
            or 0
        )
    return page


# --------------------------------------------------------------------------- providers


def member_organisations(user: Any) -> list[Organisation]:
    """Organisations the user acts for (approved memberships), by name."""
    return list(
        db.session.scalars(
            sa.select(Organisation)
            .join(Membership, Membership.organisation_id == Organisation.id)
            .where(Membership.user_id == user.id, Membership.status == "approved")
            .order_by(Organisation.name)
        )
    )


def is_member(user: Any, organisation_id: int) -> bool:
    """Whether ``user`` is an approved member of the organisation."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return (
        db.session.scalar(
            sa.select(Membership.user_id).where(
                Membership.user_id == user.id,
                Membership.organisation_id == organisation_id,
                Membership.status == "approved",
            )
        )
        is not None
    )


@dataclass
class ManagedPosition:
    position: Position
    applications: int
    new_applications: int
    expired: bool


def managed_positions(user: Any) -> list[tuple[Organisation, list[ManagedPosition]]]:
    """The positions of every organisation the user acts for, with application counts."""
    organisations = member_organisations(user)
    if not organisations:
        return []
    ids = [o.id for o in organisations]
    rows = db.session.scalars(
        sa.select(Position)
        .where(Position.organisation_id.in_(ids))
        .order_by(
            Position.status != "open",
            Position.deadline.is_(None),
            Position.deadline,
            Position.title,
        )
    ).all()
    counts = dict(
        db.session.execute(
            sa.select(Application.position_id, sa.func.count())
            .join(Position, Position.id == Application.position_id)
            .where(Position.organisation_id.in_(ids))
            .group_by(Application.position_id)
        ).all()
    )
    fresh = dict(
        db.session.execute(
            sa.select(Application.position_id, sa.func.count())
            .join(Position, Position.id == Application.position_id)
            .where(Position.organisation_id.in_(ids), Application.status == "received")
            .group_by(Application.position_id)
        ).all()
    )
    today = today_local()
    grouped: dict[int, list[ManagedPosition]] = {o.id: [] for o in organisations}
    for row in rows:
        grouped[row.organisation_id].append(
            ManagedPosition(
                row, counts.get(row.id, 0), fresh.get(row.id, 0), is_expired(row, today)
            )
        )
    return [(o, grouped[o.id]) for o in organisations]


@dataclass
class PositionData:
    """What a provider enters for a position (codes already validated by the form)."""

    position_type: str
    profession: str
    title: str
    description: str = ""
    seats: int = 1
    start_date: date | None = None
    end_date: date | None = None
    hours_per_week: float | None = None
    driving_licence: bool = False
    languages: list[str] = field(default_factory=list)
    requirements_text: str = ""
    benefits: list[str] = field(default_factory=list)
    deadline: date | None = None
    status: str = "open"

    @classmethod
    def from_position(cls, position: Position) -> PositionData:
        requirements = set(position.requirements or ())
        return cls(
            position_type=position.position_type,
            profession=position.profession,
            title=position.title,
            description=position.description or "",
            seats=position.seats,
            start_date=position.start_date,
            end_date=position.end_date,
            hours_per_week=position.hours_per_week,
            driving_licence=DRIVING_LICENCE in requirements,
            languages=sorted(
                r[len(LANGUAGE_PREFIX) :] for r in requirements if r.startswith(LANGUAGE_PREFIX)
            ),
            requirements_text=position.requirements_text or "",
            benefits=list(position.benefits or ()),
            deadline=position.deadline,
            status=position.status,
        )


def save_position(
    data: PositionData, *, organisation: Organisation, position: Position | None = None
) -> Position:
    """Create (``position`` None) or update a position; place and AGS come from the organisation."""
    if data.position_type not in POSITION_TYPES or data.profession not in professions():
        raise PositionError(_("Bitte wählen Sie Art und Beruf aus den Listen."))
    if data.status not in POSITION_STATUSES:
        raise PositionError(_("Unbekannter Status."))
    creating = position is None
    if position is None:
        position = Position(organisation_id=organisation.id)
        db.session.add(position)
    requirements = [DRIVING_LICENCE] if data.driving_licence else []
    requirements += [LANGUAGE_PREFIX + code for code in data.languages if code in LANGUAGES]
    position.position_type = data.position_type
    position.profession = data.profession
    position.title = data.title.strip()
    position.description = data.description.strip()
    position.seats = data.seats
    position.start_date = data.start_date
    position.end_date = data.end_date
    position.hours_per_week = data.hours_per_week
    position.requirements = requirements
    position.requirements_text = data.requirements_text.strip()
    position.benefits = [b for b in data.benefits if b in EMPLOYER_BENEFITS]
    position.deadline = data.deadline
    position.status = data.status
    position.ags = organisation.ags
    position.latitude = organisation.latitude
    position.longitude = organisation.longitude
    db.session.flush()
    record(
        "position.created" if creating else "position.updated",
        "position",
        position.id,
        organisation_id=organisation.id,
        status=position.status,
    )
    db.session.commit()
    return position


def set_position_status(position: Position, status: str) -> Position:
    """Open, fill or close a position."""
    if status not in POSITION_STATUSES:
        raise PositionError(_("Unbekannter Status."))
    if status == "open" and is_expired(position):
        raise PositionError(
            _(
                "Die Bewerbungsfrist ist abgelaufen. Bitte verlängern Sie zuerst die Frist, dann können Sie die Stelle wieder öffnen."
            )
        )
    previous = position.status
    position.status = status
    record("position.status_changed", "position", position.id, previous=previous, status=status)
    db.session.commit()
    return position


def refresh_position_locations(organisation: Organisation) -> int:
    """Copy the organisation's place to its positions (call after the organisation moved)."""
    result = db.session.execute(
        sa.update(Position)
        .where(Position.organisation_id == organisation.id)
        .values(
            ags=organisation.ags, latitude=organisation.latitude, longitude=organisation.longitude
        )
    )
    db.session.commit()
    return result.rowcount or 0


def close_expired_positions(now: datetime | None = None) -> int:
    """Close every open position whose application deadline has passed; returns how many.

    Searches hide such positions already before this runs; closing them makes the status true
    for providers and statistics. Safe to run at any time and from several processes.
    """
    today = today_local(now)
    ids = db.session.scalars(
        sa.select(Position.id).where(
            Position.status == "open", Position.deadline.is_not(None), Position.deadline < today
        )
    ).all()
    if not ids:
        return 0
    closed = 0
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        result = db.session.execute(
            sa.update(Position)
            .where(Position.id.in_(chunk), Position.status == "open")
            .values(status="closed", updated_at=utcnow())
        )
        closed += result.rowcount or 0
        for position_id in chunk:
            record(
                "position.closed_expired",
                "position",
                position_id,
                actor_id=None,
                deadline_before=today.isoformat(),
            )
    db.session.commit()
    return closed


@dataclass
class CandidateResult:
    """A consenting candidate for a position, with score and reasons."""

    user: User
    profile: TraineeProfile
    score: float
    distance_km: float
    reasons: tuple[scoring.Reason, ...]
    invited: bool = False
    applied: bool = False

    @property
    def percent(self) -> int:
        return round(100 * self.score)

    @property
    def score_class(self) -> str:
        return (
            "score-high"
            if self.score >= 0.75
            else "score-mid"
            if self.score >= 0.5
            else "score-low"
        )

    def reason_items(self, language: str) -> list[tuple[str, str]]:
        return reason_items(self.reasons, language)


def ranked_candidates(position: Position, *, page: int = 1, per_page: int = PER_PAGE) -> Pagination:
    """Trainees who agreed to be seen by providers, best fit first, each within their own radius.

    Profiles without consent are never loaded, so they cannot leak into the page.
    """
    largest_radius = db.session.scalar(
        sa.select(sa.func.max(TraineeProfile.max_distance_km)).where(
            TraineeProfile.visible_to_providers.is_(True)
        )
    )
    if not largest_radius:
        return _paginate_list([], page, per_page)
    min_lat, max_lat, min_lon, max_lon = bounding_box(
        position.latitude, position.longitude, float(largest_radius)
    )
    point_in_box = sa.and_(
        TraineeProfile.latitude.between(min_lat, max_lat),
        TraineeProfile.longitude.between(min_lon, max_lon),
    )
    home_in_box = sa.and_(
        TraineeProfile.latitude.is_(None),
        Municipality.latitude.between(min_lat, max_lat),
        Municipality.longitude.between(min_lon, max_lon),
    )
    rows = db.session.execute(
        sa.select(TraineeProfile, User, Municipality)
        .join(User, User.id == TraineeProfile.user_id)
        .outerjoin(Municipality, Municipality.ags == TraineeProfile.home_ags)
        .where(
            TraineeProfile.visible_to_providers.is_(True),
            User.active.is_(True),
            User.role == "trainee",
            sa.or_(point_in_box, home_in_box),
        )
    ).all()
    candidates = []
    people: dict[int, tuple[User, TraineeProfile]] = {}
    for profile, user, place in rows:
        if profile.latitude is not None and profile.longitude is not None:
            point = (profile.latitude, profile.longitude)
        elif place is not None:
            point = (place.latitude, place.longitude)
        else:
            continue
        candidates.append(
            _scoring_candidate(profile, point=point, radius_km=profile.max_distance_km or 0.0)
        )
        people[profile.user_id] = (user, profile)
    matches = scoring.rank_candidates(_scoring_position(position), candidates)
    invited = set(
        db.session.scalars(
            sa.select(Invitation.trainee_id).where(Invitation.position_id == position.id)
        )
    )
    applied = set(
        db.session.scalars(
            sa.select(Application.trainee_id).where(
                Application.position_id == position.id, Application.trainee_id.is_not(None)
            )
        )
    )
    results = [
        CandidateResult(
            *people[m.candidate_id],
            score=m.score,
            distance_km=m.distance_km,
            reasons=m.reasons,
            invited=m.candidate_id in invited,
            applied=m.candidate_id in applied,
        )
        for m in matches
    ]
    return _paginate_list(results, page, per_page)


def invite_candidate(
    position: Position, trainee_id: int, message: str, *, inviter: User
) -> Invitation:
    """Invite a consenting trainee to apply; they get an e-mail through the outbox."""
    profile = db.session.get(TraineeProfile, trainee_id)
    if profile is None or not profile.visible_to_providers:
        raise PositionError(_("Diese Person ist nicht (mehr) für Anbieter sichtbar."))
    if position.status != "open" or is_expired(position):
        raise PositionError(_("Zu geschlossenen Stellen kann niemand eingeladen werden."))
    existing = db.session.scalar(
        sa.select(Invitation).where(
            Invitation.position_id == position.id, Invitation.trainee_id == trainee_id
        )
    )
    if existing is not None:
        raise PositionError(_("Diese Person ist zu dieser Stelle schon eingeladen."))
    trainee = profile.user
    invitation = Invitation(
        position_id=position.id,
        trainee_id=trainee_id,
        invited_by_id=inviter.id,
        message=message.strip(),
    )
    db.session.add(invitation)
    db.session.flush()
    with force_locale(trainee.language):
        subject = _("Einladung zur Bewerbung: %(title)s", title=position.title)
    queue_email(
        trainee.email,
        subject,
        "positions/invitation",
        language=trainee.language,
        key=f"positions:invitation:{invitation.id}",
        trainee=trainee,
        position=position,
        organisation=position.organisation,
        message=invitation.message,
        link=_absolute("positions.detail", position_id=position.id),
    )
    record("invitation.sent", "invitation", invitation.id, position_id=position.id)
    db.session.commit()
    return invitation


def position_applications(position: Position) -> list[Application]:
    """The applications for a position, newest first."""
    return list(
        db.session.scalars(
            sa.select(Application)
            .where(Application.position_id == position.id)
            .order_by(Application.created_at.desc(), Application.id.desc())
        )
    )


def update_application(application: Application, status: str, note: str) -> Application:
    """The provider answers: new status and a note; the applicant is told by e-mail."""
    if status not in PROVIDER_APPLICATION_STATUSES:
        raise PositionError(_("Bitte wählen Sie einen gültigen Status."))
    if application.status == "withdrawn":
        raise PositionError(_("Die Bewerbung wurde zurückgezogen."))
    if application.trainee_id is None and not application.applicant_email:
        raise PositionError(
            _(
                "Die Person hat ihr Konto gelöscht; die Bewerbung kann nicht mehr beantwortet werden."
            )
        )
    previous = application.status
    application.status = status
    application.provider_note = note.strip()
    application.updated_at = utcnow()
    trainee = application.trainee
    language = trainee.language if trainee is not None else "de"
    if application.applicant_email:
        with force_locale(language):
            subject = _(
                "Ihre Bewerbung „%(title)s“: %(status)s",
                title=application.position.title,
                status=APPLICATION_STATUSES[status].label(language),
            )
        queue_email(
            application.applicant_email,
            subject,
            "positions/application_status",
            language=language,
            application=application,
            position=application.position,
            organisation=application.position.organisation,
            status_label=APPLICATION_STATUSES[status].label(language),
            note=application.provider_note,
            link=_absolute("positions.application_detail", application_id=application.id),
        )
    record(
        "application.status_changed",
        "application",
        application.id,
        previous=previous,
        status=status,
    )
    db.session.commit()
    return application


def _members_to_notify(organisation: Organisation) -> list[tuple[str, str, str]]:
    """(e-mail, language, name) of the people acting for the organisation, else its contact."""
    members = db.session.scalars(
        sa.select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(
            Membership.organisation_id == organisation.id,
            Membership.status == "approved",
            User.active.is_(True),
        )
        .order_by(User.id)
    ).all()
    if members:
        return [(m.email, m.language, m.name) for m in members]
    if organisation.contact_email:
        return [(organisation.contact_email, "de", organisation.contact_name)]
    return []


# --------------------------------------------------------------------------- trainees


def existing_application(position: Position, user: Any) -> Application | None:
    """The trainee's current (not withdrawn) application for the position, if any."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return db.session.scalar(
        sa.select(Application).where(
            Application.position_id == position.id,
            Application.trainee_id == user.id,
            Application.status != "withdrawn",
        )
    )


def apply_for_position(
    position: Position,
    trainee: User,
    message: str,
    attachment: uploads.CheckedAttachment | None = None,
) -> Application:
    """Apply with a message and an optional checked attachment; both sides get an e-mail."""
    if position.status != "open" or is_expired(position):
        raise PositionError(_("Diese Stelle nimmt keine Bewerbungen mehr an."))
    if existing_application(position, trainee) is not None:
        raise PositionError(_("Sie haben sich auf diese Stelle schon beworben."))
    application = Application(
        position_id=position.id,
        trainee_id=trainee.id,
        applicant_name=trainee.name or "",
        applicant_email=trainee.email,
        message=message.strip(),
        status="received",
    )
    stored = None
    if attachment is not None:
        stored = uploads.store_attachment(current_app.config["UPLOAD_FOLDER"], attachment)
        application.attachment_name = attachment.original_name
        application.attachment_path = stored
    db.session.add(application)
    try:
        db.session.flush()
        organisation = position.organisation
        link = _absolute("positions.application_detail", application_id=application.id)
        for email, language, name in _members_to_notify(organisation):
            with force_locale(language):
                subject = _("Neue Bewerbung: %(title)s", title=position.title)
            queue_email(
                email,
                subject,
                "positions/application_received",
                language=language,
                key=f"positions:application:{application.id}:received:{email}",
                recipient_name=name,
                application=application,
                position=position,
                organisation=organisation,
                link=link,
            )
        with force_locale(trainee.language):
            subject = _("Ihre Bewerbung ist eingegangen: %(title)s", title=position.title)
        queue_email(
            trainee.email,
            subject,
            "positions/application_confirmation",
            language=trainee.language,
            key=f"positions:application:{application.id}:confirmation",
            trainee=trainee,
            application=application,
            position=position,
            organisation=organisation,
            link=link,
        )
        record(
            "application.submitted",
            "application",
            application.id,
            position_id=position.id,
            attachment=bool(stored),
        )
        db.session.commit()
    except Exception:
        db.session.rollback()
        if stored:
            uploads.remove_attachment(current_app.config["UPLOAD_FOLDER"], stored)
        raise
    return application


def withdraw_application(application: Application) -> Application:
    """The trainee withdraws; the organisation is told."""
    if application.status == "withdrawn":
        return application
    application.status = "withdrawn"
    application.updated_at = utcnow()
    position = application.position
    for email, language, name in _members_to_notify(position.organisation):
        with force_locale(language):
            subject = _("Bewerbung zurückgezogen: %(title)s", title=position.title)
        queue_email(
            email,
            subject,
            "positions/application_withdrawn",
            language=language,
            key=f"positions:application:{application.id}:withdrawn:{email}",
            recipient_name=name,
            application=application,
            position=position,
            link=_absolute("positions.application_detail", application_id=application.id),
        )
    record("application.withdrawn", "application", application.id)
    db.session.commit()
    return application


def can_view_application(user: Any, application: Application) -> bool:
    """Only the applicant and the members of the position's organisation see an application."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if application.trainee_id is not None and application.trainee_id == user.id:
        return True
    return is_member(user, application.position.organisation_id)


def attachment_file(application: Application) -> tuple[Any, str, str] | None:
    """(path, download name, MIME type) of the application's attachment, or ``None``."""
    path = uploads.attachment_path(current_app.config["UPLOAD_FOLDER"], application.attachment_path)
    if path is None:
        return None
    mimetype = uploads.ALLOWED_EXTENSIONS.get(path.suffix.lower(), "application/octet-stream")
    return path, application.attachment_name or path.name, mimetype


def applications_of(user: User) -> list[Application]:
    """The trainee's applications, newest first."""
    return list(
        db.session.scalars(
            sa.select(Application)
            .where(Application.trainee_id == user.id)
            .order_by(Application.created_at.desc(), Application.id.desc())
        )
    )


@dataclass
class TraineeOverview:
    applications: list[Application]
    invitations: list[Invitation]
    applied_positions: set[int]
    has_profile: bool


def trainee_overview(user: User) -> TraineeOverview:
    """The trainee's applications and invitations for their overview page."""
    applications = applications_of(user)
    return TraineeOverview(
        applications=applications,
        invitations=invitations_of(user),
        applied_positions={a.position_id for a in applications if a.status != "withdrawn"},
        has_profile=db.session.get(TraineeProfile, user.id) is not None,
    )


def invitations_of(user: User) -> list[Invitation]:
    """Invitations the trainee received, newest first."""
    return list(
        db.session.scalars(
            sa.select(Invitation)
            .where(Invitation.trainee_id == user.id)
            .order_by(Invitation.created_at.desc(), Invitation.id.desc())
        )
    )


@dataclass
class ProfileData:
    """What a trainee enters in their search profile (codes validated by the form)."""

    professions: list[str] = field(default_factory=list)
    position_types: list[str] = field(default_factory=list)
    home_ags: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    max_distance_km: float = 25.0
    earliest_start: date | None = None
    qualifications: str = ""
    languages: list[str] = field(default_factory=list)
    driving_licence: bool = False
    wanted_benefits: list[str] = field(default_factory=list)
    about: str = ""
    visible_to_providers: bool = False

    @classmethod
    def from_profile(cls, profile: TraineeProfile | None) -> ProfileData:
        if profile is None:
            return cls()
        return cls(
            professions=list(profile.professions or ()),
            position_types=list(profile.position_types or ()),
            home_ags=profile.home_ags,
            latitude=profile.latitude,
            longitude=profile.longitude,
            max_distance_km=profile.max_distance_km,
            earliest_start=profile.earliest_start,
            qualifications=profile.qualifications or "",
            languages=list(profile.languages or ()),
            driving_licence=profile.driving_licence,
            wanted_benefits=list(profile.wanted_benefits or ()),
            about=profile.about or "",
            visible_to_providers=profile.visible_to_providers,
        )


def save_profile(user: User, data: ProfileData) -> TraineeProfile:
    """Create or update the trainee's profile; consent is recorded with its time."""
    if not data.home_ags and (data.latitude is None or data.longitude is None):
        raise PositionError(_("Bitte wählen Sie Ihren Wohnort oder geben Sie einen Standort an."))
    profile = db.session.get(TraineeProfile, user.id)
    creating = profile is None
    if profile is None:
        profile = TraineeProfile(user_id=user.id)
        db.session.add(profile)
    was_visible = bool(profile.visible_to_providers) if not creating else False
    profile.professions = _codes(data.professions, professions())
    profile.position_types = _codes(data.position_types, POSITION_TYPES)
    profile.home_ags = data.home_ags or None
    profile.latitude = data.latitude
    profile.longitude = data.longitude
    profile.max_distance_km = float(data.max_distance_km)
    profile.earliest_start = data.earliest_start
    profile.qualifications = data.qualifications.strip()
    profile.languages = _codes(data.languages, LANGUAGES)
    profile.driving_licence = bool(data.driving_licence)
    profile.wanted_benefits = _codes(data.wanted_benefits, EMPLOYER_BENEFITS)
    profile.about = data.about.strip()
    profile.visible_to_providers = bool(data.visible_to_providers)
    profile.updated_at = utcnow()
    if data.visible_to_providers and not was_visible:
        profile.consent_at = utcnow()
        record("trainee_profile.consent_given", "trainee_profile", user.id, actor_id=user.id)
    elif was_visible and not data.visible_to_providers:
        profile.consent_at = None
        record("trainee_profile.consent_withdrawn", "trainee_profile", user.id, actor_id=user.id)
    record(
        "trainee_profile.created" if creating else "trainee_profile.updated",
        "trainee_profile",
        user.id,
        actor_id=user.id,
    )
    db.session.commit()
    return profile


def save_search(user: User, name: str, params: SearchParams) -> SavedSearch:
    """Keep a search under a name; it feeds the trainee's digest."""
    saved = SavedSearch(
        user_id=user.id, name=name.strip()[:120], params=params.to_query(), last_seen_at=utcnow()
    )
    db.session.add(saved)
    db.session.flush()
    record("saved_search.created", "saved_search", saved.id, actor_id=user.id)
    db.session.commit()
    return saved


def delete_saved_search(saved: SavedSearch) -> None:
    """Forget a saved search."""
    record("saved_search.deleted", "saved_search", saved.id)
    db.session.delete(saved)
    db.session.commit()


@dataclass
class SavedSearchSummary:
    search: SavedSearch
    new_count: int
    place: str | None


def saved_searches_of(user: User) -> list[SavedSearchSummary]:
    """The trainee's saved searches with the number of matching positions new since last seen."""
    searches = db.session.scalars(
        sa.select(SavedSearch)
        .where(SavedSearch.user_id == user.id)
        .order_by(SavedSearch.created_at, SavedSearch.id)
    ).all()
    summaries = []
    for saved in searches:
        ags = (saved.params or {}).get("ort")
        place = db.session.get(Municipality, ags) if isinstance(ags, str) else None
        new = matching_positions_for_saved_search(saved, since=saved.last_seen_at)
        summaries.append(SavedSearchSummary(saved, len(new), place.name if place else None))
    return summaries


def mark_saved_search_seen(saved: SavedSearch) -> SearchParams:
    """Note that the trainee looked at the results now; returns the search's filters."""
    saved.last_seen_at = utcnow()
    db.session.commit()
    return SearchParams.from_query(saved.params or {})


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


# --------------------------------------------------------------------------- personal data


def _user_references() -> list[tuple[sa.Table, sa.Column, str | None]]:
    """Every (table, column) pointing at an account, with its ON DELETE rule."""
    user_table = User.__table__
    found = []
    for table in db.metadata.sorted_tables:
        for key in table.foreign_keys:
            if key.column.table is user_table:
                found.append((table, key.parent, (key.ondelete or "").upper() or None))
    return found


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _row_dict(row: Any, exclude: Iterable[str] = ()) -> dict[str, Any]:
    mapping = row._mapping if hasattr(row, "_mapping") else row
    return {k: _plain(v) for k, v in dict(mapping).items() if k not in set(exclude)}


def _select_rows(table: sa.Table, clause: sa.ColumnElement[bool]) -> list[dict[str, Any]]:
    primary = list(table.primary_key.columns)
    return [
        _row_dict(r)
        for r in db.session.execute(sa.select(table).where(clause).order_by(*primary)).mappings()
    ]


def export_user_data(user: User) -> dict[str, Any]:
    """Everything stored about the account, as JSON-ready data (the right to data portability).

    Besides the sections below, every other table that refers to the account is included under
    ``other_records``, so nothing stored about the person is left out.
    """
    uid = user.id
    account = _row_dict(
        db.session.execute(sa.select(User.__table__).where(User.id == uid)).mappings().one(),
        exclude={"password_hash"},
    )
    # A table may refer to the account through several columns (invited / invited by): one
    # entry per row, keyed by its primary key.
    by_table: dict[str, dict[tuple, dict[str, Any]]] = {}
    for table, column, _rule in _user_references():
        if table is User.__table__:
            continue
        keys = [c.name for c in table.primary_key.columns]
        for row in _select_rows(table, column == uid):
            by_table.setdefault(table.name, {})[tuple(row[k] for k in keys)] = row
    sections = {name: list(rows.values()) for name, rows in by_table.items()}

    applications = sections.pop(Application.__tablename__, [])
    by_id = {
        a.id: a
        for a in db.session.scalars(sa.select(Application).where(Application.trainee_id == uid))
    }
    folder = current_app.config["UPLOAD_FOLDER"]
    for item in applications:
        application = by_id.get(item["id"])
        if application is None:
            continue
        item["position_title"] = application.position.title
        item["organisation_name"] = application.position.organisation.name
        path = uploads.attachment_path(folder, application.attachment_path)
        if path is not None:
            item["attachment_content_base64"] = base64.b64encode(path.read_bytes()).decode("ascii")
    invitations = sections.pop(Invitation.__tablename__, [])
    invitation_rows = {
        i.id: i
        for i in db.session.scalars(sa.select(Invitation).where(Invitation.trainee_id == uid))
    }
    for item in invitations:
        invitation = invitation_rows.get(item["id"])
        if invitation is not None:
            item["position_title"] = invitation.position.title
            item["organisation_name"] = invitation.position.organisation.name
    saved_searches = sections.pop(SavedSearch.__tablename__, [])
    profiles = sections.pop(TraineeProfile.__tablename__, [])

    own_objects = [
        sa.and_(
            AuditLog.object_type.in_(("user", "trainee_profile")), AuditLog.object_id == str(uid)
        ),
        AuditLog.actor_id == uid,
    ]
    for object_type, ids in (
        ("application", [a["id"] for a in applications]),
        ("invitation", [i["id"] for i in invitations]),
        ("saved_search", [s["id"] for s in saved_searches]),
    ):
        if ids:
            own_objects.append(
                sa.and_(
                    AuditLog.object_type == object_type,
                    AuditLog.object_id.in_([str(i) for i in ids]),
                )
            )
    sections.pop(AuditLog.__tablename__, None)
    audit = _select_rows(AuditLog.__table__, sa.or_(*own_objects))
    emails = _select_rows(OutboxMessage.__table__, OutboxMessage.recipient == user.email)

    rounds = {
        name: sections.pop(name, [])
        for name in ("round_trainee", "trainee_ranking", "placement_ranking", "round_assignment")
    }
    record("account.exported", "user", uid, actor_id=uid)
    db.session.commit()
    return {
        "format": "gesundheitsregion-muensterland/personal-data-export/1",
        "exported_at": utcnow().isoformat(),
        "account": account,
        "trainee_profile": profiles[0] if profiles else None,
        "saved_searches": saved_searches,
        "applications": applications,
        "invitations": invitations,
        "allocation_rounds": rounds,
        "audit_log": audit,
        "emails": emails,
        "other_records": sections,
    }


def delete_trainee_account(user: User) -> dict[str, int]:
    """Delete the person and their personal data; returns what was done (counts only).

    Applications stay for the providers' statistics, with ``trainee_id`` NULL, the personal
    fields blanked and the attachment deleted from disk. Every other row that refers to the
    account is deleted (profile, saved searches, invitations, round data, digests …) or, where
    it records someone else's action, loses the reference. E-mails to the address leave the
    outbox. The audit entry names no personal data.
    """
    uid = user.id
    email = user.email
    role = user.role
    folder = current_app.config["UPLOAD_FOLDER"]
    applications = db.session.scalars(
        sa.select(Application).where(Application.trainee_id == uid)
    ).all()
    files_removed = 0
    for application in applications:
        if application.attachment_path and uploads.remove_attachment(
            folder, application.attachment_path
        ):
            files_removed += 1
        application.trainee_id = None
        application.applicant_name = ""
        application.applicant_email = ""
        application.message = ""
        application.provider_note = ""
        application.attachment_name = ""
        application.attachment_path = ""
    db.session.flush()
    counts = {"applications_anonymised": len(applications), "attachments_deleted": files_removed}
    deleted = 0
    for table, column, rule in _user_references():
        if table is User.__table__:
            continue
        if rule == "CASCADE":
            result = db.session.execute(sa.delete(table).where(column == uid))
            deleted += result.rowcount or 0
        else:
            db.session.execute(sa.update(table).where(column == uid).values({column.name: None}))
    counts["rows_deleted"] = deleted
    result = db.session.execute(sa.delete(OutboxMessage).where(OutboxMessage.recipient == email))
    counts["emails_deleted"] = result.rowcount or 0
    db.session.expunge(user)
    db.session.execute(sa.delete(User.__table__).where(User.__table__.c.id == uid))
    # Not through record(): that would name the deleted account as the actor.
    db.session.add(
        AuditLog(
            actor_id=None,
            action="account.deleted",
            object_type="user",
            object_id=str(uid),
            details={"role": role, **counts},
        )
    )
    db.session.commit()
    return counts
