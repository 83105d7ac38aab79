"""Digest e-mails, the outbox overview, announcements and unsubscribing: the only writers here.

A digest run (:func:`run_digests`) finds who is due, loads candidate facts in chunks, lets the
pure :func:`network.digest.content.build_digest` decide each person's content, and writes the
message to the outbox together with its :class:`DigestDelivery` row and the new
``last_digest_at`` — one transaction per chunk. The delivery row is unique per
``(user, period)`` and the outbox key is ``digest:<user>:<period>``, so however often a run is
started, crashed or repeated, nobody gets a period's digest twice. Then the outbox is delivered
(:mod:`network.mail.outbox`), which is crash-safe on its own.
"""

from __future__ import annotations

import hmac
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import current_app
from flask_babel import gettext
from itsdangerous import BadSignature, SignatureExpired, TimestampSigner
from sqlalchemy.exc import IntegrityError
from werkzeug.routing import BuildError

from network.audit import record
from network.auth.tokens import TokenError, TokenExpired, TokenInvalid
from network.digest import content as digest_content
from network.digest.content import (
    AnnouncementFact,
    ApplicationFact,
    CollaborationFact,
    Digest,
    DigestFacts,
    NetworkFigures,
    OrganisationFact,
    OwnOrganisation,
    PositionFact,
    Recipient,
    SuggestionFact,
)
from network.digest.periods import FREQUENCIES, next_scheduled_moment, period_key, scheduled_moment
from network.digest.presenter import MailRenderer, PresentedSection
from network.extensions import db
from network.mail.outbox import DeliveryReport, deliver_all, mail_context, queue_many
from network.models import (
    Announcement,
    Application,
    AuditLog,
    Collaboration,
    DigestDelivery,
    Job,
    Membership,
    Municipality,
    Organisation,
    OrganisationTag,
    OutboxMessage,
    Position,
    SavedSearch,
    Suggestion,
    User,
)
from network.models.base import utcnow

__all__ = [
    "DIGEST_CATEGORY",
    "LOCAL_TZ",
    "DigestRunReport",
    "DigestPreview",
    "DigestError",
    "TokenError",
    "TokenExpired",
    "run_digests",
    "preview_digest",
    "due_user_ids",
    "digest_settings_summary",
    "update_settings",
    "unsubscribe_token",
    "user_for_unsubscribe_token",
    "unsubscribe",
    "outbox_overview",
    "retry_message",
    "start_digest_run",
    "digest_job",
    "recent_digest_jobs",
    "post_announcement",
    "recent_announcements",
    "find_users",
]

log = logging.getLogger(__name__)

DIGEST_CATEGORY = "digest"
LOCAL_TZ = ZoneInfo("Europe/Berlin")
#: The first digest looks back this far; a long pause never produces a digest older than MAX.
FIRST_DIGEST_DAYS = 7
MAX_WINDOW_DAYS = 35
UNSUBSCRIBE_PURPOSE = "digest-unsubscribe"
DEFAULT_UNSUBSCRIBE_MAX_AGE = 90 * 24 * 3600
CHUNK_SIZE = 250
#: A run's report lists at most this many recipients (for ``digest send --dry-run``).
MAX_LISTED_RECIPIENTS = 1000
COORDINATOR_ROLES = ("coordinator", "admin")

Progress = Callable[[str, int, int], None]


class DigestError(Exception):
    """A digest operation cannot be done; the message is shown to the user."""


# --------------------------------------------------------------------------- links


class _Links:
    """Absolute links from ``BASE_URL``, built without a request; unknown endpoints fall back.

    Other areas provide most targets; while one is missing, the link goes to the start page.
    """

    def __init__(self) -> None:
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        #: Digest templates per language; a run renders with one renderer (phrases cached).
        self.renderer = MailRenderer(app)
        base = urlsplit(app.config.get("BASE_URL") or "http://localhost")
        self._adapter = app.url_map.bind(
            base.netloc or "localhost",
            script_name=base.path or "/",
            url_scheme=base.scheme or "http",
        )
        self._views = app.view_functions
        self._cache: dict[tuple[Any, ...], str] = {}

    def url(self, endpoint: str, fallback: str = "main.dashboard", **values: Any) -> str:
        key = (endpoint, fallback, tuple(sorted(values.items())))
        if key not in self._cache:
            self._cache[key] = self.build(endpoint, fallback, values)
        return self._cache[key]

    def build(self, endpoint: str, fallback: str, values: dict[str, Any]) -> str:
        """A link that is not cached (one of a kind, such as an unsubscribe link)."""
        for name, args in ((endpoint, values), (fallback, {})):
            if name in self._views:
                try:
                    return self._adapter.build(name, args, force_external=True)
                except BuildError:
                    continue
        return self._adapter.build("main.index", {}, force_external=True)

    def sections(self) -> dict[str, str]:
        return {
            "suggestions": self.url("suggestions.queue"),
            "organisations": self.url("directory.index"),
            "collaborations": self.url("network_view.dashboard"),
            "figures": self.url("network_view.dashboard"),
            "introductions": self.url("suggestions.mine"),
            "applications": self.url("positions.manage"),
            "nearby": self.url("directory.index"),
            "positions": self.url("positions.saved_searches"),
            "application_updates": self.url("positions.my_applications"),
            "announcements": self.url("digest.events"),
        }


# --------------------------------------------------------------------------- who is due


def local_now(now: datetime | None = None) -> datetime:
    return (now or utcnow()).astimezone(LOCAL_TZ)


def _digest_hour() -> int:
    return int(current_app.config.get("DIGEST_HOUR", 7))


def _current_keys(now: datetime) -> dict[str, str]:
    local = local_now(now)
    return {
        frequency: period_key(frequency, local) for frequency in FREQUENCIES if frequency != "off"
    }


def _not_delivered(key: str) -> sa.ColumnElement[bool]:
    return ~sa.exists().where(DigestDelivery.user_id == User.id, DigestDelivery.period_key == key)


def _due_condition(now: datetime) -> sa.ColumnElement[bool]:
    """Users whose digest moment of the current period has passed and who have none yet.

    Accounts younger than that moment wait for the next period, so a new account does not get
    a digest the hour it registers.
    """
    local = local_now(now)
    hour = _digest_hour()
    keys = _current_keys(now)
    conditions = []
    daily = scheduled_moment("daily", 0, local, hour)
    if daily <= local:
        conditions.append(
            sa.and_(
                User.digest_frequency == "daily",
                User.created_at <= daily,
                _not_delivered(keys["daily"]),
            )
        )
    weekly = [
        sa.and_(User.digest_weekday == weekday, User.created_at <= moment)
        for weekday in range(7)
        if (moment := scheduled_moment("weekly", weekday, local, hour)) <= local
    ]
    if weekly:
        conditions.append(
            sa.and_(
                User.digest_frequency == "weekly", sa.or_(*weekly), _not_delivered(keys["weekly"])
            )
        )
    monthly = scheduled_moment("monthly", 0, local, hour)
    if monthly <= local:
        conditions.append(
            sa.and_(
                User.digest_frequency == "monthly",
                User.created_at <= monthly,
                _not_delivered(keys["monthly"]),
            )
        )
    return sa.or_(*conditions) if conditions else sa.false()


def _eligible() -> sa.ColumnElement[bool]:
    return sa.and_(User.active.is_(True), User.email_confirmed_at.is_not(None))


def due_user_ids(now: datetime | None = None) -> list[int]:
    """Ids of everyone whose digest is due at ``now``, in id order."""
    now = now or utcnow()
    return list(
        db.session.scalars(
            sa.select(User.id).where(_eligible(), _due_condition(now)).order_by(User.id)
        )
    )


def _window(user: User, until: datetime) -> datetime:
    floor = until - timedelta(days=MAX_WINDOW_DAYS)
    since = user.last_digest_at or until - timedelta(days=FIRST_DIGEST_DAYS)
    return max(since, floor)


# --------------------------------------------------------------------------- facts


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class _FactLoader:
    """Loads candidate facts once per run (shared) and per chunk of recipients (personal)."""

    def __init__(self, until: datetime, floor: datetime, links: _Links) -> None:
        self.until = until
        self.floor = floor
        self.links = links
        self.section_links = links.sections()
        self._figures: dict[
            tuple[datetime, datetime], tuple[NetworkFigures, NetworkFigures, NetworkFigures]
        ] = {}
        self._warned: set[str] = set()
        self.announcements = self._announcements()
        self.organisations = self._organisations()
        self.collaborations = self._collaborations()
        self.open_suggestions, self.open_suggestion_count = self._open_suggestions()
        self.accepted_suggestions = self._accepted_suggestions()

    # shared facts ---------------------------------------------------------

    def _announcements(self) -> list[AnnouncementFact]:
        rows = db.session.execute(
            sa.select(Announcement).where(
                Announcement.created_at > self.floor, Announcement.created_at <= self.until
            )
        ).scalars()
        url = self.links.url("digest.events")
        return [
            AnnouncementFact(
                id=a.id,
                title=a.title,
                created_at=a.created_at,
                body=a.body,
                event_date=a.event_date,
                location=a.location,
                url=f"{url}#termin-{a.id}",
            )
            for a in rows
        ]

    def _organisations(self) -> list[OrganisationFact]:
        rows = db.session.execute(
            sa.select(
                Organisation.id,
                Organisation.name,
                Organisation.kind,
                Organisation.created_at,
                Organisation.visibility,
                Organisation.latitude,
                Organisation.longitude,
                Municipality.name.label("municipality"),
            )
            .join(Municipality, Municipality.ags == Organisation.ags)
            .where(Organisation.created_at > self.floor, Organisation.created_at <= self.until)
        ).all()
        offers: dict[int, set[str]] = defaultdict(set)
        for ids in _chunks([r.id for r in rows], 500):
            for org_id, tag in db.session.execute(
                sa.select(OrganisationTag.organisation_id, OrganisationTag.tag).where(
                    OrganisationTag.organisation_id.in_(ids), OrganisationTag.direction == "offer"
                )
            ):
                offers[org_id].add(tag)
        return [
            OrganisationFact(
                id=r.id,
                name=r.name,
                kind=r.kind,
                created_at=r.created_at,
                municipality=r.municipality,
                latitude=r.latitude,
                longitude=r.longitude,
                visibility=r.visibility,
                offers=frozenset(offers.get(r.id, ())),
                url=self.links.url("directory.profile", "directory.index", org_id=r.id),
            )
            for r in rows
        ]

    def _collaborations(self) -> list[CollaborationFact]:
        a, b = so.aliased(Organisation), so.aliased(Organisation)
        rows = db.session.execute(
            sa.select(
                Collaboration.id,
                Collaboration.kind,
                Collaboration.active_since,
                a.name.label("a_name"),
                b.name.label("b_name"),
                a.ags.label("a_ags"),
                b.ags.label("b_ags"),
                a.visibility.label("a_visibility"),
                b.visibility.label("b_visibility"),
            )
            .join(a, a.id == Collaboration.org_a_id)
            .join(b, b.id == Collaboration.org_b_id)
            .where(
                Collaboration.active_since > self.floor,
                Collaboration.active_since <= self.until,
                Collaboration.status == "active",
            )
        ).all()
        url = self.section_links["collaborations"]
        return [
            CollaborationFact(
                id=r.id,
                org_a_name=r.a_name,
                org_b_name=r.b_name,
                kind=r.kind,
                created_at=r.active_since,
                cross_municipal=r.a_ags != r.b_ags,
                org_a_visibility=r.a_visibility,
                org_b_visibility=r.b_visibility,
                url=url,
            )
            for r in rows
        ]

    def _suggestion_rows(self, *conditions: sa.ColumnElement[bool]) -> list[SuggestionFact]:
        a, b = so.aliased(Organisation), so.aliased(Organisation)
        rows = db.session.execute(
            sa.select(
                Suggestion.id,
                Suggestion.org_a_id,
                Suggestion.org_b_id,
                Suggestion.status,
                Suggestion.score,
                Suggestion.computed_at,
                Suggestion.reviewed_at,
                Suggestion.cross_municipal,
                Suggestion.reasons,
                a.name.label("a_name"),
                b.name.label("b_name"),
            )
            .join(a, a.id == Suggestion.org_a_id)
            .join(b, b.id == Suggestion.org_b_id)
            .where(*conditions)
        ).all()
        return [
            SuggestionFact(
                id=r.id,
                org_a_id=r.org_a_id,
                org_a_name=r.a_name,
                org_b_id=r.org_b_id,
                org_b_name=r.b_name,
                status=r.status,
                score=r.score or 0.0,
                computed_at=r.computed_at,
                reviewed_at=r.reviewed_at,
                cross_municipal=bool(r.cross_municipal),
                reasons=tuple(
                    str(reason) for reason in (r.reasons or [])[:3] if isinstance(reason, str)
                ),
            )
            for r in rows
        ]

    def _open_suggestions(self) -> tuple[list[SuggestionFact], int]:
        total = db.session.scalar(
            sa.select(sa.func.count()).select_from(Suggestion).where(Suggestion.status == "open")
        )
        new = self._suggestion_rows(
            Suggestion.status == "open",
            Suggestion.computed_at > self.floor,
            Suggestion.computed_at <= self.until,
        )
        return new, total or 0

    def _accepted_suggestions(self) -> list[SuggestionFact]:
        return self._suggestion_rows(
            Suggestion.status == "accepted",
            Suggestion.reviewed_at > self.floor,
            Suggestion.reviewed_at <= self.until,
        )

    def figures(self, since: datetime) -> tuple[NetworkFigures, NetworkFigures, NetworkFigures]:
        """Network figures at ``until``, at ``since`` and one period earlier (cached per window)."""
        key = (since.replace(second=0, microsecond=0), self.until)
        if key not in self._figures:
            previous = since - (self.until - since)
            self._figures[key] = (
                _figures_at(self.until),
                _figures_at(since),
                _figures_at(previous),
            )
        return self._figures[key]

    # personal facts -------------------------------------------------------

    def memberships(self, user_ids: Sequence[int]) -> dict[int, tuple[OwnOrganisation, ...]]:
        if not user_ids:
            return {}
        rows = db.session.execute(
            sa.select(
                Membership.user_id,
                Organisation.id,
                Organisation.name,
                Organisation.latitude,
                Organisation.longitude,
            )
            .join(Organisation, Organisation.id == Membership.organisation_id)
            .where(Membership.user_id.in_(user_ids), Membership.status == "approved")
        ).all()
        needs: dict[int, set[str]] = defaultdict(set)
        org_ids = sorted({r.id for r in rows})
        for ids in _chunks(org_ids, 500):
            for org_id, tag in db.session.execute(
                sa.select(OrganisationTag.organisation_id, OrganisationTag.tag).where(
                    OrganisationTag.organisation_id.in_(ids), OrganisationTag.direction == "need"
                )
            ):
                needs[org_id].add(tag)
        result: dict[int, list[OwnOrganisation]] = defaultdict(list)
        for r in rows:
            result[r.user_id].append(
                OwnOrganisation(
                    r.id, r.name, r.latitude, r.longitude, frozenset(needs.get(r.id, ()))
                )
            )
        return {user_id: tuple(orgs) for user_id, orgs in result.items()}

    def applications_to(
        self, organisation_ids: Iterable[int], since: datetime
    ) -> dict[int, list[ApplicationFact]]:
        """New applications to the organisations' positions, by organisation."""
        found: dict[int, list[ApplicationFact]] = defaultdict(list)
        for ids in _chunks(sorted(set(organisation_ids)), 500):
            rows = db.session.execute(
                sa.select(
                    Application.id,
                    Application.status,
                    Application.created_at,
                    Application.updated_at,
                    Application.trainee_id,
                    Application.applicant_name,
                    Position.title,
                    Position.organisation_id,
                    Organisation.name.label("organisation_name"),
                )
                .join(Position, Position.id == Application.position_id)
                .join(Organisation, Organisation.id == Position.organisation_id)
                .where(
                    Position.organisation_id.in_(ids),
                    Application.created_at > since,
                    Application.created_at <= self.until,
                )
            ).all()
            for r in rows:
                found[r.organisation_id].append(self._application(r))
        return found

    def applications_of(
        self, trainee_ids: Sequence[int], since: datetime
    ) -> dict[int, list[ApplicationFact]]:
        """Status changes of the trainees' own applications (from the audit log, else ``updated_at``)."""
        if not trainee_ids:
            return {}
        found: dict[int, list[ApplicationFact]] = defaultdict(list)
        rows = db.session.execute(
            sa.select(
                Application.id,
                Application.status,
                Application.created_at,
                Application.updated_at,
                Application.trainee_id,
                Application.applicant_name,
                Position.title,
                Position.organisation_id,
                Organisation.name.label("organisation_name"),
            )
            .join(Position, Position.id == Application.position_id)
            .join(Organisation, Organisation.id == Position.organisation_id)
            .where(Application.trainee_id.in_(trainee_ids), Application.updated_at > since)
        ).all()
        # The positions area logs every status change; an application with such entries is
        # judged by them alone (a later edit of the provider's note is no news), others by
        # ``updated_at``. The newest change up to ``until`` counts.
        logged: set[str] = set()
        changes: dict[str, tuple[datetime, str]] = {}
        for ids in _chunks([str(r.id) for r in rows], 500):
            for entry in db.session.execute(
                sa.select(AuditLog.object_id, AuditLog.created_at, AuditLog.details)
                .where(
                    AuditLog.action == "application.status_changed",
                    AuditLog.object_type == "application",
                    AuditLog.object_id.in_(ids),
                    AuditLog.created_at <= self.until,
                )
                .order_by(AuditLog.created_at)
            ):
                logged.add(entry.object_id)
                if entry.created_at > since:
                    changes[entry.object_id] = (
                        entry.created_at,
                        (entry.details or {}).get("status", ""),
                    )
        for r in rows:
            fact = self._application(r, trainee_view=True)
            change = changes.get(str(r.id))
            if change is not None:
                fact = ApplicationFact(
                    **{**_fields(fact), "updated_at": change[0], "status": change[1] or r.status}
                )
            elif str(r.id) in logged or r.updated_at <= r.created_at + timedelta(seconds=1):
                continue  # no status change in the window, or never changed after it was sent
            found[r.trainee_id].append(fact)
        return found

    def _application(self, r: Any, trainee_view: bool = False) -> ApplicationFact:
        return ApplicationFact(
            id=r.id,
            position_title=r.title,
            organisation_id=r.organisation_id,
            organisation_name=r.organisation_name,
            status=r.status,
            created_at=r.created_at,
            updated_at=r.updated_at,
            trainee_id=r.trainee_id,
            applicant_name="" if trainee_view else r.applicant_name,
            url=self.links.url(
                "positions.application_detail", "positions.my_applications", application_id=r.id
            ),
        )

    def positions_for(
        self, trainee_ids: Sequence[int], since_by_user: dict[int, datetime]
    ) -> dict[int, list[PositionFact]]:
        """New positions for the trainees' saved searches (the positions area does the matching)."""
        if not trainee_ids:
            return {}
        searches = db.session.scalars(
            sa.select(SavedSearch)
            .where(SavedSearch.user_id.in_(trainee_ids))
            .order_by(SavedSearch.id)
        ).all()
        if not searches:
            return {}
        try:
            from network.positions.services import matching_positions_for_saved_search
        except ImportError:
            self._warn_once(
                "positions",
                "saved-search matching is not available yet; trainees' digests omit new positions",
            )
            return {}
        found: dict[int, list[PositionFact]] = defaultdict(list)
        for search in searches:
            try:
                positions = matching_positions_for_saved_search(
                    search, since_by_user[search.user_id]
                )
            except Exception:  # noqa: BLE001 - one broken search must not stop everyone's digest
                log.exception("saved search %s could not be run for the digest", search.id)
                continue
            for position in positions:
                found[search.user_id].append(self._position(position, search.name))
        return found

    def _position(self, position: Any, search_name: str) -> PositionFact:
        get = (
            position.get
            if isinstance(position, dict)
            else lambda name, default=None: getattr(position, name, default)
        )
        organisation = get("organisation")
        municipality = (
            getattr(getattr(organisation, "municipality", None), "name", "") if organisation else ""
        )
        return PositionFact(
            id=get("id"),
            title=get("title", ""),
            organisation_name=getattr(organisation, "name", "")
            if organisation
            else get("organisation_name", ""),
            created_at=get("created_at"),
            position_type=get("position_type", ""),
            profession=get("profession", ""),
            municipality=municipality or get("municipality", ""),
            search_name=search_name,
            url=self.links.url("positions.detail", "positions.search", position_id=get("id")),
        )

    def _warn_once(self, key: str, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            log.warning(message)


def _fields(fact: Any) -> dict[str, Any]:
    return {name: getattr(fact, name) for name in fact.__dataclass_fields__}


def _figures_at(moment: datetime) -> NetworkFigures:
    organisations = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Organisation)
        .where(Organisation.created_at <= moment)
    )
    a, b = so.aliased(Organisation), so.aliased(Organisation)
    active = sa.and_(
        # Declined or withdrawn proposals end too, but were never active.
        Collaboration.active_since <= moment,
        sa.or_(Collaboration.ended_on.is_(None), Collaboration.ended_on > moment.date()),
    )
    row = db.session.execute(
        sa.select(sa.func.count(), sa.func.sum(sa.case((a.ags != b.ags, 1), else_=0)))
        .select_from(Collaboration)
        .join(a, a.id == Collaboration.org_a_id)
        .join(b, b.id == Collaboration.org_b_id)
        .where(active)
    ).one()
    return NetworkFigures(
        organisations=organisations or 0,
        collaborations=row[0] or 0,
        cross_municipal=int(row[1] or 0),
    )


# --------------------------------------------------------------------------- composing one digest


@dataclass
class _Prepared:
    user: User
    key: str
    digest: Digest
    since: datetime


def _recipient(user: User, organisations: tuple[OwnOrganisation, ...]) -> Recipient:
    return Recipient(
        user_id=user.id,
        role=user.role,
        language=user.language if user.language in ("de", "en") else "de",
        name=user.name or user.email,
        logged_in=bool(user.active and user.email_confirmed_at is not None),
        organisations=organisations if user.role in ("provider", "coordinator", "admin") else (),
    )


def _prepare(
    users: Sequence[User],
    loader: _FactLoader,
    keys: dict[str, str],
    *,
    forced_key: str | None = None,
) -> list[_Prepared]:
    """Build the digests of a chunk of users (no writes)."""
    until = loader.until
    since_by_user = {u.id: _window(u, until) for u in users}
    chunk_floor = min(since_by_user.values()) if since_by_user else until
    providers = [u.id for u in users if u.role in ("provider", "coordinator", "admin")]
    trainees = [u.id for u in users if u.role == "trainee"]
    memberships = loader.memberships(providers)
    applications_by_org = loader.applications_to(
        [org.id for orgs in memberships.values() for org in orgs], chunk_floor
    )
    applications_by_trainee = loader.applications_of(trainees, chunk_floor)
    positions_by_trainee = loader.positions_for(trainees, since_by_user)
    prepared = []
    for user in users:
        own = memberships.get(user.id, ())
        recipient = _recipient(user, own)
        since = since_by_user[user.id]
        if user.role == "trainee":
            applications = applications_by_trainee.get(user.id, [])
        else:
            applications = [a for org in own for a in applications_by_org.get(org.id, [])]
        facts = DigestFacts(
            announcements=loader.announcements,
            organisations=loader.organisations,
            collaborations=loader.collaborations,
            open_suggestions=loader.open_suggestions,
            open_suggestion_count=loader.open_suggestion_count,
            accepted_suggestions=loader.accepted_suggestions,
            applications=applications,
            positions=positions_by_trainee.get(user.id, []),
            figures=loader.figures(since) if user.role in COORDINATOR_ROLES else None,
            links=loader.section_links,
        )
        digest = digest_content.build_digest(recipient, facts, since, until)
        key = forced_key or keys.get(user.digest_frequency) or keys["weekly"]
        prepared.append(_Prepared(user=user, key=key, digest=digest, since=since))
    return prepared


def _unsubscribe_signer() -> TimestampSigner:
    # Salted for this one purpose: a confirmation or reset token never unsubscribes anyone.
    return TimestampSigner(current_app.config["SECRET_KEY"], salt=f"network.{UNSUBSCRIBE_PURPOSE}")


def unsubscribe_token(user: User) -> str:
    """A signed, timed token ``<user id>.<security stamp>.<time>.<signature>`` for one-click
    unsubscribing; a password change (a new stamp) retires it.

    A plain signed string rather than a serialised dict: the serialiser compresses every
    payload, which costs more than the rest of a digest's links together.
    """
    return _unsubscribe_signer().sign(f"{user.id}.{user.security_stamp}").decode("ascii")


def _unsubscribe_max_age() -> int:
    return int(
        current_app.config.get("DIGEST_UNSUBSCRIBE_MAX_AGE_SECONDS") or DEFAULT_UNSUBSCRIBE_MAX_AGE
    )


def _mail_headers(user: User, unsubscribe_url: str) -> dict[str, str]:
    sender = current_app.config.get("MAIL_UNSUBSCRIBE_ADDRESS") or current_app.config.get(
        "MAIL_DEFAULT_SENDER", ""
    )
    address = sender.rsplit("<", 1)[-1].rstrip(">").strip() if "<" in sender else sender.strip()
    mailto = f"mailto:{address}?subject={quote(f'unsubscribe {user.id}')}"
    return {
        # RFC 8058: mail clients POST "List-Unsubscribe=One-Click" to the https URL, no login.
        "List-Unsubscribe": f"<{unsubscribe_url}>, <{mailto}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "List-Id": f"Zusammenfassung <digest.{_domain()}>",
        "Auto-Submitted": "auto-generated",
    }


def _domain() -> str:
    base = urlsplit(current_app.config.get("BASE_URL") or "http://localhost")
    return (base.hostname or "localhost").strip(".") or "localhost"


@dataclass
class _Rendered:
    subject: str
    text: str
    html: str
    headers: dict[str, str]


def _render(prepared: _Prepared, links: _Links) -> _Rendered:
    user, digest = prepared.user, prepared.digest
    presenter = links.renderer.presenter(digest.recipient.language)
    unsubscribe_url = links.build(
        "digest.unsubscribe", "main.index", {"token": unsubscribe_token(user)}
    )
    text, html = links.renderer.render(
        digest,
        name=user.name or user.email,
        platform_url=links.url("main.dashboard"),
        settings_url=links.url("digest.settings"),
        unsubscribe_url=unsubscribe_url,
    )
    subject = presenter.subject(digest.item_count)
    return _Rendered(
        subject=subject, text=text, html=html, headers=_mail_headers(user, unsubscribe_url)
    )


# --------------------------------------------------------------------------- a run


@dataclass
class DigestRunReport:
    """The summary of a digest run: how many were due, sent, empty, failed."""

    period: str = ""
    dry_run: bool = False
    due: int = 0
    queued: int = 0
    empty: int = 0
    already: int = 0
    skipped: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    seconds: float = 0.0
    #: All mail this run delivered (digests and anything else that was due).
    mail_delivered: int = 0
    recipients: list[tuple[str, int]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        data = {k: v for k, v in self.__dict__.items() if k != "recipients"}
        data["seconds"] = round(self.seconds, 2)
        return data

    def __str__(self) -> str:
        if self.dry_run:
            return (
                f"Probelauf: {self.due} fällig, {self.queued} würden gesendet, "
                f"{self.empty} wären leer, {self.skipped} übersprungen ({self.seconds:.1f} s)"
            )
        return (
            f"Zusammenfassungen: {self.due} fällig, {self.sent} gesendet, {self.empty} leer (nicht gesendet), "
            f"{self.retrying} fehlgeschlagen und zur Wiederholung vorgemerkt, {self.failed} endgültig "
            f"fehlgeschlagen, {self.already} schon erledigt ({self.seconds:.1f} s)"
        )


def _persist_chunk(
    prepared: list[_Prepared], links: _Links, until: datetime, report: DigestRunReport
) -> list[int]:
    """Queue a chunk's digests with their delivery rows and ``last_digest_at``, one transaction.

    Returns the outbox ids. If another run got to some of these users first (unique
    violation), the chunk is redone user by user and those users are skipped.
    """
    existing = _already_delivered(prepared)
    todo = [p for p in prepared if (p.user.id, p.key) not in existing]
    report.already += len(prepared) - len(todo)
    if not todo:
        return []
    rendered = {p.user.id: _render(p, links) for p in todo if not p.digest.is_empty}
    try:
        outbox_ids = _write(todo, rendered, until, report)
        db.session.commit()
        return outbox_ids
    except IntegrityError:
        db.session.rollback()
    outbox_ids = []
    for one in todo:
        attempt = DigestRunReport()
        try:
            outbox_ids += _write([one], rendered, until, attempt)
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            report.already += 1
            continue
        report.queued += attempt.queued
        report.empty += attempt.empty
    return outbox_ids


def _already_delivered(prepared: list[_Prepared]) -> set[tuple[int, str]]:
    pairs = {(p.user.id, p.key) for p in prepared}
    rows = db.session.execute(
        sa.select(DigestDelivery.user_id, DigestDelivery.period_key).where(
            DigestDelivery.user_id.in_([p[0] for p in pairs]),
            DigestDelivery.period_key.in_(sorted({p[1] for p in pairs})),
        )
    ).all()
    return {(r.user_id, r.period_key) for r in rows} & pairs


def _write(
    todo: list[_Prepared], rendered: dict[int, _Rendered], until: datetime, report: DigestRunReport
) -> list[int]:
    """Insert the chunk's messages, delivery rows and ``last_digest_at`` (bulk statements)."""
    sending = [item for item in todo if item.user.id in rendered]
    outbox_ids = queue_many(
        [
            {
                "recipient": item.user.email,
                "subject": rendered[item.user.id].subject,
                "text_body": rendered[item.user.id].text,
                "html_body": rendered[item.user.id].html,
                "headers": rendered[item.user.id].headers,
                "key": f"digest:{item.user.id}:{item.key}",
            }
            for item in sending
        ],
        category=DIGEST_CATEGORY,
    )
    by_user = {item.user.id: outbox_id for item, outbox_id in zip(sending, outbox_ids, strict=True)}
    deliveries = []
    for item in todo:
        outbox_id = by_user.get(item.user.id)
        deliveries.append(
            {
                "user_id": item.user.id,
                "period_key": item.key,
                "outcome": "queued" if outbox_id else "empty",
                "item_count": item.digest.item_count if outbox_id else 0,
                "outbox_id": outbox_id,
                "created_at": until,
            }
        )
        if outbox_id is None:
            report.empty += 1
            continue
        report.queued += 1
        if len(report.recipients) < MAX_LISTED_RECIPIENTS:
            report.recipients.append((item.user.email, item.digest.item_count))
    db.session.execute(sa.insert(DigestDelivery), deliveries)
    db.session.execute(
        sa.update(User)
        .where(User.id.in_([item.user.id for item in todo]))
        .values(last_digest_at=until)
        .execution_options(synchronize_session=False)
    )
    return outbox_ids


def _count_outcomes(outbox_ids: list[int], report: DigestRunReport) -> None:
    counts: dict[str, int] = defaultdict(int)
    for ids in _chunks(outbox_ids, 500):
        for status, count in db.session.execute(
            sa.select(OutboxMessage.status, sa.func.count())
            .where(OutboxMessage.id.in_(ids))
            .group_by(OutboxMessage.status)
        ):
            counts[status] += count
    db.session.rollback()
    report.sent = counts.get("sent", 0)
    report.retrying = counts.get("pending", 0)
    report.failed = counts.get("failed", 0)


def _build_all(
    ids: list[int],
    now: datetime,
    keys: dict[str, str],
    links: _Links,
    report: DigestRunReport,
    *,
    dry_run: bool,
    progress: Progress | None,
    chunk_size: int,
    after_chunk: Callable[[], None] | None = None,
) -> list[int]:
    """Build, render and (unless ``dry_run``) queue the digests of ``ids``, chunk by chunk;
    ``after_chunk()`` runs after each committed chunk (the run delivers it there)."""
    outbox_ids: list[int] = []
    if not ids:
        return outbox_ids
    loader = _FactLoader(now, now - timedelta(days=MAX_WINDOW_DAYS), links)
    done = 0
    for chunk_ids in _chunks(ids, chunk_size):
        users = db.session.scalars(
            sa.select(User).where(User.id.in_(chunk_ids)).order_by(User.id)
        ).all()
        prepared = _prepare(users, loader, keys)
        if dry_run:
            for item in prepared:
                if item.digest.is_empty:
                    report.empty += 1
                    continue
                _render(item, links)
                report.queued += 1
                if len(report.recipients) < MAX_LISTED_RECIPIENTS:
                    report.recipients.append((item.user.email, item.digest.item_count))
            db.session.rollback()
        else:
            outbox_ids += _persist_chunk(prepared, links, now, report)
        del users, prepared  # the session's identity map is weak: the chunk can be freed
        done += len(chunk_ids)
        if progress:
            progress("Zusammenstellen", done, len(ids))
        if after_chunk is not None:
            after_chunk()
    return outbox_ids


def run_digests(
    now: datetime | None = None,
    *,
    user_email: str | None = None,
    dry_run: bool = False,
    deliver: bool = True,
    progress: Progress | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> DigestRunReport:
    """Build, queue and deliver every digest due at ``now`` (or only ``user_email``'s).

    With ``user_email`` the person's digest of the current period is made even if its moment
    has not come yet (but never twice). ``dry_run`` builds and renders without writing or
    sending anything. ``progress(step, done, total)`` is called after every chunk ("Zusammenstellen")
    and while the outbox is delivered ("Versenden"); delivery starts with the first chunk.
    """
    started = time.perf_counter()
    now = now or utcnow()
    keys = _current_keys(now)
    report = DigestRunReport(period=keys["daily"], dry_run=dry_run)
    with mail_context():
        links = _Links()
        if user_email:
            user = db.session.scalar(
                sa.select(User).where(User.email == user_email.strip().lower())
            )
            if user is None:
                raise DigestError(gettext("Kein Konto mit dieser E-Mail-Adresse."))
            if user.digest_frequency not in keys or not (user.active and user.is_confirmed):
                report.skipped = 1
                report.seconds = time.perf_counter() - started
                return report
            ids = [user.id]
        else:
            ids = due_user_ids(now)
        report.due = len(ids)
        db.session.rollback()
        delivery = DeliveryReport()
        server_down = False

        def deliver_chunk() -> None:
            # Each chunk goes out right after it is committed: mail starts early, the outbox
            # stays short, and the mail server works while the next chunk is built.
            nonlocal server_down
            if server_down:
                return
            batch = deliver_all()
            delivery.merge(batch)
            server_down = bool(batch.claimed and not batch.sent)
            if progress and ids:
                # Measured against everyone due, so the bar ends only with the run.
                done = delivery.sent + delivery.retried + delivery.failed + report.empty
                progress("Versenden", min(done, len(ids) - 1), len(ids))

        sending = deliver and not dry_run
        outbox_ids = _build_all(
            ids,
            now,
            keys,
            links,
            report,
            dry_run=dry_run,
            progress=progress,
            chunk_size=chunk_size,
            after_chunk=deliver_chunk if sending else None,
        )
        if sending:
            server_down = False
            deliver_chunk()  # what is still due, e.g. after an outage during the run
            if progress and ids:
                progress("Versenden", len(ids), len(ids))
            report.mail_delivered = delivery.sent
            _count_outcomes(outbox_ids, report)
        db.session.rollback()
    report.seconds = time.perf_counter() - started
    return report


# --------------------------------------------------------------------------- preview


@dataclass
class DigestPreview:
    user: User
    digest: Digest
    sections: list[PresentedSection]
    period_key: str
    subject: str
    text: str
    html: str
    headers: dict[str, str]
    already_sent: bool
    next_moment: datetime | None


def preview_digest(user: User, now: datetime | None = None) -> DigestPreview:
    """The digest ``user`` would get next, rendered exactly as mailed; nothing is written."""
    now = now or utcnow()
    keys = _current_keys(now)
    with mail_context():
        links = _Links()
        loader = _FactLoader(now, now - timedelta(days=MAX_WINDOW_DAYS), links)
        frequency = user.digest_frequency if user.digest_frequency in keys else "weekly"
        [prepared] = _prepare([user], loader, keys, forced_key=keys[frequency])
        rendered = _render(prepared, links)
        sections = links.renderer.presenter(prepared.digest.recipient.language).sections(
            prepared.digest
        )
    summary = digest_settings_summary(user, now)
    db.session.rollback()
    return DigestPreview(
        user=user,
        digest=prepared.digest,
        sections=sections,
        period_key=prepared.key,
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        headers=rendered.headers,
        already_sent=summary["sent_this_period"],
        next_moment=summary["next_moment"],
    )


def find_users(query: str, limit: int = 20) -> list[User]:
    """Accounts whose e-mail or name contains ``query`` (for the coordinators' preview)."""
    query = (query or "").strip().lower()
    if len(query) < 2:
        return []
    pattern = f"%{query.replace('%', '').replace('_', '')}%"
    return list(
        db.session.scalars(
            sa.select(User)
            .where(
                sa.or_(
                    sa.func.lower(User.email).like(pattern), sa.func.lower(User.name).like(pattern)
                )
            )
            .order_by(User.email)
            .limit(limit)
        )
    )


# --------------------------------------------------------------------------- settings


def digest_settings_summary(user: User, now: datetime | None = None) -> dict[str, Any]:
    """When the user's next digest is due and when the last one went out."""
    now = now or utcnow()
    local = local_now(now)
    frequency = user.digest_frequency
    sent = False
    if frequency in ("daily", "weekly", "monthly"):
        sent = (
            db.session.scalar(
                sa.select(sa.func.count())
                .select_from(DigestDelivery)
                .where(
                    DigestDelivery.user_id == user.id,
                    DigestDelivery.period_key == period_key(frequency, local),
                )
            )
            or 0
        ) > 0
    moment = next_scheduled_moment(frequency, user.digest_weekday, local, _digest_hour(), sent)
    return {"next_moment": moment, "sent_this_period": sent, "last_digest_at": user.last_digest_at}


def update_settings(user: User, frequency: str, weekday: int, language: str) -> User:
    """Store the digest frequency, weekday and language."""
    if frequency not in FREQUENCIES:
        raise DigestError(
            gettext("Bitte wählen Sie, wie oft Sie die Zusammenfassung erhalten möchten.")
        )
    if weekday not in range(7):
        raise DigestError(gettext("Bitte wählen Sie einen Wochentag."))
    if language not in current_app.config["LANGUAGES"]:
        raise DigestError(gettext("Bitte wählen Sie eine Sprache."))
    previous = {
        "frequency": user.digest_frequency,
        "weekday": user.digest_weekday,
        "language": user.language,
    }
    user.digest_frequency = frequency
    user.digest_weekday = weekday
    user.language = language
    record(
        "digest.settings_changed",
        "user",
        user.id,
        actor_id=user.id,
        previous=previous,
        frequency=frequency,
        weekday=weekday,
        language=language,
    )
    db.session.commit()
    return user


def user_for_unsubscribe_token(token: str) -> User:
    """The account of an unsubscribe link; :class:`TokenExpired` / :class:`TokenError` otherwise."""
    try:
        value = _unsubscribe_signer().unsign(token, max_age=_unsubscribe_max_age()).decode("ascii")
    except SignatureExpired as err:
        raise TokenExpired(str(err)) from err
    except (BadSignature, UnicodeDecodeError) as err:
        raise TokenInvalid(str(err)) from err
    user_id, _sep, stamp = value.partition(".")
    user = db.session.get(User, int(user_id)) if user_id.isdigit() else None
    if user is None or not hmac.compare_digest(str(user.security_stamp), stamp):
        raise TokenInvalid("no such account or a newer security stamp")
    return user


def unsubscribe(token: str) -> User:
    """Turn the digest off for the account in ``token`` (no log-in needed: the token is the proof)."""
    user = user_for_unsubscribe_token(token)
    if user.digest_frequency != "off":
        previous = user.digest_frequency
        user.digest_frequency = "off"
        record("digest.unsubscribed", "user", user.id, actor_id=user.id, previous=previous)
        db.session.commit()
    return user


# --------------------------------------------------------------------------- outbox overview


OUTBOX_STATUSES = ("pending", "failed", "sent")


def outbox_overview(
    status: str = "failed", page: int = 1, per_page: int = 25, job_id: int | None = None
) -> dict[str, Any]:
    """Counts by status and category, one page of messages (never their bodies) and the digest
    run ``job_id`` (else the latest one)."""
    counts = {s: 0 for s in OUTBOX_STATUSES}
    by_category: dict[str, dict[str, int]] = defaultdict(lambda: {s: 0 for s in OUTBOX_STATUSES})
    for category, state, count in db.session.execute(
        sa.select(OutboxMessage.category, OutboxMessage.status, sa.func.count()).group_by(
            OutboxMessage.category, OutboxMessage.status
        )
    ):
        counts[state] = counts.get(state, 0) + count
        by_category[category][state] = count
    status = status if status in OUTBOX_STATUSES else "failed"
    order = OutboxMessage.sent_at.desc() if status == "sent" else OutboxMessage.next_attempt_at
    messages = db.paginate(
        sa.select(OutboxMessage)
        .where(OutboxMessage.status == status)
        .order_by(order, OutboxMessage.id.desc()),
        page=page,
        per_page=per_page,
        error_out=False,
    )
    job = db.session.get(Job, job_id) if job_id else None
    if job is None or job.kind != "digest":
        job = next(iter(recent_digest_jobs(1)), None)
    return {
        "counts": counts,
        "by_category": dict(sorted(by_category.items())),
        "status": status,
        "messages": messages,
        "job": job,
    }


def retry_message(message_id: int, actor: User) -> OutboxMessage:
    """Put a failed message back into the queue, with a fresh count of attempts."""
    message = db.session.get(OutboxMessage, message_id)
    if message is None:
        raise DigestError(gettext("Diese Nachricht gibt es nicht mehr."))
    if message.status != "failed":
        raise DigestError(gettext("Nur fehlgeschlagene Nachrichten können erneut versucht werden."))
    message.status = "pending"
    message.attempts = 0
    message.next_attempt_at = utcnow()
    message.claimed_until = None
    record(
        "outbox.retry",
        "outbox_message",
        message.id,
        actor_id=actor.id,
        previous_error=message.last_error[:300],
    )
    db.session.commit()
    return message


# --------------------------------------------------------------------------- runs from the browser


def start_digest_run(actor: User) -> Job:
    """Start a digest run in a background thread; its progress is the returned :class:`Job`."""
    running = db.session.scalar(
        sa.select(Job)
        .where(Job.kind == "digest", Job.status.in_(("queued", "running")))
        .order_by(Job.id.desc())
    )
    if running is not None and running.created_at > utcnow() - timedelta(hours=1):
        return running
    job = Job(
        kind="digest", status="queued", created_by_id=actor.id, message="Wartet auf den Start"
    )
    db.session.add(job)
    db.session.flush()
    record("digest.run_started", "job", job.id, actor_id=actor.id)
    db.session.commit()
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    threading.Thread(
        target=_run_job, args=(app, job.id), name=f"digest-run-{job.id}", daemon=True
    ).start()
    return job


def _run_job(app: Any, job_id: int) -> None:
    with app.app_context():
        try:
            _update_job(job_id, status="running", message="Zusammenstellen")
            last = [0.0]

            def progress(step: str, done: int, total: int) -> None:
                if done < total and time.monotonic() - last[0] < 0.3:
                    return
                last[0] = time.monotonic()
                _update_job(job_id, message=step, progress_current=done, progress_total=total)

            report = run_digests(progress=progress)
            _update_job(
                job_id,
                status="done",
                message=str(report),
                result=report.as_dict(),
                finished_at=utcnow(),
                progress_current=1,
                progress_total=1,
            )
        except Exception as err:  # noqa: BLE001 - the job row tells the coordinator
            log.exception("digest run %s failed", job_id)
            db.session.rollback()
            _update_job(
                job_id,
                status="failed",
                message=f"{type(err).__name__}: {err}"[:500],
                finished_at=utcnow(),
            )
        finally:
            db.session.remove()


def _update_job(job_id: int, **values: Any) -> None:
    db.session.execute(
        sa.update(Job)
        .where(Job.id == job_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


def digest_job(job_id: int) -> Job:
    job = db.session.get(Job, job_id)
    if job is None or job.kind != "digest":
        raise DigestError(gettext("Diesen Lauf gibt es nicht."))
    return job


def recent_digest_jobs(limit: int = 5) -> list[Job]:
    return list(
        db.session.scalars(
            sa.select(Job).where(Job.kind == "digest").order_by(Job.id.desc()).limit(limit)
        )
    )


# --------------------------------------------------------------------------- announcements


def post_announcement(
    actor: User, title: str, body: str, event_date: date | None, location: str
) -> Announcement:
    """Publish an announcement; it goes into everyone's next digest."""
    announcement = Announcement(
        title=title.strip(),
        body=(body or "").strip(),
        event_date=event_date,
        location=(location or "").strip(),
        created_by_id=actor.id,
    )
    db.session.add(announcement)
    db.session.flush()
    record(
        "announcement.posted",
        "announcement",
        announcement.id,
        actor_id=actor.id,
        title=announcement.title,
    )
    db.session.commit()
    return announcement


def recent_announcements(limit: int = 50, upcoming_only: bool = False) -> list[Announcement]:
    """Newest first; ``upcoming_only`` keeps events from today on and news of the last 60 days."""
    stmt = (
        sa.select(Announcement)
        .order_by(Announcement.created_at.desc(), Announcement.id.desc())
        .limit(limit)
    )
    if upcoming_only:
        today = local_now().date()
        stmt = stmt.where(
            sa.or_(
                Announcement.event_date >= today,
                sa.and_(
                    Announcement.event_date.is_(None),
                    Announcement.created_at >= utcnow() - timedelta(days=60),
                ),
            )
        )
    return list(db.session.scalars(stmt))
