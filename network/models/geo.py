"""Municipalities: the real places the network lives in."""

from __future__ import annotations

import sqlalchemy as sa
import sqlalchemy.orm as so

from network.extensions import db
from network.vocabulary import MODEL_REGIONS

__all__ = ["Municipality"]


class Municipality(db.Model):
    """A Gemeinde or Stadt, keyed by its 8-digit AGS (kept as text with the leading zero)."""

    __tablename__ = "municipality"

    ags: so.Mapped[str] = so.mapped_column(sa.String(8), primary_key=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(120), index=True)
    name_official: so.Mapped[str] = so.mapped_column(sa.String(200))
    municipality_type: so.Mapped[str] = so.mapped_column(sa.String(40))
    kreis_ags: so.Mapped[str] = so.mapped_column(sa.String(5), index=True)
    kreis: so.Mapped[str] = so.mapped_column(sa.String(120))
    latitude: so.Mapped[float] = so.mapped_column(sa.Float)
    longitude: so.Mapped[float] = so.mapped_column(sa.Float)
    population: so.Mapped[int] = so.mapped_column(sa.Integer)
    population_date: so.Mapped[str] = so.mapped_column(sa.String(10))
    area_km2: so.Mapped[float] = so.mapped_column(sa.Float)
    postcode: so.Mapped[str] = so.mapped_column(sa.String(5))
    urbanisation_degree: so.Mapped[int] = so.mapped_column(sa.SmallInteger)
    model_region: so.Mapped[str | None] = so.mapped_column(sa.String(60), index=True)
    source: so.Mapped[str] = so.mapped_column(sa.Text, default="")

    @property
    def model_region_name(self) -> str | None:
        if self.model_region is None:
            return None
        return MODEL_REGIONS[self.model_region][0]

    def __repr__(self) -> str:
        return f"<Municipality {self.ags} {self.name}>"
