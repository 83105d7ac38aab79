"""Organisations (the nodes of the network), their offers and needs, and their members."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from network.extensions import db
from network.models.base import UTCDateTime, utcnow

__all__ = ["Organisation", "OrganisationTag", "Membership", "VISIBILITIES"]

VISIBILITIES = ("public", "members")


class Organisation(db.Model):
    """A clinic, practice, care service, school, company, municipality or network.

    ``version`` is SQLAlchemy's optimistic-locking counter: an UPDATE that was based on an older
    version fails instead of silently overwriting a concurrent edit.
    """

    __tablename__ = "organisation"
    __table_args__ = (
        sa.Index("ix_organisation_lat_lon", "latitude", "longitude"),
        sa.Index("ix_organisation_kind_ags", "kind", "ags"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    external_id: so.Mapped[str | None] = so.mapped_column(sa.String(80), unique=True)
    kind: so.Mapped[str] = so.mapped_column(sa.String(30), index=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(200), index=True)
    street: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    postcode: so.Mapped[str] = so.mapped_column(sa.String(10), default="")
    ags: so.Mapped[str] = so.mapped_column(sa.ForeignKey("municipality.ags"), index=True)
    latitude: so.Mapped[float] = so.mapped_column(sa.Float)
    longitude: so.Mapped[float] = so.mapped_column(sa.Float)
    #: True when the point was given exactly; False when it is the municipality's centre.
    exact_location: so.Mapped[bool] = so.mapped_column(sa.Boolean, default=False)
    contact_name: so.Mapped[str] = so.mapped_column(sa.String(120), default="")
    contact_email: so.Mapped[str] = so.mapped_column(sa.String(254), default="")
    phone: so.Mapped[str] = so.mapped_column(sa.String(40), default="")
    website: so.Mapped[str] = so.mapped_column(sa.String(300), default="")
    description: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    services: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    free_tags: so.Mapped[str] = so.mapped_column(sa.String(500), default="")
    staff_count: so.Mapped[int | None] = so.mapped_column(sa.Integer)
    visibility: so.Mapped[str] = so.mapped_column(sa.String(10), default="public")
    synthetic: so.Mapped[bool] = so.mapped_column(sa.Boolean, default=False, index=True)
    source: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    updated_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    version: so.Mapped[int] = so.mapped_column(sa.Integer, nullable=False, default=1)

    municipality: so.Mapped[Municipality] = so.relationship(lazy="joined")  # noqa: F821
    tags: so.Mapped[list[OrganisationTag]] = so.relationship(
        back_populates="organisation", cascade="all, delete-orphan", lazy="selectin"
    )
    memberships: so.Mapped[list[Membership]] = so.relationship(
        back_populates="organisation", cascade="all, delete-orphan"
    )

    __mapper_args__ = {"version_id_col": version}

    @property
    def offers(self) -> frozenset[str]:
        return frozenset(t.tag for t in self.tags if t.direction == "offer")

    @property
    def needs(self) -> frozenset[str]:
        return frozenset(t.tag for t in self.tags if t.direction == "need")

    def set_tags(self, offers: set[str] | frozenset[str], needs: set[str] | frozenset[str]) -> None:
        """Replace offers and needs, keeping rows that did not change (no churn in history)."""
        wanted = {("offer", t) for t in offers} | {("need", t) for t in needs}
        self.tags = [t for t in self.tags if (t.direction, t.tag) in wanted]
        present = {(t.direction, t.tag) for t in self.tags}
        for direction, tag in sorted(wanted - present):
            self.tags.append(OrganisationTag(direction=direction, tag=tag))

    def __repr__(self) -> str:
        return f"<Organisation {self.id} {self.kind} {self.name!r}>"


class OrganisationTag(db.Model):
    """One offer or need of an organisation, from the shared vocabulary ``network.vocabulary.TAGS``."""

    __tablename__ = "organisation_tag"
    __table_args__ = (
        sa.Index("ix_organisation_tag_lookup", "direction", "tag", "organisation_id"),
    )

    organisation_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("organisation.id", ondelete="CASCADE"), primary_key=True
    )
    direction: so.Mapped[str] = so.mapped_column(sa.String(5), primary_key=True)  # offer | need
    tag: so.Mapped[str] = so.mapped_column(sa.String(60), primary_key=True)

    organisation: so.Mapped[Organisation] = so.relationship(back_populates="tags")


class Membership(db.Model):
    """A user acting for an organisation; ``admin`` members approve requests to join."""

    __tablename__ = "membership"

    user_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True
    )
    organisation_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("organisation.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    role: so.Mapped[str] = so.mapped_column(sa.String(10), default="member")  # member | admin
    status: so.Mapped[str] = so.mapped_column(
        sa.String(10), default="approved"
    )  # pending | approved
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    user: so.Mapped[User] = so.relationship(back_populates="memberships")  # noqa: F821
    organisation: so.Mapped[Organisation] = so.relationship(back_populates="memberships")
