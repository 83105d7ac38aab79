"""Collaborations as data: record, confirm or decline, end; every step audit-logged.

Life of a collaboration (one row per pair and kind, ``org_a_id < org_b_id``):

- **recorded** by a member of one organisation: that side is confirmed, status ``proposed``;
  the members of the other organisation (or, if it has none, the coordinators) get an e-mail.
  Recorded by a coordinator, or by someone who is a member of both: confirmed for both,
  status ``active`` at once.
- **confirmed** by a member of the other side (or a coordinator): both sides confirmed, status
  ``active``. **Declined** instead: status ``ended`` with ``ended_on``, never having been
  active (``confirmed_a and confirmed_b`` stays false, which is how the history tells a declined
  or withdrawn proposal from an ended collaboration).
- **ended** by either side or a coordinator: status ``ended`` and ``ended_on``; the row stays.

State changes are compare-and-set updates (``WHERE status = <what the actor saw>``), so two
people deciding at the same moment cannot both win. The coordinators' dashboard lives in
:mod:`network.network_view.dashboard`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa
from flask import current_app, url_for
from flask_babel import force_locale
from flask_babel import gettext as _

from network.audit import record
from network.directory.search import SearchParams, search_organisations
from network.extensions import db
from network.mail.outbox import queue_email
from network.models import AuditLog, Membership, Organisation, User
from network.models import Collaboration as CollaborationRow
from network.models.base import utcnow
from network.vocabulary import COLLABORATION_KINDS

__all__ = [
    "CollaborationError",
    "CollaborationEntry",
    "CollaborationsPage",
    "can_act_for",
    "sides_of",
    "collaborations_page",
    "search_partners",
    "record_collaboration",
    "confirm_collaboration",
    "decline_collaboration",
    "end_collaboration",
]

OPEN_STATUSES = ("proposed", "active")
NOTE_MAX_LENGTH = 2000


class CollaborationError(Exception):
    """A step that cannot be taken; the message is for the user (German or English by locale).

    ``field`` names the form field the message belongs to, if any.
    """

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


# --------------------------------------------------------------------------- access


def _is_coordinator(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and user.has_role("coordinator")


def _member_ids(user: Any, organisation_ids: tuple[int, ...]) -> set[int]:
    if not getattr(user, "is_authenticated", False):
        return set()
    return set(
        db.session.scalars(
            sa.select(Membership.organisation_id).where(
                Membership.user_id == user.id,
                Membership.status == "approved",
                Membership.organisation_id.in_(organisation_ids),
            )
        )
    )


def can_act_for(user: Any, org: Organisation) -> bool:
    """Approved members of ``org``, coordinators and admins."""
    return _is_coordinator(user) or bool(_member_ids(user, (org.id,)))


def sides_of(user: Any, collaboration: CollaborationRow) -> set[str]:
    """The sides (``"a"``, ``"b"``) ``user`` may act for: a coordinator acts for both."""
    if _is_coordinator(user):
        return {"a", "b"}
    members = _member_ids(user, (collaboration.org_a_id, collaboration.org_b_id))
    sides = set()
    if collaboration.org_a_id in members:
        sides.add("a")
    if collaboration.org_b_id in members:
        sides.add("b")
    return sides


def _side(collaboration: CollaborationRow, org_id: int) -> str:
    return "a" if collaboration.org_a_id == org_id else "b"


def _confirmed(collaboration: CollaborationRow, side: str) -> bool:
    return collaboration.confirmed_a if side == "a" else collaboration.confirmed_b


# --------------------------------------------------------------------------- page


@dataclass
class Event:
    when: Any
    actor: str
    action: str
    details: dict[str, Any]


@dataclass
class CollaborationEntry:
    """One collaboration as seen from ``org``: the partner, whose confirmation is missing, what
    the viewer may do, and the audit history."""

    row: CollaborationRow
    partner: Organisation
    ours_confirmed: bool
    theirs_confirmed: bool
    may_confirm: bool
    may_end: bool
    events: list[Event] = field(default_factory=list)

    @property
    def was_active(self) -> bool:
        return self.row.confirmed_a and self.row.confirmed_b


@dataclass
class CollaborationsPage:
    organisation: Organisation
    awaiting_us: list[CollaborationEntry]
    awaiting_partner: list[CollaborationEntry]
    active: list[CollaborationEntry]
    history: list[CollaborationEntry]
    partner_results: list[Organisation]
    is_coordinator: bool


def _events(collaboration_ids: list[int]) -> dict[int, list[Event]]:
    if not collaboration_ids:
        return {}
    events: dict[int, list[Event]] = {}
    rows = db.session.scalars(
        sa.select(AuditLog)
        .where(
            AuditLog.object_type == "collaboration",
            AuditLog.object_id.in_([str(i) for i in collaboration_ids]),
        )
        .order_by(AuditLog.created_at, AuditLog.id)
    )
    for row in rows:
        actor = (row.actor.name or row.actor.email) if row.actor else _("System")
        events.setdefault(int(row.object_id), []).append(
            Event(row.created_at, actor, row.action, dict(row.details or {}))
        )
    return events


def collaborations_page(
    org: Organisation, viewer: Any, partner_query: str = "", selected_partner_id: int | None = None
) -> CollaborationsPage:
    """Everything the collaborations page of ``org`` shows to ``viewer`` (a member or a
    coordinator): open requests, active collaborations, history with audit trail, and the
    organisations found for ``partner_query`` (plus the one already selected)."""
    rows = db.session.scalars(
        sa.select(CollaborationRow)
        .where(sa.or_(CollaborationRow.org_a_id == org.id, CollaborationRow.org_b_id == org.id))
        .order_by(CollaborationRow.created_at.desc(), CollaborationRow.id.desc())
    ).all()
    events = _events([r.id for r in rows])
    coordinator = _is_coordinator(viewer)
    page = CollaborationsPage(org, [], [], [], [], [], coordinator)
    for row in rows:
        ours = _side(row, org.id)
        theirs = "b" if ours == "a" else "a"
        sides = sides_of(viewer, row)
        entry = CollaborationEntry(
            row=row,
            partner=row.other(org.id),
            ours_confirmed=_confirmed(row, ours),
            theirs_confirmed=_confirmed(row, theirs),
            may_confirm=row.status == "proposed" and any(not _confirmed(row, s) for s in sides),
            may_end=row.status in OPEN_STATUSES and bool(sides),
            events=events.get(row.id, []),
        )
        if row.status == "active":
            page.active.append(entry)
        elif row.status == "proposed":
            (page.awaiting_partner if entry.ours_confirmed else page.awaiting_us).append(entry)
        else:
            page.history.append(entry)
    page.active.sort(key=lambda e: (e.partner.name.casefold(), e.row.kind))
    page.partner_results = search_partners(org, partner_query)
    if selected_partner_id and all(o.id != selected_partner_id for o in page.partner_results):
        selected = db.session.get(Organisation, selected_partner_id)
        if selected is not None and selected.id != org.id:
            page.partner_results.insert(0, selected)
    return page


def search_partners(org: Organisation, query: str, limit: int = 10) -> list[Organisation]:
    """Organisations whose name matches ``query`` (the directory's search), ``org`` excluded."""
    query = (query or "").strip()[:200]
    if not query:
        return []
    result = search_organisations(
        SearchParams(q=query, per_page=min(100, limit + 1)), include_members_only=True
    )
    return [hit.organisation for hit in result.items if hit.organisation.id != org.id][:limit]


# --------------------------------------------------------------------------- mail


def _people_of(org_id: int, exclude_user_id: int | None = None) -> list[User]:
    """Approved, active members of the organisation; without any, the coordinators."""
    members = list(
        db.session.scalars(
            sa.select(User)
            .join(Membership, Membership.user_id == User.id)
            .where(
                Membership.organisation_id == org_id,
                Membership.status == "approved",
                User.active.is_(True),
            )
            .order_by(User.id)
        )
    )
    if not members:
        members = list(
            db.session.scalars(
                sa.select(User)
                .where(User.role == "coordinator", User.active.is_(True))
                .order_by(User.id)
            )
        )
    return [u for u in members if u.id != exclude_user_id]


def _link(org_id: int) -> str:
    return current_app.config["BASE_URL"] + url_for(
        "network_view.collaborations_for", org_id=org_id
    )


def _mail(
    people: list[User],
    template: str,
    subject: Callable[[str, str], str],
    collaboration: CollaborationRow,
    *,
    link_org: Organisation,
    **context: Any,
) -> None:
    """Queue ``template`` to each person in their language; ``subject(a, b)`` is called under
    that language with the two organisations' names."""
    link = _link(link_org.id)
    for person in people:
        with force_locale(person.language):
            text = subject(collaboration.org_a.name, collaboration.org_b.name)
        queue_email(
            person.email,
            text,
            f"network_view/{template}",
            language=person.language,
            category="network_view",
            person=person,
            collaboration=collaboration,
            organisation=link_org,
            link=link,
            **context,
        )


# --------------------------------------------------------------------------- steps


def _check_kind(kind: str) -> None:
    if kind not in COLLABORATION_KINDS:
        raise CollaborationError(_("Bitte wählen Sie eine Art der Kooperation."), "kind")


def record_collaboration(
    org: Organisation,
    partner_id: int | None,
    kind: str,
    since: date | None,
    note: str,
    actor: User,
) -> CollaborationRow:
    """Record a collaboration of ``org`` with the partner, on behalf of ``actor``.

    ``actor`` must be a member of ``org`` or a coordinator (the view checks). The sides
    ``actor`` acts for are confirmed; if that is both, the collaboration is active at once,
    otherwise the other side is asked by e-mail.

    Raises
    ------
    CollaborationError
        Unknown partner, the organisation itself, unknown kind, a note that is too long, or an
        open collaboration of the same kind between the two.
    """
    partner = db.session.get(Organisation, partner_id) if partner_id else None
    if partner is None:
        raise CollaborationError(
            _("Bitte wählen Sie die Partnerorganisation aus der Suche aus."), "partner_id"
        )
    if partner.id == org.id:
        raise CollaborationError(
            _("Eine Organisation kann nicht mit sich selbst kooperieren."), "partner_id"
        )
    _check_kind(kind)
    note = (note or "").strip()
    if len(note) > NOTE_MAX_LENGTH:
        raise CollaborationError(
            _("Die Notiz darf höchstens %(n)s Zeichen lang sein.", n=NOTE_MAX_LENGTH), "note"
        )
    a, b = sorted((org.id, partner.id))
    existing = db.session.scalar(
        sa.select(CollaborationRow).where(
            CollaborationRow.org_a_id == a,
            CollaborationRow.org_b_id == b,
            CollaborationRow.kind == kind,
            CollaborationRow.status.in_(OPEN_STATUSES),
        )
    )
    if existing is not None:
        if existing.status == "active":
            message = _("Diese Kooperation besteht bereits.")
        else:
            message = _("Diese Kooperation ist bereits eingetragen und wartet auf Bestätigung.")
        raise CollaborationError(message, "partner_id")

    collaboration = CollaborationRow(
        org_a_id=a,
        org_b_id=b,
        kind=kind,
        since=since,
        note=note,
        source="declared",
        created_by_id=actor.id,
        status="proposed",
        confirmed_a=False,
        confirmed_b=False,
    )
    sides = sides_of(actor, collaboration) | {_side(collaboration, org.id)}
    collaboration.confirmed_a = "a" in sides
    collaboration.confirmed_b = "b" in sides
    if collaboration.confirmed_a and collaboration.confirmed_b:
        collaboration.status = "active"  # active_since: set on insert (models.collaboration)
    db.session.add(collaboration)
    db.session.flush()
    record(
        "collaboration.recorded",
        "collaboration",
        collaboration.id,
        actor_id=actor.id,
        organisation_id=org.id,
        partner_id=partner.id,
        kind=kind,
        since=since.isoformat() if since else None,
        status=collaboration.status,
        confirmed_for=sorted(sides),
    )
    if collaboration.status == "proposed":
        _mail(
            _people_of(partner.id, exclude_user_id=actor.id),
            "collaboration_request",
            lambda a, b: _("Kooperation zur Bestätigung: %(a)s und %(b)s", a=a, b=b),
            collaboration,
            link_org=partner,
            requester=actor,
            requesting=org,
        )
    db.session.commit()
    return collaboration


def _compare_and_set(
    collaboration: CollaborationRow, seen: dict[str, Any], values: dict[str, Any]
) -> None:
    """Apply ``values`` only if the row still looks as ``seen``; else nothing changes."""
    conditions = [CollaborationRow.id == collaboration.id]
    conditions += [getattr(CollaborationRow, name) == value for name, value in seen.items()]
    result = db.session.execute(
        sa.update(CollaborationRow)
        .where(*conditions)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.rollback()
        db.session.refresh(collaboration)
        raise CollaborationError(
            _("Die Kooperation wurde inzwischen geändert. Bitte sehen Sie sich den neuen Stand an.")
        )
    db.session.refresh(collaboration)


def _seen(collaboration: CollaborationRow) -> dict[str, Any]:
    return {
        "status": collaboration.status,
        "confirmed_a": collaboration.confirmed_a,
        "confirmed_b": collaboration.confirmed_b,
    }


def confirm_collaboration(collaboration: CollaborationRow, actor: User) -> CollaborationRow:
    """Confirm a proposed collaboration for the sides ``actor`` acts for; both confirmed makes
    it active. The person who recorded it is told."""
    if collaboration.status != "proposed":
        raise CollaborationError(_("Diese Kooperation wartet auf keine Bestätigung."))
    sides = sides_of(actor, collaboration)
    pending = {s for s in sides if not _confirmed(collaboration, s)}
    if not pending:
        raise CollaborationError(
            _("Ihre Seite hat bereits bestätigt; jetzt ist die Partnerorganisation am Zug.")
        )
    confirmed_a = collaboration.confirmed_a or "a" in pending
    confirmed_b = collaboration.confirmed_b or "b" in pending
    status = "active" if confirmed_a and confirmed_b else "proposed"
    _compare_and_set(
        collaboration,
        _seen(collaboration),
        {
            "confirmed_a": confirmed_a,
            "confirmed_b": confirmed_b,
            "status": status,
            "active_since": utcnow() if status == "active" else None,
        },
    )
    record(
        "collaboration.confirmed",
        "collaboration",
        collaboration.id,
        actor_id=actor.id,
        sides=sorted(pending),
        status=status,
    )
    _tell_recorder(collaboration, actor, "confirmed")
    db.session.commit()
    return collaboration


def decline_collaboration(collaboration: CollaborationRow, actor: User) -> CollaborationRow:
    """Decline a proposed collaboration (a side that has not confirmed, or a coordinator): it
    ends without ever having been active; the row stays as history."""
    if collaboration.status != "proposed":
        raise CollaborationError(_("Diese Kooperation wartet auf keine Bestätigung."))
    sides = sides_of(actor, collaboration)
    if not any(not _confirmed(collaboration, s) for s in sides):
        raise CollaborationError(
            _("Sie haben diese Kooperation selbst eingetragen; Sie können sie zurückziehen.")
        )
    today = date.today()
    _compare_and_set(collaboration, _seen(collaboration), {"status": "ended", "ended_on": today})
    record(
        "collaboration.declined",
        "collaboration",
        collaboration.id,
        actor_id=actor.id,
        ended_on=today.isoformat(),
    )
    _tell_recorder(collaboration, actor, "declined")
    db.session.commit()
    return collaboration


def end_collaboration(collaboration: CollaborationRow, actor: User) -> CollaborationRow:
    """End an active collaboration, or withdraw a proposed one (either side or a coordinator).

    Sets ``ended_on`` to today; the row and its audit trail stay. The other side is told.
    """
    if collaboration.status not in OPEN_STATUSES:
        raise CollaborationError(_("Diese Kooperation ist bereits beendet."))
    if not sides_of(actor, collaboration):
        raise CollaborationError(_("Sie handeln für keine der beiden Organisationen."))
    was = collaboration.status
    today = date.today()
    _compare_and_set(collaboration, _seen(collaboration), {"status": "ended", "ended_on": today})
    record(
        "collaboration.ended" if was == "active" else "collaboration.withdrawn",
        "collaboration",
        collaboration.id,
        actor_id=actor.id,
        ended_on=today.isoformat(),
        previous_status=was,
    )
    if was == "active":
        # Tell the organisations the actor is not a member of (both, when a coordinator ends it).
        members = _member_ids(actor, (collaboration.org_a_id, collaboration.org_b_id))
        for other in (collaboration.org_a, collaboration.org_b):
            if other.id in members:
                continue
            _mail(
                _people_of(other.id, exclude_user_id=actor.id),
                "collaboration_ended",
                lambda a, b: _("Kooperation beendet: %(a)s und %(b)s", a=a, b=b),
                collaboration,
                link_org=other,
                actor=actor,
            )
    db.session.commit()
    return collaboration


def _tell_recorder(collaboration: CollaborationRow, actor: User, decision: str) -> None:
    recorder = collaboration.created_by_id and db.session.get(User, collaboration.created_by_id)
    if not recorder or recorder.id == actor.id or not recorder.active:
        return
    recorder_orgs = _member_ids(recorder, (collaboration.org_a_id, collaboration.org_b_id))
    own = collaboration.org_a if collaboration.org_a_id in recorder_orgs else collaboration.org_b
    _mail(
        [recorder],
        "collaboration_decided",
        (lambda a, b: _("Kooperation bestätigt: %(a)s und %(b)s", a=a, b=b))
        if decision == "confirmed"
        else (lambda a, b: _("Kooperation abgelehnt: %(a)s und %(b)s", a=a, b=b)),
        collaboration,
        link_org=own,
        decision=decision,
        actor=actor,
    )
