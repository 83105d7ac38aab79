"""Audit trail: who changed or decided what, when."""

from __future__ import annotations

from typing import Any

from flask_login import current_user

from network.extensions import db
from network.models import AuditLog

__all__ = ["record"]


def record(
    action: str, object_type: str, object_id: Any, *, actor_id: int | None = None, **details: Any
) -> AuditLog:
    """Add an audit entry to the current transaction (the caller commits)."""
    if actor_id is None and current_user and getattr(current_user, "is_authenticated", False):
        actor_id = current_user.id
    entry = AuditLog(
        actor_id=actor_id,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        details=details,
    )
    db.session.add(entry)
    return entry
