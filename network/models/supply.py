"""Supply figures, action recommendations and the marketing toolbox."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from network.extensions import db
from network.models.base import TagList, UTCDateTime, utcnow

__all__ = ["SupplyFact", "PlanningFigure", "Recommendation", "ToolboxItem", "CampaignPage"]


class SupplyFact(db.Model):
    """A published fact on care supply (e.g. a KVWL Versorgungsgrad), with its source and date.

    ``value`` is numeric where the source gives a number; ``value_text`` keeps what the source
    said (``>100``, ``~80``, ``yes``).
    """

    __tablename__ = "supply_fact"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    region_type: so.Mapped[str] = so.mapped_column(sa.String(40))
    region_name: so.Mapped[str] = so.mapped_column(sa.String(120), index=True)
    kreis: so.Mapped[str] = so.mapped_column(sa.String(120), default="")
    indicator: so.Mapped[str] = so.mapped_column(sa.String(80), index=True)
    value: so.Mapped[float | None] = so.mapped_column(sa.Float)
    value_text: so.Mapped[str] = so.mapped_column(sa.String(80), default="")
    unit: so.Mapped[str] = so.mapped_column(sa.String(60), default="")
    as_of: so.Mapped[str] = so.mapped_column(sa.String(120), default="")
    source_url: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    note: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)


class PlanningFigure(db.Model):
    """Official demand-planning figures uploaded by a coordinator (one row per area, specialty
    and date). ``municipalities`` lists the AGS codes the planning area covers."""

    __tablename__ = "planning_figure"
    __table_args__ = (sa.UniqueConstraint("planning_area", "specialty", "as_of"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    planning_area: so.Mapped[str] = so.mapped_column(sa.String(120), index=True)
    specialty: so.Mapped[str] = so.mapped_column(sa.String(60))
    physicians_fte: so.Mapped[float] = so.mapped_column(sa.Float)
    inhabitants: so.Mapped[int] = so.mapped_column(sa.Integer)
    #: Inhabitants per physician of the planning guideline; ``None`` uses the specialty default.
    ratio: so.Mapped[float | None] = so.mapped_column(sa.Float)
    as_of: so.Mapped[str] = so.mapped_column(sa.String(10))
    source: so.Mapped[str] = so.mapped_column(sa.String(400), default="")
    municipalities: so.Mapped[list] = so.mapped_column(TagList, default=list)
    uploaded_by_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)


class Recommendation(db.Model):
    """An action recommendation (Handlungsempfehlung) from the model municipalities' work."""

    __tablename__ = "recommendation"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    title: so.Mapped[str] = so.mapped_column(sa.String(200))
    summary: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    body: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    topics: so.Mapped[list] = so.mapped_column(TagList, default=list)
    effort: so.Mapped[str] = so.mapped_column(sa.String(10), default="medium")  # low|medium|high
    actors: so.Mapped[str] = so.mapped_column(sa.String(300), default="")
    examples: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    created_by_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    updated_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ToolboxItem(db.Model):
    """A downloadable marketing material with its licence and usage notes."""

    __tablename__ = "toolbox_item"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    title: so.Mapped[str] = so.mapped_column(sa.String(200))
    description: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    category: so.Mapped[str] = so.mapped_column(sa.String(30), default="template")
    original_filename: so.Mapped[str] = so.mapped_column(sa.String(200))
    stored_name: so.Mapped[str] = so.mapped_column(sa.String(80), unique=True)
    mime_type: so.Mapped[str] = so.mapped_column(sa.String(100))
    size_bytes: so.Mapped[int] = so.mapped_column(sa.Integer)
    sha256: so.Mapped[str] = so.mapped_column(sa.String(64))
    licence: so.Mapped[str] = so.mapped_column(sa.String(200))
    usage_notes: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    uploaded_by_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)


class CampaignPage(db.Model):
    """A public page that presents a municipality's or region's employers and open positions."""

    __tablename__ = "campaign_page"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    slug: so.Mapped[str] = so.mapped_column(sa.String(80), unique=True)
    title: so.Mapped[str] = so.mapped_column(sa.String(200))
    intro: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    #: Scope: a municipality (AGS), a model region slug or a Kreis AGS; the rest is empty.
    ags: so.Mapped[str | None] = so.mapped_column(sa.ForeignKey("municipality.ags"))
    model_region: so.Mapped[str | None] = so.mapped_column(sa.String(60))
    kreis_ags: so.Mapped[str | None] = so.mapped_column(sa.String(5))
    published: so.Mapped[bool] = so.mapped_column(sa.Boolean, default=False)
    created_by_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    updated_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
