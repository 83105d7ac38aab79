"""Placement rounds: a stable allocation of trainees to placements with capacities."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from network.extensions import db
from network.models.base import UTCDateTime, utcnow

__all__ = [
    "AllocationRound",
    "RoundPlacement",
    "RoundTrainee",
    "TraineeRanking",
    "PlacementRanking",
    "RoundAssignment",
    "ROUND_STATUSES",
]

#: draft → ranking (open for rankings) → matched (result computed, may be re-run) → published.
ROUND_STATUSES = ("draft", "ranking", "matched", "published")


class AllocationRound(db.Model):
    __tablename__ = "allocation_round"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(200))
    description: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    status: so.Mapped[str] = so.mapped_column(sa.String(10), default="draft")
    ranking_deadline: so.Mapped[date | None] = so.mapped_column(sa.Date)
    created_by_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    matched_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    published_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    statistics: so.Mapped[dict] = so.mapped_column(sa.JSON, default=dict)
    #: Hash of the inputs of the published result, for audit.
    result_digest: so.Mapped[str] = so.mapped_column(sa.String(64), default="")

    placements: so.Mapped[list[RoundPlacement]] = so.relationship(
        back_populates="round", cascade="all, delete-orphan", order_by="RoundPlacement.id"
    )
    trainees: so.Mapped[list[RoundTrainee]] = so.relationship(
        back_populates="round", cascade="all, delete-orphan"
    )

    @property
    def is_published(self) -> bool:
        return self.status == "published"


class RoundPlacement(db.Model):
    """A placement offered in a round, with its number of seats."""

    __tablename__ = "round_placement"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    round_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("allocation_round.id", ondelete="CASCADE"), index=True
    )
    organisation_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("organisation.id", ondelete="CASCADE")
    )
    position_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("position.id", ondelete="SET NULL")
    )
    name: so.Mapped[str] = so.mapped_column(sa.String(200))
    placement_tag: so.Mapped[str] = so.mapped_column(sa.String(60), default="")
    seats: so.Mapped[int] = so.mapped_column(sa.Integer, default=1)

    round: so.Mapped[AllocationRound] = so.relationship(back_populates="placements")
    organisation: so.Mapped[Organisation] = so.relationship()  # noqa: F821


class RoundTrainee(db.Model):
    """A trainee eligible to take part in a round."""

    __tablename__ = "round_trainee"

    round_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("allocation_round.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    round: so.Mapped[AllocationRound] = so.relationship(back_populates="trainees")
    user: so.Mapped[User] = so.relationship()  # noqa: F821


class TraineeRanking(db.Model):
    """A trainee's ranking of a placement (1 = first choice)."""

    __tablename__ = "trainee_ranking"
    __table_args__ = (sa.UniqueConstraint("round_id", "user_id", "rank"),)

    round_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("allocation_round.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True
    )
    placement_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("round_placement.id", ondelete="CASCADE"), primary_key=True
    )
    rank: so.Mapped[int] = so.mapped_column(sa.Integer)


class PlacementRanking(db.Model):
    """A placement provider's ranking of a trainee (1 = most preferred)."""

    __tablename__ = "placement_ranking"
    __table_args__ = (sa.UniqueConstraint("placement_id", "rank"),)

    round_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("allocation_round.id", ondelete="CASCADE"), index=True
    )
    placement_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("round_placement.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True
    )
    rank: so.Mapped[int] = so.mapped_column(sa.Integer)


class RoundAssignment(db.Model):
    """The result of a round for one trainee (``placement_id`` NULL: not placed)."""

    __tablename__ = "round_assignment"

    round_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("allocation_round.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True
    )
    placement_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("round_placement.id", ondelete="CASCADE")
    )
    trainee_rank: so.Mapped[int | None] = so.mapped_column(sa.Integer)

    placement: so.Mapped[RoundPlacement | None] = so.relationship()
    user: so.Mapped[User] = so.relationship()  # noqa: F821
