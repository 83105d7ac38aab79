"""Jobs and training placements, trainee profiles, saved searches and applications."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from network.extensions import db
from network.models.base import TagList, UTCDateTime, utcnow

__all__ = ["Position", "TraineeProfile", "SavedSearch", "Application", "Invitation"]


class Position(db.Model):
    """An opening published by an organisation. Coordinates are copied from the organisation so
    that radius searches run on one table with a (lat, lon) index."""

    __tablename__ = "position"
    # Covering indexes for the open positions: a radius search reads id, place, deadline and
    # start from the first; the list by start date counts and sorts from the second. Neither
    # touches the wide rows (descriptions), which made both five times slower at 100,000.
    __table_args__ = (
        sa.Index(
            "ix_position_open_geo", "status", "latitude", "longitude", "deadline", "start_date"
        ),
        sa.Index("ix_position_open_start", "status", "deadline", "start_date", "created_at"),
        sa.Index("ix_position_profession_status", "profession", "status"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    organisation_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    position_type: so.Mapped[str] = so.mapped_column(sa.String(20))
    profession: so.Mapped[str] = so.mapped_column(sa.String(40))
    title: so.Mapped[str] = so.mapped_column(sa.String(200))
    description: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    requirements: so.Mapped[list] = so.mapped_column(TagList, default=list)
    requirements_text: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    benefits: so.Mapped[list] = so.mapped_column(TagList, default=list)
    seats: so.Mapped[int] = so.mapped_column(sa.Integer, default=1)
    start_date: so.Mapped[date | None] = so.mapped_column(sa.Date)
    end_date: so.Mapped[date | None] = so.mapped_column(sa.Date)
    hours_per_week: so.Mapped[float | None] = so.mapped_column(sa.Float)
    deadline: so.Mapped[date | None] = so.mapped_column(sa.Date, index=True)
    status: so.Mapped[str] = so.mapped_column(sa.String(10), default="open")
    ags: so.Mapped[str] = so.mapped_column(sa.ForeignKey("municipality.ags"), index=True)
    latitude: so.Mapped[float] = so.mapped_column(sa.Float)
    longitude: so.Mapped[float] = so.mapped_column(sa.Float)
    synthetic: so.Mapped[bool] = so.mapped_column(sa.Boolean, default=False)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    organisation: so.Mapped[Organisation] = so.relationship(lazy="joined")  # noqa: F821


class TraineeProfile(db.Model):
    """What a trainee or job seeker looks for. Providers see it only with ``visible`` consent."""

    __tablename__ = "trainee_profile"

    user_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True
    )
    professions: so.Mapped[list] = so.mapped_column(TagList, default=list)
    position_types: so.Mapped[list] = so.mapped_column(TagList, default=list)
    home_ags: so.Mapped[str | None] = so.mapped_column(sa.ForeignKey("municipality.ags"))
    latitude: so.Mapped[float | None] = so.mapped_column(sa.Float)
    longitude: so.Mapped[float | None] = so.mapped_column(sa.Float)
    max_distance_km: so.Mapped[float] = so.mapped_column(sa.Float, default=25.0)
    earliest_start: so.Mapped[date | None] = so.mapped_column(sa.Date)
    qualifications: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    languages: so.Mapped[list] = so.mapped_column(TagList, default=list)
    driving_licence: so.Mapped[bool] = so.mapped_column(sa.Boolean, default=False)
    wanted_benefits: so.Mapped[list] = so.mapped_column(TagList, default=list)
    about: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    visible_to_providers: so.Mapped[bool] = so.mapped_column(sa.Boolean, default=False, index=True)
    consent_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    updated_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    user: so.Mapped[User] = so.relationship()  # noqa: F821


class SavedSearch(db.Model):
    """A trainee's search, re-run for their digest."""

    __tablename__ = "saved_search"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    name: so.Mapped[str] = so.mapped_column(sa.String(120))
    params: so.Mapped[dict] = so.mapped_column(sa.JSON, default=dict)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)


class Application(db.Model):
    """A trainee's application for a position.

    When the trainee deletes their account, ``trainee_id`` becomes NULL and the personal fields
    are blanked; the row stays so the provider's statistics remain true.
    """

    __tablename__ = "application"
    __table_args__ = (sa.Index("ix_application_position_status", "position_id", "status"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    position_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("position.id", ondelete="CASCADE"))
    trainee_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL"), index=True
    )
    applicant_name: so.Mapped[str] = so.mapped_column(sa.String(120), default="")
    applicant_email: so.Mapped[str] = so.mapped_column(sa.String(254), default="")
    message: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    attachment_name: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    attachment_path: so.Mapped[str] = so.mapped_column(sa.String(300), default="")
    status: so.Mapped[str] = so.mapped_column(sa.String(12), default="received")
    provider_note: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    updated_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    position: so.Mapped[Position] = so.relationship()
    trainee: so.Mapped[User | None] = so.relationship()  # noqa: F821


class Invitation(db.Model):
    """A provider invites a consenting candidate to apply for a position."""

    __tablename__ = "invitation"
    __table_args__ = (sa.UniqueConstraint("position_id", "trainee_id"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    position_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("position.id", ondelete="CASCADE"))
    trainee_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    invited_by_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL")
    )
    message: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    position: so.Mapped[Position] = so.relationship()
