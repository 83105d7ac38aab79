"""Demo content of the rounds area: one placement round, open for rankings, in the model region
Ladbergen–Lengerich–Lienen–Tecklenburg.

Everything here is synthetic and says so: four fictional care services offer nursing
placements (stationäre Langzeitpflege, ambulante Pflege), eight fictional trainees (plus the
demo trainee, if the demo accounts exist) have ranked them, and the providers without a demo
account have ranked their applicants with the proposal by match score. The demo provider
account acts for one of the services and has not ranked yet, so the provider's step can be
tried; the demo coordinator can run and publish the round.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from network.audit import record
from network.extensions import db
from network.models import (
    AllocationRound,
    Membership,
    Municipality,
    Organisation,
    OrganisationTag,
    RoundPlacement,
    RoundTrainee,
    TraineeProfile,
    TraineeRanking,
    User,
)
from network.models.base import utcnow

__all__ = ["load", "ROUND_NAME", "PLACEMENTS", "TRAINEES"]

ROUND_NAME = "Pflichteinsätze Langzeit- und ambulante Pflege (Demo-Runde)"
REGION = ("05566032", "05566040", "05566044", "05566088")

#: (external id, organisation, kind, AGS, street, placement tag, placement name, seats)
PLACEMENTS: tuple[tuple[str, str, str, str, str, str, str, int], ...] = (
    ("DEMO-RUNDE-1", "Seniorenzentrum Am Teuto (Demo)", "care_home", "05566088", "Am Lehmberg 3",
     "placement:longterm_inpatient", "Stationäre Langzeitpflege – Seniorenzentrum Am Teuto", 2),
    ("DEMO-RUNDE-2", "Pflegedienst Lienen mobil (Demo)", "ambulatory_care", "05566044", "Hauptstraße 12",
     "placement:ambulatory", "Ambulante Pflege – Pflegedienst Lienen mobil", 1),
    ("DEMO-RUNDE-3", "Haus Ladbergen Wohnen & Pflege (Demo)", "care_home", "05566032", "Kirchstraße 8",
     "placement:longterm_inpatient", "Stationäre Langzeitpflege – Haus Ladbergen", 2),
    ("DEMO-RUNDE-4", "Ambulante Pflege Lengerich (Demo)", "ambulatory_care", "05566040", "Bahnhofstraße 21",
     "placement:ambulatory", "Ambulante Pflege – Lengerich", 1),
)  # fmt: skip

#: (e-mail, name, home AGS)
TRAINEES: tuple[tuple[str, str, str], ...] = (
    ("azubi.runde1@demo.example.org", "Mia Morgenroth (Demo)", "05566040"),
    ("azubi.runde2@demo.example.org", "Jonas Heidekamp (Demo)", "05566088"),
    ("azubi.runde3@demo.example.org", "Lea Brookmann (Demo)", "05566044"),
    ("azubi.runde4@demo.example.org", "Elif Sonnenfeld (Demo)", "05566032"),
    ("azubi.runde5@demo.example.org", "Noah Wiesenkamp (Demo)", "05566040"),
    ("azubi.runde6@demo.example.org", "Hannah Teutenberg (Demo)", "05566088"),
    ("azubi.runde7@demo.example.org", "Ben Lindenhof (Demo)", "05566044"),
    ("azubi.runde8@demo.example.org", "Sara Kolkmann (Demo)", "05566040"),
)
DEMO_TRAINEE = "azubi@demo.example.org"
DEMO_PROVIDER = "anbieter@demo.example.org"
DEMO_COORDINATOR = "koordination@demo.example.org"

Progress = Callable[[str, int, int], None]


def demo_organisation(row: tuple, places: dict[str, Municipality], now: Any) -> Organisation:
    """The synthetic organisation of one :data:`PLACEMENTS` row, created once (by external id).

    The positions demo borrows the Lengerich care service when the synthetic mix has none there.
    """
    external_id, name, kind, ags, street, tag, _placement, _seats = row
    existing = db.session.scalar(
        sa.select(Organisation).where(Organisation.external_id == external_id)
    )
    if existing is not None:
        return existing
    place = places[ags]
    org = Organisation(
        external_id=external_id,
        kind=kind,
        name=name,
        street=street,
        postcode=place.postcode or "",
        ags=ags,
        latitude=place.latitude,
        longitude=place.longitude,
        exact_location=False,
        description="Frei erfundene Einrichtung für die Demo-Vergaberunde.",
        visibility="public",
        synthetic=True,
        source="Synthetische Demodaten",
        created_at=now,
        updated_at=now,
    )
    org.tags = [
        OrganisationTag(direction="offer", tag=tag),
        OrganisationTag(direction="offer", tag="training:nursing"),
    ]
    db.session.add(org)
    db.session.flush()
    return org


def _trainee(
    email: str, name: str, ags: str, places: dict[str, Municipality], rng: random.Random
) -> User:
    from network.demo import DEMO_PASSWORD

    user = db.session.scalar(sa.select(User).where(User.email == email))
    if user is None:
        user = User(
            email=email, name=name, role="trainee", language="de", email_confirmed_at=utcnow()
        )
        user.digest_frequency = "off"
        user.set_password(DEMO_PASSWORD)
        db.session.add(user)
        db.session.flush()
    if db.session.get(TraineeProfile, user.id) is None:
        place = places[ags]
        db.session.add(
            TraineeProfile(
                user_id=user.id,
                professions=["pflegefachperson"],
                position_types=["placement"],
                home_ags=ags,
                latitude=round(place.latitude + rng.uniform(-0.01, 0.01), 6),
                longitude=round(place.longitude + rng.uniform(-0.01, 0.01), 6),
                max_distance_km=float(rng.choice((15, 20, 25, 30))),
                languages=["de"],
                driving_licence=rng.random() < 0.6,
                about="Synthetisches Demo-Profil.",
                visible_to_providers=True,
                consent_at=utcnow(),
            )
        )
    return user


def load(summary: Any, seed: int, progress: Progress) -> None:
    """Add the demo round (idempotent: nothing happens if a round of that name exists)."""
    from network.rounds.services import _proposal, _store_placement_ranking

    if db.session.scalar(sa.select(AllocationRound.id).where(AllocationRound.name == ROUND_NAME)):
        return
    places = {
        m.ags: m
        for m in db.session.scalars(sa.select(Municipality).where(Municipality.ags.in_(REGION)))
    }
    if len(places) < len(REGION):
        return  # reference data missing: nothing sensible to build
    rng = random.Random(seed + 909)
    now = utcnow()
    coordinator = db.session.scalar(sa.select(User).where(User.email == DEMO_COORDINATOR))
    round_ = AllocationRound(
        name=ROUND_NAME,
        description=(
            "Demo: Pflichteinsätze der generalistischen Pflegeausbildung in Ladbergen, Lengerich, "
            "Lienen und Tecklenburg. Alle Einrichtungen und Personen sind frei erfunden."
        ),
        status="ranking",
        ranking_deadline=(now + timedelta(days=21)).date(),
        created_by_id=coordinator.id if coordinator else None,
        statistics={},
        result_digest="",
    )
    db.session.add(round_)
    db.session.flush()
    actor_id = coordinator.id if coordinator else None
    record("rounds.created", "allocation_round", round_.id, actor_id=actor_id, name=ROUND_NAME)
    placements = []
    for row in PLACEMENTS:
        org = demo_organisation(row, places, now)
        placement = RoundPlacement(
            round_id=round_.id,
            organisation_id=org.id,
            name=row[6],
            placement_tag=row[5],
            seats=row[7],
        )
        db.session.add(placement)
        placements.append(placement)
    record("rounds.opened", "allocation_round", round_.id, actor_id=actor_id)
    db.session.flush()
    progress("rounds", 1, 3)

    trainees = [_trainee(email, name, ags, places, rng) for email, name, ags in TRAINEES]
    demo_trainee = db.session.scalar(
        sa.select(User).where(User.email == DEMO_TRAINEE, User.role == "trainee")
    )
    if demo_trainee is not None:
        trainees.append(_trainee(DEMO_TRAINEE, demo_trainee.name, "05566040", places, rng))
    for user in trainees:
        db.session.add(RoundTrainee(round_id=round_.id, user_id=user.id))
        wanted = rng.sample(placements, k=rng.randint(2, len(placements)))
        for rank, placement in enumerate(wanted, start=1):
            db.session.add(
                TraineeRanking(
                    round_id=round_.id, user_id=user.id, placement_id=placement.id, rank=rank
                )
            )
        record(
            "rounds.trainee_ranking_saved",
            "allocation_round",
            round_.id,
            actor_id=user.id,
            trainee_id=user.id,
            placements=[p.id for p in wanted],
        )
    db.session.flush()
    progress("rounds", 2, 3)

    provider = db.session.scalar(sa.select(User).where(User.email == DEMO_PROVIDER))
    left_for_provider = placements[-1] if provider is not None else None
    if provider is not None:
        db.session.merge(
            Membership(
                user_id=provider.id,
                organisation_id=left_for_provider.organisation_id,
                role="admin",
                status="approved",
            )
        )
    for placement in placements:
        if placement is left_for_provider:
            continue
        applicants = [
            u for u in trainees
            if db.session.get(TraineeRanking, {"round_id": round_.id, "user_id": u.id, "placement_id": placement.id})
        ]  # fmt: skip
        order, _items = _proposal(placement, applicants, "de")
        _store_placement_ranking(round_, placement, order, {u.id: u for u in applicants})
        record(
            "rounds.placement_ranking_saved",
            "allocation_round",
            round_.id,
            actor_id=actor_id,
            placement_id=placement.id,
            trainees=order,
        )
    db.session.commit()
    progress("rounds", 3, 3)
    summary.extra["Vergaberunden"] = (
        f"1 Demo-Runde mit {len(placements)} Einsatzorten und {len(trainees)} Auszubildenden (Rangfolgen offen)"
    )
