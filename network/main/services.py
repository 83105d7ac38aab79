"""Figures for the home page."""

from __future__ import annotations

import sqlalchemy as sa

from network.extensions import db
from network.models import Collaboration, Municipality, Organisation, Position

__all__ = ["home_figures"]


def home_figures() -> dict[str, int]:
    """Counts shown on the public home page."""
    return {
        "organisations": db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Organisation)
            .where(Organisation.visibility == "public")
        )
        or 0,
        "municipalities": db.session.scalar(sa.select(sa.func.count()).select_from(Municipality))
        or 0,
        "collaborations": db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Collaboration)
            .where(Collaboration.status == "active")
        )
        or 0,
        "open_positions": db.session.scalar(
            sa.select(sa.func.count()).select_from(Position).where(Position.status == "open")
        )
        or 0,
    }
