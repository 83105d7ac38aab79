"""Positions, trainee profiles, searches, invitations and applications: the only writers here.

Views call one function of this module. Searching and the adapter to the pure
``network.matching.scoring`` live in :mod:`network.positions.search`, export and erasure of a
trainee's data in :mod:`network.positions.privacy`; both are re-exported here, so callers (views,
the digest, the scheduler) need only this module. Writers load rows, persist, audit and queue
mail through the outbox in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from flask import current_app, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_sqlalchemy.pagination import Pagination

from network.audit import record
from network.extensions import db
from network.mail import queue_email
from network.matching import scoring
from network.matching.geo import bounding_box
from network.models import (
    Application,
    Invitation,
    Membership,
    Municipality,
    Organisation,
    Position,
    SavedSearch,
    TraineeProfile,
    User,
)
from network.models.base import utcnow
from network.positions import uploads
from network.positions.catalogue import DRIVING_LICENCE, LANGUAGE_PREFIX, LANGUAGES, professions
from network.positions.privacy import delete_trainee_account, export_user_data
from network.positions.search import (
    ANY_RADIUS_KM,
    PER_PAGE,
    RADIUS_CHOICES,
    SearchOutcome,
    SearchParams,
    SearchResult,
    count_for_saved_search,
    default_search_params,
    is_expired,
    known_codes,
    matching_positions_for_saved_search,
    municipalities,
    paginate_list,
    position_match,
    profile_of,
    reason_items,
    scoring_candidate,
    scoring_position,
    search_positions,
    today_local,
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


#: The statuses a provider sets; "withdrawn" is the trainee's.
PROVIDER_APPLICATION_STATUSES = ("received", "interview", "accepted", "rejected")


class PositionError(Exception):
    """An operation on positions or applications cannot be done; the message is for the user."""


def _absolute(endpoint: str, **values: Any) -> str:
    return current_app.config["BASE_URL"] + url_for(endpoint, **values)


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
        return paginate_list([], page, per_page)
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
            scoring_candidate(profile, point=point, radius_km=profile.max_distance_km or 0.0)
        )
        people[profile.user_id] = (user, profile)
    matches = scoring.rank_candidates(scoring_position(position), candidates)
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
    return paginate_list(results, page, per_page)


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
    profile.professions = known_codes(data.professions, professions())
    profile.position_types = known_codes(data.position_types, POSITION_TYPES)
    profile.home_ags = data.home_ags or None
    profile.latitude = data.latitude
    profile.longitude = data.longitude
    profile.max_distance_km = float(data.max_distance_km)
    profile.earliest_start = data.earliest_start
    profile.qualifications = data.qualifications.strip()
    profile.languages = known_codes(data.languages, LANGUAGES)
    profile.driving_licence = bool(data.driving_licence)
    profile.wanted_benefits = known_codes(data.wanted_benefits, EMPLOYER_BENEFITS)
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
        new = count_for_saved_search(saved, since=saved.last_seen_at)
        summaries.append(SavedSearchSummary(saved, new, place.name if place else None))
    return summaries


def mark_saved_search_seen(saved: SavedSearch) -> SearchParams:
    """Note that the trainee looked at the results now; returns the search's filters."""
    saved.last_seen_at = utcnow()
    db.session.commit()
    return SearchParams.from_query(saved.params or {})
