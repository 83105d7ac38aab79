"""Demo announcements, so that the first digests and the events page have something to show.

The events are fictional (clearly marked "(Demo)") and dated relative to the day of loading.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from network.extensions import db
from network.models import Announcement, User
from network.models.base import utcnow

__all__ = ["load", "ANNOUNCEMENTS"]

#: (title, body, days from today, place)
ANNOUNCEMENTS = (
    (
        "Netzwerktreffen Pflegeausbildung (Demo)",
        "Praxisanleitungen, Pflegeschulen und Kliniken planen gemeinsam die Einsätze des nächsten "
        "Ausbildungsjahrgangs. Bitte bringen Sie freie Einsatzplätze mit.",
        14,
        "Kreishaus Steinfurt",
    ),
    (
        "Sprechstunde Telemedizin für Hausarztpraxen (Demo)",
        "Wie Praxis und Klinik Befunde sicher teilen: Erfahrungen aus dem Tecklenburger Land.",
        30,
        "online",
    ),
    (
        "Neue Broschüre: Wohnen für Auszubildende (Demo)",
        "Die Kommunen des Netzwerks haben Angebote für Wohnraum in Ausbildung zusammengestellt.",
        None,
        "",
    ),
)


def load(summary: Any, seed: int, progress: Callable[[str, int, int], None]) -> None:
    """Add the demo announcements once (``seed`` is unused: the content is fixed text)."""
    if db.session.scalar(sa.select(sa.func.count()).select_from(Announcement)):
        return
    author = db.session.scalar(
        sa.select(User.id).where(User.role == "coordinator").order_by(User.id)
    )
    today = utcnow().date()
    for done, (title, body, days, place) in enumerate(ANNOUNCEMENTS, start=1):
        db.session.add(
            Announcement(
                title=title,
                body=body,
                event_date=today + timedelta(days=days) if days is not None else None,
                location=place,
                created_by_id=author,
            )
        )
        progress("announcements", done, len(ANNOUNCEMENTS))
    db.session.commit()
    summary.extra["Ankündigungen"] = len(ANNOUNCEMENTS)
