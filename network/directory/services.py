"""Directory operations: the only code that writes organisations, memberships and import jobs."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import current_app, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy.orm.exc import StaleDataError

from network.audit import record
from network.directory import csv_io
from network.directory.editing import FIELDS, TAG_FIELDS, ProfileData, diff, merge_edits, snapshot
from network.directory.search import (
    ResultPage,
    SearchParamError,
    SearchParams,
    parse_search_args,
    search_organisations,
)
from network.extensions import db
from network.mail import queue_email
from network.models import (
    AuditLog,
    Collaboration,
    Job,
    Membership,
    Municipality,
    Organisation,
    User,
)
from network.models.base import utcnow

__all__ = [
    "DirectoryError",
    "EditConflict",
    "DuplicateOrganisation",
    "ImportResult",
    "Progress",
    "can_view",
    "can_edit",
    "can_manage_members",
    "membership_of",
    "create_organisation",
    "update_organisation",
    "request_membership",
    "decide_membership",
    "profile_view",
    "members_view",
    "my_organisations",
    "municipality_choices",
    "import_organisations",
    "start_import",
    "run_import_job",
    "export_organisations",
    "export_csv_chunks",
    "search_organisations",
    "parse_search_args",
    "SearchParams",
    "SearchParamError",
    "ResultPage",
    "snapshot",
]

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]

IMPORT_JOB_KIND = "directory_import"
#: Files up to this size are imported within the request; larger ones in a background thread.
DEFAULT_SYNC_IMPORT_BYTES = 64 * 1024
_IMPORT_CHUNK = 500


class DirectoryError(Exception):
    """An operation cannot be done; the message is shown to the user."""


class DuplicateOrganisation(DirectoryError):
    """An organisation of that name exists in that municipality already."""

    def __init__(self, existing: Organisation) -> None:
        super().__init__(
            _(
                "„%(name)s“ in %(place)s gibt es schon im Verzeichnis. Fragen Sie dort den Beitritt an – oder "
                "bestätigen Sie, dass es eine andere Organisation ist.",
                name=existing.name,
                place=existing.municipality.name,
            )
        )
        self.existing = existing


@dataclass(eq=False)
class EditConflict(DirectoryError):
    """Someone saved the organisation after the user's form was loaded."""

    current: dict[str, Any]
    mine: dict[str, Any]
    merged: dict[str, Any]
    conflicts: list[str]
    current_version: int
    changed_by: str | None
    changed_at: datetime | None

    def __post_init__(self) -> None:
        super().__init__(_("Diese Organisation wurde zwischenzeitlich geändert."))

    @property
    def differing(self) -> list[str]:
        """Fields whose stored value differs from what the user submitted."""
        return [name for name in FIELDS if self.current.get(name) != self.mine.get(name)]


# --------------------------------------------------------------------------- access


def membership_of(user: Any, org: Organisation) -> Membership | None:
    if not getattr(user, "is_authenticated", False):
        return None
    return db.session.get(Membership, (user.id, org.id))


def can_view(user: Any, org: Organisation) -> bool:
    """Members-only profiles are for logged-in users."""
    return org.visibility == "public" or bool(getattr(user, "is_authenticated", False))


def can_edit(user: Any, org: Organisation) -> bool:
    """Approved members of the organisation, coordinators and admins."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user.has_role("coordinator"):
        return True
    membership = membership_of(user, org)
    return membership is not None and membership.status == "approved"


def can_manage_members(user: Any, org: Organisation) -> bool:
    """Approved admin members of the organisation, coordinators and admins."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user.has_role("coordinator"):
        return True
    membership = membership_of(user, org)
    return membership is not None and membership.status == "approved" and membership.role == "admin"


def municipality_choices() -> list[tuple[str, str]]:
    """``(ags, "Name (Kreis)")`` for the municipality select, ordered by name."""
    rows = db.session.execute(
        sa.select(Municipality.ags, Municipality.name, Municipality.kreis).order_by(
            Municipality.name
        )
    )
    return [(ags, f"{name} ({kreis})") for ags, name, kreis in rows]


# --------------------------------------------------------------------------- create and edit


def _centre(ags: str) -> tuple[float, float]:
    place = db.session.get(Municipality, ags)
    if place is None:
        raise DirectoryError(_("Keine Gemeinde im Münsterland hat den Schlüssel %(ags)s.", ags=ags))
    return place.latitude, place.longitude


def _apply(org: Organisation, values: dict[str, Any]) -> None:
    """Write plain values onto the row; a missing exact point means the municipality's centre."""
    for name in FIELDS:
        if name in TAG_FIELDS or name in ("latitude", "longitude"):
            continue
        setattr(org, name, values[name])
    if values["latitude"] is None or values["longitude"] is None:
        org.latitude, org.longitude = _centre(values["ags"])
        org.exact_location = False
    else:
        org.latitude, org.longitude = values["latitude"], values["longitude"]
        org.exact_location = True
    org.set_tags(set(values["offers"]), set(values["needs"]))


def _find_duplicate(data: ProfileData) -> Organisation | None:
    return db.session.scalar(
        sa.select(Organisation)
        .where(sa.func.lower(Organisation.name) == data.name.lower(), Organisation.ags == data.ags)
        .limit(1)
    )


def create_organisation(
    data: ProfileData, actor: User, *, allow_duplicate: bool = False
) -> Organisation:
    """Register an organisation; the actor becomes its first (admin) member.

    Raises
    ------
    DuplicateOrganisation
        When one of the same name exists in the same municipality and ``allow_duplicate`` is off.
    """
    if not allow_duplicate and (existing := _find_duplicate(data)) is not None:
        raise DuplicateOrganisation(existing)
    org = Organisation(source="", synthetic=False)
    _apply(org, data.as_snapshot())
    db.session.add(org)
    db.session.flush()
    db.session.add(
        Membership(user_id=actor.id, organisation_id=org.id, role="admin", status="approved")
    )
    record(
        "organisation.created",
        "organisation",
        org.id,
        actor_id=actor.id,
        changes=diff({}, snapshot(org)),
    )
    db.session.commit()
    return org


def _last_change(org_id: int) -> AuditLog | None:
    return db.session.scalar(
        sa.select(AuditLog)
        .where(
            AuditLog.object_type == "organisation",
            AuditLog.object_id == str(org_id),
            AuditLog.action.in_(("organisation.updated", "organisation.created")),
        )
        .order_by(AuditLog.created_at.desc(), AuditLog.id.desc())
        .limit(1)
    )


def _conflict(org: Organisation, mine: dict[str, Any], base: dict[str, Any] | None) -> EditConflict:
    current = snapshot(org)
    merged, conflicts = merge_edits(base, current, mine)
    last = _last_change(org.id)
    changed_by = None
    if last is not None:
        changed_by = (last.actor.name or last.actor.email) if last.actor else _("einem Import")
    return EditConflict(
        current=current,
        mine=mine,
        merged=merged,
        conflicts=conflicts,
        current_version=org.version,
        changed_by=changed_by,
        changed_at=last.created_at if last else org.updated_at,
    )


def update_organisation(
    org: Organisation,
    data: ProfileData,
    *,
    base_version: int,
    base_snapshot: dict[str, Any] | None,
    actor: User,
) -> dict[str, list[Any]]:
    """Save an edit made on version ``base_version``; returns the field diff (empty: nothing saved).

    Raises
    ------
    EditConflict
        When the organisation changed since ``base_version`` (checked before writing, and again
        by the database through the version counter for edits racing in the same instant).
        Nothing is written then.
    """
    mine = data.as_snapshot()
    if org.version != base_version:
        raise _conflict(org, mine, base_snapshot)
    changes = diff(snapshot(org), mine)
    if not changes:
        return {}
    org_id = org.id
    try:
        _apply(org, mine)
        # Offers and needs live in another table: touching the row makes every edit bump the version.
        org.updated_at = utcnow()
        record("organisation.updated", "organisation", org_id, actor_id=actor.id, changes=changes)
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        fresh = db.session.get(Organisation, org_id, populate_existing=True)
        if fresh is None:
            raise DirectoryError(_("Die Organisation wurde inzwischen gelöscht.")) from None
        raise _conflict(fresh, mine, base_snapshot) from None
    return changes


# --------------------------------------------------------------------------- memberships


def _admins(org: Organisation) -> list[User]:
    admins = list(
        db.session.scalars(
            sa.select(User)
            .join(Membership, Membership.user_id == User.id)
            .where(
                Membership.organisation_id == org.id,
                Membership.status == "approved",
                Membership.role == "admin",
                User.active.is_(True),
            )
        )
    )
    if admins:
        return admins
    return list(
        db.session.scalars(sa.select(User).where(User.role == "coordinator", User.active.is_(True)))
    )


def _link(endpoint: str, **values: Any) -> str:
    return current_app.config["BASE_URL"] + url_for(endpoint, **values)


def request_membership(org: Organisation, user: User) -> Membership:
    """Ask to join ``org``; its admins (or, without admins, the coordinators) are e-mailed."""
    existing = membership_of(user, org)
    if existing is not None:
        if existing.status == "approved":
            raise DirectoryError(_("Sie sind bereits Mitglied dieser Organisation."))
        raise DirectoryError(_("Ihre Anfrage liegt schon vor und wartet auf Freigabe."))
    membership = Membership(
        user_id=user.id, organisation_id=org.id, role="member", status="pending"
    )
    db.session.add(membership)
    record("membership.requested", "organisation", org.id, actor_id=user.id, user_id=user.id)
    link = _link("directory.members", org_id=org.id)
    for admin in _admins(org):
        with force_locale(admin.language):
            subject = _("Beitrittsanfrage für %(name)s", name=org.name)
        queue_email(
            admin.email,
            subject,
            "directory/join_request",
            language=admin.language,
            category="directory",
            person=admin,
            requester=user,
            organisation=org,
            link=link,
        )
    db.session.commit()
    return membership


def decide_membership(org: Organisation, user_id: int, approve: bool, actor: User) -> None:
    """Approve a pending request, or decline it / remove a member; the person is told by e-mail."""
    membership = db.session.get(Membership, (user_id, org.id))
    if membership is None:
        raise DirectoryError(_("Diese Anfrage gibt es nicht (mehr)."))
    person = membership.user
    if approve:
        if membership.status == "approved":
            raise DirectoryError(_("Diese Person ist bereits Mitglied."))
        membership.status = "approved"
        record("membership.approved", "organisation", org.id, actor_id=actor.id, user_id=user_id)
    else:
        if membership.status == "approved" and membership.role == "admin":
            remaining = db.session.scalar(
                sa.select(sa.func.count())
                .select_from(Membership)
                .where(
                    Membership.organisation_id == org.id,
                    Membership.status == "approved",
                    Membership.role == "admin",
                    Membership.user_id != user_id,
                )
            )
            if not remaining and not actor.has_role("coordinator"):
                raise DirectoryError(
                    _(
                        "Die letzte Administratorin / der letzte Administrator kann nicht entfernt werden."
                    )
                )
        action = "membership.declined" if membership.status == "pending" else "membership.removed"
        db.session.delete(membership)
        record(action, "organisation", org.id, actor_id=actor.id, user_id=user_id)
    with force_locale(person.language):
        subject = (
            _("Willkommen bei %(name)s", name=org.name)
            if approve
            else _("Ihre Mitgliedschaft bei %(name)s", name=org.name)
        )
    queue_email(
        person.email,
        subject,
        "directory/join_decided",
        language=person.language,
        category="directory",
        person=person,
        organisation=org,
        approved=approve,
        link=_link("directory.profile", org_id=org.id),
    )
    db.session.commit()


# --------------------------------------------------------------------------- reading


@dataclass
class HistoryEntry:
    when: datetime
    actor: str
    action: str
    changes: dict[str, list[Any]]


@dataclass
class PartnerLink:
    partner: Organisation
    kind: str
    since: Any


@dataclass
class ProfileView:
    organisation: Organisation
    collaborations: list[PartnerLink]
    hidden_collaborations: int
    membership: Membership | None
    can_edit: bool
    can_manage: bool
    history: list[HistoryEntry] = field(default_factory=list)
    pending_requests: int = 0


def _history(org_id: int, limit: int = 50) -> list[HistoryEntry]:
    rows = db.session.scalars(
        sa.select(AuditLog)
        .where(AuditLog.object_type == "organisation", AuditLog.object_id == str(org_id))
        .order_by(AuditLog.created_at.desc(), AuditLog.id.desc())
        .limit(limit)
    )
    return [
        HistoryEntry(
            when=row.created_at,
            actor=(row.actor.name or row.actor.email) if row.actor else _("Import / System"),
            action=row.action,
            changes=dict((row.details or {}).get("changes") or {}),
        )
        for row in rows
    ]


def profile_view(org: Organisation, viewer: Any) -> ProfileView:
    """Everything the profile page shows to ``viewer``."""
    links = db.session.scalars(
        sa.select(Collaboration)
        .where(
            Collaboration.status == "active",
            sa.or_(Collaboration.org_a_id == org.id, Collaboration.org_b_id == org.id),
        )
        .order_by(Collaboration.since.desc().nulls_last(), Collaboration.id)
    ).all()
    visible, hidden = [], 0
    for link in links:
        partner = link.other(org.id)
        if can_view(viewer, partner):
            visible.append(PartnerLink(partner=partner, kind=link.kind, since=link.since))
        else:
            hidden += 1
    visible.sort(key=lambda p: p.partner.name)
    editable = can_edit(viewer, org)
    manage = can_manage_members(viewer, org)
    pending = 0
    if manage:
        pending = (
            db.session.scalar(
                sa.select(sa.func.count())
                .select_from(Membership)
                .where(Membership.organisation_id == org.id, Membership.status == "pending")
            )
            or 0
        )
    return ProfileView(
        organisation=org,
        collaborations=visible,
        hidden_collaborations=hidden,
        membership=membership_of(viewer, org),
        can_edit=editable,
        can_manage=manage,
        history=_history(org.id) if editable else [],
        pending_requests=pending,
    )


def members_view(org: Organisation) -> list[Membership]:
    """Members and open requests, pending first."""
    return list(
        db.session.scalars(
            sa.select(Membership)
            .where(Membership.organisation_id == org.id)
            .order_by(Membership.status.desc(), Membership.created_at)
        )
    )


@dataclass
class MyOrganisations:
    memberships: list[Membership]
    requests_to_decide: list[Membership]


def my_organisations(user: User) -> MyOrganisations:
    """The user's memberships, and the join requests the user may decide."""
    memberships = list(
        db.session.scalars(
            sa.select(Membership)
            .join(Organisation)
            .where(Membership.user_id == user.id)
            .order_by(Organisation.name)
        )
    )
    pending = sa.select(Membership).join(Organisation).where(Membership.status == "pending")
    if not user.has_role("coordinator"):
        administered = [
            m.organisation_id for m in memberships if m.status == "approved" and m.role == "admin"
        ]
        pending = pending.where(Membership.organisation_id.in_(administered or [-1]))
    requests = list(db.session.scalars(pending.order_by(Membership.created_at).limit(200)))
    return MyOrganisations(memberships=memberships, requests_to_decide=requests)


# --------------------------------------------------------------------------- CSV import


@dataclass
class ImportResult:
    total: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[csv_io.ParsedRow] = field(default_factory=list)
    header: list[str] = field(default_factory=list)
    file_error: str = ""
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def rejected_count(self) -> int:
        return len(self.rejected) if not self.file_error else max(1, len(self.rejected))

    def report_csv(self) -> str:
        """The rejected rows as CSV (semicolons, UTF-8 with BOM), line number and reason first."""
        if self.file_error and not self.rejected:
            error = csv_io.ParsedRow(line=0, raw={}, reasons=[self.file_error])
            return csv_io.report_csv([], [error])
        return csv_io.report_csv(self.header, self.rejected)

    def summary(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected_count,
            "file_error": self.file_error,
            "ignored_columns": self.ignored_columns,
            "rejected_rows": [{"line": r.line, "reasons": r.reasons} for r in self.rejected[:200]],
        }


def _target_values(
    row: csv_io.ParsedRow, org: Organisation | None, centres: dict[str, tuple[float, float]]
) -> dict[str, Any]:
    """The full set of stored values after importing ``row`` (columns not in the file unchanged)."""
    values = row.values
    if org is None:
        current: dict[str, Any] = {
            "street": "", "postcode": "", "contact_name": "", "contact_email": "", "phone": "",
            "website": "", "description": "", "services": "", "staff_count": None, "free_tags": "",
            "visibility": "public", "synthetic": False, "source": "", "offers": frozenset(),
            "needs": frozenset(), "external_id": None,
        }  # fmt: skip
        exact = None
    else:
        current = {
            name: getattr(org, name)
            for name in (*csv_io.COLUMNS, "exact_location")
            if hasattr(org, name) and name != "id"
        }
        current["offers"], current["needs"] = org.offers, org.needs
        exact = (org.latitude, org.longitude) if org.exact_location else None
    target = dict(current)
    for name, value in values.items():
        if name not in ("id", "latitude", "longitude"):
            target[name] = value
    if org is not None and not values.get("external_id"):
        target["external_id"] = org.external_id  # matched by id: keep its key
    if "latitude" in values:
        exact = None if values["latitude"] is None else (values["latitude"], values["longitude"])
    if exact is None:
        target["latitude"], target["longitude"] = centres[target["ags"]]
        target["exact_location"] = False
    else:
        target["latitude"], target["longitude"] = exact
        target["exact_location"] = True
    return target


def _differences(org: Organisation, target: dict[str, Any]) -> dict[str, list[Any]]:
    changes: dict[str, list[Any]] = {}
    for name, new in target.items():
        old = getattr(org, name) if name not in TAG_FIELDS else getattr(org, name)
        if name in ("latitude", "longitude"):
            if old is None or abs(float(old) - float(new)) > 1e-9:
                changes[name] = [old, new]
        elif name in TAG_FIELDS:
            if set(old) != set(new):
                changes[name] = [sorted(old), sorted(new)]
        elif old != new:
            changes[name] = [old, new]
    return changes


def _write(org: Organisation, target: dict[str, Any]) -> None:
    for name, value in target.items():
        if name not in TAG_FIELDS:
            setattr(org, name, value)
    org.set_tags(set(target["offers"]), set(target["needs"]))


def import_organisations(
    data: bytes,
    *,
    actor_id: int | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Upsert organisations from a CSV file by ``external_id`` (or ``id``); rejected rows are reported.

    Every row is validated; all valid rows are written, the rest come back with their line
    number and the reasons. A row equal to what is stored writes nothing (no new version, no
    audit entry), so importing the same file twice changes nothing. The command line and the
    browser's background job both call this.
    """
    report = progress or (lambda step, done, total: None)
    result = ImportResult()
    try:
        parsed = csv_io.parse_csv(data)
    except csv_io.CsvFileError as err:
        result.file_error = err.message
        result.rejected = [csv_io.ParsedRow(line=err.line, raw={}, reasons=[err.message])]
        return result
    result.header = parsed.header
    result.ignored_columns = parsed.ignored_columns
    result.total = len(parsed.rows)
    centres = {
        ags: (lat, lon)
        for ags, lat, lon in db.session.execute(
            sa.select(Municipality.ags, Municipality.latitude, Municipality.longitude)
        )
    }
    known = set(centres)

    seen: dict[tuple[str, str], int] = {}
    valid: list[csv_io.ParsedRow] = []
    for line, cells in parsed.rows:
        row = csv_io.validate_row(line, parsed.header, cells, known)
        key = row.key
        if key is not None:
            if key in seen:
                row.reasons.insert(
                    0,
                    _(
                        "%(column)s „%(value)s“ steht schon in Zeile %(line)s.",
                        column=key[0],
                        value=key[1],
                        line=seen[key],
                    ),
                )
            else:
                seen[key] = line
        (valid if row.ok else result.rejected).append(row)

    done = len(result.rejected)
    report("import", done, result.total)
    for start in range(0, len(valid), _IMPORT_CHUNK):
        chunk = valid[start : start + _IMPORT_CHUNK]
        external_ids = [r.values["external_id"] for r in chunk if r.values.get("external_id")]
        ids = [
            r.values["id"]
            for r in chunk
            if not r.values.get("external_id") and r.values.get("id") is not None
        ]
        by_external = (
            {
                o.external_id: o
                for o in db.session.scalars(
                    sa.select(Organisation).where(Organisation.external_id.in_(external_ids))
                )
            }
            if external_ids
            else {}
        )
        by_id = (
            {
                o.id: o
                for o in db.session.scalars(sa.select(Organisation).where(Organisation.id.in_(ids)))
            }
            if ids
            else {}
        )
        created: list[Organisation] = []
        for row in chunk:
            external_id = row.values.get("external_id")
            org = by_external.get(external_id) if external_id else by_id.get(row.values.get("id"))
            if org is None and not external_id:
                row.reasons.append(
                    _("Es gibt keine Organisation mit der id %(id)s.", id=row.values.get("id"))
                )
                result.rejected.append(row)
                continue
            target = _target_values(row, org, centres)
            if org is None:
                org = Organisation()
                _write(org, target)
                db.session.add(org)
                created.append(org)
                continue
            changes = _differences(org, target)
            if not changes:
                result.unchanged += 1
                continue
            _write(org, target)
            org.updated_at = utcnow()
            record(
                "organisation.updated",
                "organisation",
                org.id,
                actor_id=actor_id,
                via="import",
                changes=_jsonable(changes),
            )
            result.updated += 1
        # One flush per chunk: the inserts go out in batches and return their ids together.
        db.session.flush()
        for org in created:
            record(
                "organisation.created",
                "organisation",
                org.id,
                actor_id=actor_id,
                via="import",
                changes=diff({}, snapshot(org)),
            )
        result.created += len(created)
        db.session.commit()
        done += len(chunk)
        report("import", done, result.total)
    result.rejected.sort(key=lambda r: r.line)
    return result


def _jsonable(changes: dict[str, list[Any]]) -> dict[str, list[Any]]:
    return {
        k: [sorted(v) if isinstance(v, (set, frozenset)) else v for v in pair]
        for k, pair in changes.items()
    }


def start_import(data: bytes, filename: str, actor: User) -> Job:
    """Create an import job; small files are imported at once, large ones in a background thread."""
    job = Job(kind=IMPORT_JOB_KIND, status="queued", message=filename[:200], created_by_id=actor.id)
    db.session.add(job)
    record(
        "directory.import_started",
        "job",
        "new",
        actor_id=actor.id,
        filename=filename[:200],
        size=len(data),
    )
    db.session.commit()
    limit = current_app.config.get("DIRECTORY_SYNC_IMPORT_BYTES", DEFAULT_SYNC_IMPORT_BYTES)
    job_id, language = job.id, actor.language
    if len(data) <= limit:
        run_import_job(job_id, data, language=language)
        return job
    app = current_app._get_current_object()  # type: ignore[attr-defined]

    def work() -> None:
        with app.app_context():
            try:
                run_import_job(job_id, data, language=language)
            finally:
                db.session.remove()

    threading.Thread(target=work, name=f"directory-import-{job.id}", daemon=True).start()
    return job


def run_import_job(job_id: int, data: bytes, *, language: str = "de") -> ImportResult | None:
    """Run an import for a ``Job`` row, keeping its progress current for the browser."""
    job = db.session.get(Job, job_id)
    if job is None:
        return None
    job.status = "running"
    db.session.commit()

    def progress(step: str, done: int, total: int) -> None:
        job.progress_current, job.progress_total = done, total
        db.session.commit()

    try:
        with force_locale(language):
            result = import_organisations(data, actor_id=job.created_by_id, progress=progress)
            payload = result.report_csv() if result.rejected else ""
    except Exception as err:  # noqa: BLE001 - the job page must show that it failed
        log.exception("import job %s failed", job_id)
        db.session.rollback()
        job = db.session.get(Job, job_id)
        job.status = "failed"
        job.message = f"{type(err).__name__}: {err}"[:2000]
        job.finished_at = utcnow()
        db.session.commit()
        return None
    job.status = "done"
    job.result = result.summary()
    job.payload = payload
    job.progress_current = job.progress_total = max(result.total, 1)
    job.finished_at = utcnow()
    db.session.commit()
    return result


# --------------------------------------------------------------------------- CSV export


def _export_rows(progress: Progress | None = None) -> Iterator[list[str]]:
    report = progress or (lambda step, done, total: None)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(Organisation)) or 0
    yield csv_io.export_header()
    statement = sa.select(Organisation).order_by(Organisation.id).execution_options(yield_per=1000)
    for done, org in enumerate(db.session.scalars(statement), start=1):
        yield csv_io.export_row(org)
        if done % 1000 == 0 or done == total:
            report("export", done, total)
    if total == 0:
        report("export", 0, 0)


def export_csv_chunks(progress: Progress | None = None) -> Iterator[str]:
    """The whole directory as CSV text chunks (what ``import_organisations`` reads back)."""
    return csv_io.write_csv(_export_rows(progress))


def export_organisations(path: str, progress: Progress | None = None) -> int:
    """Write the directory to ``path``; returns the number of organisations."""
    with open(path, "w", encoding="utf-8", newline="") as handle:
        for chunk in export_csv_chunks(progress):
            handle.write(chunk)
    return db.session.scalar(sa.select(sa.func.count()).select_from(Organisation)) or 0
