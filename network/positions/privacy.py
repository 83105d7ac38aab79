"""A trainee's personal data: export everything (portability) or delete it (erasure).

Both walk every foreign key that points at the account, so a table added later is exported and
cleaned up without changes here.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from flask import current_app

from network.audit import record
from network.extensions import db
from network.models import (
    Application,
    AuditLog,
    Invitation,
    OutboxMessage,
    SavedSearch,
    TraineeProfile,
    User,
)
from network.models.base import utcnow
from network.positions import uploads

__all__ = ["export_user_data", "delete_trainee_account", "user_references"]


def user_references() -> list[tuple[sa.Table, sa.Column, str | None]]:
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
    for table, column, _rule in user_references():
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
    for table, column, rule in user_references():
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
