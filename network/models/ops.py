"""Operational records: the audit log, long-running jobs and the scheduler lock."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from network.extensions import db
from network.models.base import UTCDateTime, utcnow

__all__ = ["AuditLog", "Job", "SchedulerLock"]


class AuditLog(db.Model):
    """Who changed or decided what, when (and why, where a comment was given)."""

    __tablename__ = "audit_log"
    __table_args__ = (sa.Index("ix_audit_object", "object_type", "object_id"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    actor_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL"), index=True
    )
    action: so.Mapped[str] = so.mapped_column(sa.String(60), index=True)
    object_type: so.Mapped[str] = so.mapped_column(sa.String(40))
    object_id: so.Mapped[str] = so.mapped_column(sa.String(40))
    details: so.Mapped[dict] = so.mapped_column(sa.JSON, default=dict)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow, index=True)

    actor: so.Mapped[User | None] = so.relationship()  # noqa: F821


class Job(db.Model):
    """A long-running job (import, matching round, digest run) with progress for the browser."""

    __tablename__ = "job"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    kind: so.Mapped[str] = so.mapped_column(sa.String(30), index=True)
    status: so.Mapped[str] = so.mapped_column(
        sa.String(10), default="queued"
    )  # queued|running|done|failed
    progress_current: so.Mapped[int] = so.mapped_column(sa.Integer, default=0)
    progress_total: so.Mapped[int] = so.mapped_column(sa.Integer, default=0)
    message: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    result: so.Mapped[dict] = so.mapped_column(sa.JSON, default=dict)
    #: A large result (e.g. the CSV report of rejected import rows).
    payload: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    created_by_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    finished_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)

    @property
    def percent(self) -> int:
        if not self.progress_total:
            return 100 if self.status == "done" else 0
        return min(100, round(100 * self.progress_current / self.progress_total))


class SchedulerLock(db.Model):
    """A lease: the scheduler holding an unexpired row is the only one that runs jobs."""

    __tablename__ = "scheduler_lock"

    name: so.Mapped[str] = so.mapped_column(sa.String(40), primary_key=True)
    holder: so.Mapped[str] = so.mapped_column(sa.String(80))
    acquired_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    expires_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime)
