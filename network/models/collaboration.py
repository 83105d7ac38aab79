"""Collaborations (the edges of the network) and suggested collaborations."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from network.extensions import db
from network.models.base import UTCDateTime, utcnow

__all__ = ["Collaboration", "Suggestion"]


class Collaboration(db.Model):
    """A relationship between two organisations, stored once with ``org_a_id < org_b_id``.

    Both sides confirm (``confirmed_a``/``confirmed_b``); only then is it ``active``. Ending one
    sets ``status='ended'`` and ``ended_on`` and keeps the row as history.
    """

    __tablename__ = "collaboration"
    __table_args__ = (
        sa.CheckConstraint("org_a_id < org_b_id", name="ordered_pair"),
        sa.Index("ix_collaboration_pair", "org_a_id", "org_b_id"),
        sa.Index("ix_collaboration_b", "org_b_id"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    org_a_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("organisation.id", ondelete="CASCADE")
    )
    org_b_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("organisation.id", ondelete="CASCADE")
    )
    kind: so.Mapped[str] = so.mapped_column(sa.String(20))
    status: so.Mapped[str] = so.mapped_column(sa.String(10), default="active", index=True)
    since: so.Mapped[date | None] = so.mapped_column(sa.Date)
    ended_on: so.Mapped[date | None] = so.mapped_column(sa.Date)
    source: so.Mapped[str] = so.mapped_column(sa.String(20), default="declared")
    confirmed_a: so.Mapped[bool] = so.mapped_column(sa.Boolean, default=False)
    confirmed_b: so.Mapped[bool] = so.mapped_column(sa.Boolean, default=False)
    #: When the second side confirmed (``None`` while proposed or if it never was confirmed).
    active_since: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime, index=True)
    note: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    created_by_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    updated_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    org_a: so.Mapped[Organisation] = so.relationship(foreign_keys=[org_a_id])  # noqa: F821
    org_b: so.Mapped[Organisation] = so.relationship(foreign_keys=[org_b_id])  # noqa: F821

    def other(self, organisation_id: int) -> Organisation:  # noqa: F821
        return self.org_b if organisation_id == self.org_a_id else self.org_a


@sa.event.listens_for(Collaboration, "before_insert")
def _confirmed_on_creation(
    _mapper: so.Mapper, _connection: sa.Connection, row: Collaboration
) -> None:
    """A collaboration stored already confirmed by both sides is active from that moment."""
    if row.confirmed_a and row.confirmed_b and row.active_since is None:
        row.active_since = row.created_at or utcnow()


class Suggestion(db.Model):
    """A scored candidate collaboration with its reasons and a coordinator's decision.

    ``fingerprint`` hashes both sides' offers and needs at scoring time: a rejected pair is
    suggested again only when it changes.
    """

    __tablename__ = "suggestion"
    __table_args__ = (
        sa.CheckConstraint("org_a_id < org_b_id", name="ordered_pair"),
        sa.UniqueConstraint("org_a_id", "org_b_id"),
        sa.Index("ix_suggestion_status_score", "status", "score"),
        sa.Index("ix_suggestion_b", "org_b_id"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    org_a_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("organisation.id", ondelete="CASCADE")
    )
    org_b_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("organisation.id", ondelete="CASCADE")
    )
    score: so.Mapped[float] = so.mapped_column(sa.Float)
    reasons: so.Mapped[list] = so.mapped_column(sa.JSON, default=list)
    signals: so.Mapped[dict] = so.mapped_column(sa.JSON, default=dict)
    distance_km: so.Mapped[float | None] = so.mapped_column(sa.Float)
    cross_municipal: so.Mapped[bool] = so.mapped_column(sa.Boolean, default=False)
    fingerprint: so.Mapped[str] = so.mapped_column(sa.String(64), default="")
    status: so.Mapped[str] = so.mapped_column(sa.String(10), default="open")
    computed_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    reviewed_by_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL")
    )
    reviewed_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    review_comment: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    snoozed_until: so.Mapped[date | None] = so.mapped_column(sa.Date)
    #: Providers' feedback per side: "interested" | "not_relevant" | None.
    feedback_a: so.Mapped[str | None] = so.mapped_column(sa.String(15))
    feedback_b: so.Mapped[str | None] = so.mapped_column(sa.String(15))
    #: Shown to the providers as an idea before a coordinator decided.
    visible_to_providers: so.Mapped[bool] = so.mapped_column(sa.Boolean, default=False)
    collaboration_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("collaboration.id", ondelete="SET NULL")
    )

    org_a: so.Mapped[Organisation] = so.relationship(foreign_keys=[org_a_id])  # noqa: F821
    org_b: so.Mapped[Organisation] = so.relationship(foreign_keys=[org_b_id])  # noqa: F821
    reviewed_by: so.Mapped[User | None] = so.relationship()  # noqa: F821
