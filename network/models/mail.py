"""The transactional outbox, digest deliveries and coordinators' announcements."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from network.extensions import db
from network.models.base import UTCDateTime, utcnow

__all__ = ["OutboxMessage", "DigestDelivery", "Announcement"]


class OutboxMessage(db.Model):
    """An e-mail written in the same transaction as the change that caused it.

    The sender delivers ``pending`` rows, marks them ``sent``; on an SMTP error it counts the
    attempt and sets ``next_attempt_at`` with exponential backoff, until ``failed`` after the
    configured number of attempts. ``idempotency_key`` is unique: queueing the same message twice
    (e.g. the digest of one user and period) is a no-op.
    """

    __tablename__ = "outbox_message"
    __table_args__ = (sa.Index("ix_outbox_due", "status", "next_attempt_at"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    idempotency_key: so.Mapped[str] = so.mapped_column(sa.String(200), unique=True)
    category: so.Mapped[str] = so.mapped_column(sa.String(30), default="notification")
    recipient: so.Mapped[str] = so.mapped_column(sa.String(254), index=True)
    subject: so.Mapped[str] = so.mapped_column(sa.String(300))
    text_body: so.Mapped[str] = so.mapped_column(sa.Text)
    html_body: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    headers: so.Mapped[dict] = so.mapped_column(sa.JSON, default=dict)
    status: so.Mapped[str] = so.mapped_column(sa.String(10), default="pending")
    attempts: so.Mapped[int] = so.mapped_column(sa.Integer, default=0)
    next_attempt_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    #: Set while a sender holds the row, so two senders never deliver it twice.
    claimed_until: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    claimed_by: so.Mapped[str] = so.mapped_column(sa.String(80), default="")
    last_error: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    sent_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)


class DigestDelivery(db.Model):
    """One row per recipient per digest period: the digest of a period is built once."""

    __tablename__ = "digest_delivery"
    __table_args__ = (sa.UniqueConstraint("user_id", "period_key"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"))
    period_key: so.Mapped[str] = so.mapped_column(sa.String(40))
    outcome: so.Mapped[str] = so.mapped_column(sa.String(10), default="queued")  # queued | empty
    item_count: so.Mapped[int] = so.mapped_column(sa.Integer, default=0)
    outbox_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("outbox_message.id", ondelete="SET NULL")
    )
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)


class Announcement(db.Model):
    """A network event or announcement posted by a coordinator, shown in digests."""

    __tablename__ = "announcement"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    title: so.Mapped[str] = so.mapped_column(sa.String(200))
    body: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    event_date: so.Mapped[date | None] = so.mapped_column(sa.Date)
    location: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    created_by_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow, index=True)
