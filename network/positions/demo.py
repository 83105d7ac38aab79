"""Synthetic demo positions, trainees, a saved search, an invitation and a few applications.

Everything made here is fictional and flagged: positions carry ``synthetic=True`` and are placed
only at synthetic organisations (never at the real hospitals), the trainee accounts use
``@demo.example.org`` addresses. Dates are relative to the day of loading, so the demo stays
current. The demo trainee ``azubi@demo.example.org`` lives in Ladbergen and finds a nursing
apprenticeship in Lengerich at the top of her ranked search.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa

from network.extensions import db
from network.models import (
    Application,
    Invitation,
    Membership,
    Municipality,
    Organisation,
    OrganisationTag,
    Position,
    SavedSearch,
    TraineeProfile,
    User,
)
from network.models.base import utcnow

__all__ = ["load", "DEMO_TRAINEE_EMAIL", "LENGERICH", "LADBERGEN"]

DEMO_TRAINEE_EMAIL = "azubi@demo.example.org"
LADBERGEN = "05566032"
LENGERICH = "05566040"
SYNTHETIC_TRAINEES = 12

Progress = Callable[[str, int, int], None]

#: Offers of an organisation that become benefits of its positions.
_TAG_BENEFITS = {
    "housing:staff": "housing",
    "childcare": "childcare",
    "shuttle": "mobility",
    "joint_training": "further_training",
}

# (probability, position type, profession, title, seats (low, high), requirements)
_Offer = tuple[float, str, str, str, tuple[int, int], tuple[str, ...]]
_OFFERS: dict[str, tuple[_Offer, ...]] = {
    "hospital": (
        (
            0.95,
            "apprenticeship",
            "pflegefachperson",
            "Ausbildung Pflegefachfrau/-mann {year}",
            (4, 12),
            (),
        ),
        (0.7, "placement", "pflegefachperson", "Praxiseinsatz stationäre Akutpflege", (2, 6), ()),
        (0.5, "pj", "medizin_pj", "PJ-Tertial Innere Medizin", (1, 4), ()),
        (0.4, "apprenticeship", "ota", "Ausbildung OTA {year}", (1, 3), ()),
        (
            0.8,
            "job",
            "pflegefachperson",
            "Pflegefachkraft (m/w/d) Innere Medizin",
            (1, 3),
            ("lang:de",),
        ),
        (0.4, "volunteer", "pflegehilfe", "FSJ/BFD im Krankenhaus", (1, 4), ()),
        (
            0.4,
            "residency",
            "aerztin_arzt",
            "Ärztin/Arzt in Weiterbildung Innere Medizin",
            (1, 2),
            ("lang:de",),
        ),
    ),
    "rehab_clinic": (
        (
            0.5,
            "apprenticeship",
            "pflegefachperson",
            "Ausbildung Pflegefachfrau/-mann {year}",
            (1, 4),
            (),
        ),
        (0.6, "job", "physiotherapie", "Physiotherapeut/in (m/w/d)", (1, 2), ()),
        (0.5, "placement", "physiotherapie", "Praktikum Physiotherapie", (1, 2), ()),
    ),
    "care_home": (
        (
            0.85,
            "apprenticeship",
            "pflegefachperson",
            "Ausbildung Pflegefachfrau/-mann {year}",
            (1, 4),
            (),
        ),
        (
            0.5,
            "apprenticeship",
            "pflegefachassistenz_nrw",
            "Ausbildung Pflegefachassistenz {year}",
            (1, 3),
            (),
        ),
        (
            0.7,
            "placement",
            "pflegefachperson",
            "Praxiseinsatz stationäre Langzeitpflege",
            (1, 3),
            (),
        ),
        (0.4, "volunteer", "pflegehilfe", "FSJ/BFD in der Altenpflege", (1, 3), ()),
        (0.5, "job", "pflegefachperson", "Pflegefachkraft (m/w/d) Langzeitpflege", (1, 2), ()),
        (0.2, "job", "hauswirtschaft", "Hauswirtschaftskraft (m/w/d)", (1, 1), ()),
    ),
    "ambulatory_care": (
        (
            0.7,
            "apprenticeship",
            "pflegefachperson",
            "Ausbildung Pflegefachfrau/-mann {year}",
            (1, 2),
            ("driving_licence",),
        ),
        (0.7, "placement", "pflegefachperson", "Praxiseinsatz ambulante Pflege", (1, 2), ()),
        (
            0.6,
            "job",
            "pflegefachperson",
            "Pflegefachkraft (m/w/d) ambulante Pflege",
            (1, 2),
            ("driving_licence",),
        ),
    ),
    "day_care": (
        (0.4, "placement", "pflegefachperson", "Praxiseinsatz Tagespflege", (1, 2), ()),
        (0.4, "job", "pflegehilfe", "Pflegehelfer/in (m/w/d) Tagespflege", (1, 2), ()),
    ),
    "gp_practice": (
        (
            0.6,
            "apprenticeship",
            "mfa",
            "Ausbildung Medizinische/r Fachangestellte/r {year}",
            (1, 2),
            (),
        ),
        (
            0.35,
            "residency",
            "hausarzt_weiterbildung",
            "Weiterbildungsassistenz Allgemeinmedizin",
            (1, 1),
            (),
        ),
        (0.25, "pj", "medizin_pj", "PJ-Tertial Allgemeinmedizin (Lehrpraxis)", (1, 1), ()),
        (0.3, "job", "mfa", "MFA (m/w/d) in Teilzeit", (1, 1), ()),
    ),
    "specialist_practice": (
        (
            0.5,
            "apprenticeship",
            "mfa",
            "Ausbildung Medizinische/r Fachangestellte/r {year}",
            (1, 2),
            (),
        ),
        (0.3, "job", "mfa", "MFA (m/w/d)", (1, 1), ()),
    ),
    "mvz": (
        (
            0.6,
            "apprenticeship",
            "mfa",
            "Ausbildung Medizinische/r Fachangestellte/r {year}",
            (1, 3),
            (),
        ),
        (0.3, "job", "verwaltung", "Praxismanagement/Verwaltung (m/w/d)", (1, 1), ()),
    ),
    "therapy_practice": (
        (0.5, "placement", "physiotherapie", "Praktikum Physiotherapie", (1, 2), ()),
        (0.2, "placement", "ergotherapie", "Praktikum Ergotherapie", (1, 1), ()),
        (0.4, "job", "physiotherapie", "Physiotherapeut/in (m/w/d)", (1, 1), ()),
        (0.15, "job", "logopaedie", "Logopäde/Logopädin (m/w/d)", (1, 1), ()),
    ),
    "pharmacy": (
        (0.5, "placement", "pta", "Praktikum PTA (6 Monate)", (1, 1), ()),
        (0.3, "job", "pta", "PTA (m/w/d)", (1, 1), ()),
    ),
    "rescue_station": (
        (
            0.7,
            "apprenticeship",
            "notfallsanitaeter",
            "Ausbildung Notfallsanitäter/in {year}",
            (1, 3),
            ("driving_licence",),
        ),
        (
            0.4,
            "volunteer",
            "notfallsanitaeter",
            "FSJ im Rettungsdienst",
            (1, 2),
            ("driving_licence",),
        ),
    ),
    "sme": (
        (0.1, "job", "verwaltung", "Verwaltung/Büro (m/w/d), Gesundheitswirtschaft", (1, 1), ()),
    ),
}

_DESCRIPTION = (
    "Synthetisches Demo-Angebot: {organisation} in {place} sucht Verstärkung. Wir bieten eine "
    "strukturierte Einarbeitung, feste Ansprechpersonen und ein Team, das sich auf Sie freut.\n\n"
    "Dieses Angebot ist frei erfunden und dient nur der Vorführung der Plattform."
)

_FIRST_NAMES = (
    "Mia", "Noah", "Emma", "Leon", "Hannah", "Finn", "Lea", "Elias", "Lina", "Jonas", "Marie",
    "Paul", "Zeynep", "Mateusz", "Olena", "Amir", "Sofia", "Luca",
)  # fmt: skip
_LAST_NAMES = (
    "Beispiel", "Muster", "Probe", "Demo", "Fiktiv", "Erdacht", "Ausgedacht", "Testfeld",
)  # fmt: skip
_TRAINEE_WISHES = (
    (("pflegefachperson",), ("apprenticeship",)),
    (("pflegefachperson",), ("placement",)),
    (("mfa",), ("apprenticeship",)),
    (("notfallsanitaeter",), ("apprenticeship", "volunteer")),
    (("physiotherapie",), ("placement", "job")),
    (("pflegefachassistenz_nrw", "pflegefachperson"), ("apprenticeship",)),
    (("medizin_pj",), ("pj",)),
    (("hausarzt_weiterbildung",), ("residency",)),
    (("pflegehilfe",), ("volunteer",)),
)


def _next_date(today: date, month: int, day: int, lead_days: int = 30) -> date:
    candidate = date(today.year, month, day)
    if candidate < today + timedelta(days=lead_days):
        candidate = date(today.year + 1, month, day)
    return candidate


def _first_of_month_after(today: date, days: int) -> date:
    moment = today + timedelta(days=days)
    return date(moment.year + (moment.month // 12), moment.month % 12 + 1, 1)


def _start(kind: str, today: date, rng: random.Random) -> date | None:
    if kind == "apprenticeship":
        return _next_date(today, *rng.choice(((8, 1), (10, 1))), lead_days=45)
    if kind == "pj":
        return _next_date(today, *rng.choice(((5, 15), (11, 15))))
    if kind == "volunteer":
        return _next_date(today, *rng.choice(((8, 1), (9, 1))))
    if kind == "placement":
        return _first_of_month_after(today, rng.randint(20, 200))
    if rng.random() < 0.5:
        return None  # by arrangement
    return _first_of_month_after(today, rng.randint(10, 120))


def _deadline(start: date | None, today: date, rng: random.Random) -> date | None:
    if start is None:
        return None if rng.random() < 0.5 else today + timedelta(days=rng.randint(20, 90))
    return max(today + timedelta(days=7), start - timedelta(days=rng.randint(14, 60)))


def _hours(kind: str, rng: random.Random) -> float | None:
    if kind in ("apprenticeship", "placement", "volunteer", "pj"):
        return 39.0 if kind == "volunteer" else 38.5
    return float(rng.choice((20, 25, 30, 38.5, 40)))


def _reset_sequence(table: str) -> None:
    if db.engine.dialect.name == "postgresql":
        db.session.execute(
            sa.text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE(MAX(id), 1)) FROM {table}"
            )
        )


def _position_rows(
    organisations: list[Any],
    benefits_by_org: dict[int, set[str]],
    places: dict[str, str],
    rng: random.Random,
) -> list[dict[str, Any]]:
    today = date.today()
    now = utcnow()
    rows: list[dict[str, Any]] = []
    for org in organisations:
        for probability, kind, profession, title, (low, high), requirements in _OFFERS.get(
            org.kind, ()
        ):
            if rng.random() >= probability:
                continue
            start = _start(kind, today, rng)
            benefits = set(benefits_by_org.get(org.id, ()))
            if kind == "job" and rng.random() < 0.3:
                benefits.add("flexible_hours")
            if rng.random() < 0.25:
                benefits.add("further_training")
            rows.append(
                {
                    "organisation_id": org.id,
                    "position_type": kind,
                    "profession": profession,
                    "title": title.format(year=start.year if start else today.year),
                    "description": _DESCRIPTION.format(
                        organisation=org.name, place=places.get(org.ags, "")
                    ),
                    "requirements": sorted(requirements),
                    "requirements_text": "",
                    "benefits": sorted(benefits),
                    "seats": rng.randint(low, high),
                    "start_date": start,
                    "end_date": start + timedelta(weeks=rng.choice((8, 12, 16)))
                    if kind in ("placement", "pj") and start
                    else None,
                    "hours_per_week": _hours(kind, rng),
                    "deadline": _deadline(start, today, rng),
                    "status": "filled" if rng.random() < 0.04 else "open",
                    "ags": org.ags,
                    "latitude": org.latitude,
                    "longitude": org.longitude,
                    "synthetic": True,
                    "created_at": now - timedelta(hours=rng.randint(0, 24 * 30)),
                    "updated_at": now,
                }
            )
    return rows


def _lengerich_apprenticeship(
    organisations: list[Any], places: dict[str, str]
) -> dict[str, Any] | None:
    """The nursing apprenticeship in Lengerich the demo trainee from Ladbergen should find first."""
    in_lengerich = [o for o in organisations if o.ags == LENGERICH]
    preferred = [o for o in in_lengerich if o.kind in ("hospital", "care_home", "ambulatory_care")]
    org = preferred[0] if preferred else _demo_care_service_in_lengerich()
    if org is None:
        return None
    today = date.today()
    start = _next_date(today, 8, 1, lead_days=45)
    return {
        "organisation_id": org.id,
        "position_type": "apprenticeship",
        "profession": "pflegefachperson",
        "title": f"Ausbildung Pflegefachfrau/-mann {start.year} in Lengerich",
        "description": _DESCRIPTION.format(
            organisation=org.name, place=places.get(LENGERICH, "Lengerich")
        )
        + "\n\nFür Auszubildende von außerhalb stellen wir eine möblierte Wohnung.",
        "requirements": [],
        "requirements_text": "Mittlerer Schulabschluss oder gleichwertig.",
        "benefits": ["further_training", "housing", "mobility"],
        "seats": 4,
        "start_date": start,
        "end_date": None,
        "hours_per_week": 38.5,
        "deadline": max(today + timedelta(days=21), start - timedelta(days=30)),
        "status": "open",
        "ags": org.ags,
        "latitude": org.latitude,
        "longitude": org.longitude,
        "synthetic": True,
        "created_at": utcnow() - timedelta(days=2),
        "updated_at": utcnow(),
    }


def _demo_care_service_in_lengerich() -> Any:
    """A nursing apprenticeship needs a care provider; the synthetic mix may have none in
    Lengerich, so the demo round's Lengerich care service is created now (the round reuses it)."""
    from network.rounds.demo import PLACEMENTS, demo_organisation

    row = next((r for r in PLACEMENTS if r[3] == LENGERICH), None)
    place = db.session.get(Municipality, LENGERICH)
    if row is None or place is None:
        return None
    return demo_organisation(row, {LENGERICH: place}, utcnow())


def _trainee(email: str, name: str, password_hash: str) -> User:
    user = db.session.scalar(sa.select(User).where(User.email == email))
    if user is None:
        user = User(
            email=email, name=name, role="trainee", language="de", email_confirmed_at=utcnow()
        )
        user.digest_frequency = "weekly"
        user.password_hash = password_hash
        db.session.add(user)
        db.session.flush()
    return user


def _load_people(
    rng: random.Random, lengerich_id: int | None, position_ids: list[int], extra: dict[str, Any]
) -> None:
    """Trainee profiles, the demo trainee's saved search and invitation, a few applications."""
    azubi = db.session.scalar(sa.select(User).where(User.email == DEMO_TRAINEE_EMAIL))
    if azubi is None:
        return  # loaded without demo accounts (benchmarks): no people either
    today = date.today()
    now = utcnow()
    db.session.merge(
        TraineeProfile(
            user_id=azubi.id,
            professions=["pflegefachperson"],
            position_types=["apprenticeship"],
            home_ags=LADBERGEN,
            max_distance_km=25.0,
            earliest_start=_next_date(today, 8, 1, lead_days=45) - timedelta(days=14),
            qualifications="Mittlerer Schulabschluss; Praktikum in einem Pflegeheim",
            languages=["de", "en"],
            driving_licence=False,
            wanted_benefits=["housing"],
            about="Synthetische Demo-Person: Ich möchte Pflegefachfrau werden, am liebsten in der Nähe von Ladbergen.",
            visible_to_providers=True,
            consent_at=now,
        )
    )
    db.session.add(
        SavedSearch(
            user_id=azubi.id,
            name="Pflege-Ausbildung rund um Ladbergen",
            params={
                "art": ["apprenticeship"],
                "beruf": ["pflegefachperson"],
                "ort": LADBERGEN,
                "umkreis": 25,
            },
            last_seen_at=now - timedelta(days=7),
        )
    )
    municipalities = db.session.scalars(
        sa.select(Municipality.ags).order_by(Municipality.ags)
    ).all()
    # One (deliberately slow) scrypt hash of the shared demo password serves every demo trainee.
    from network.demo import DEMO_PASSWORD

    password_holder = User()
    password_holder.set_password(DEMO_PASSWORD)
    trainees = []
    for number in range(1, SYNTHETIC_TRAINEES + 1):
        name = f"{rng.choice(_FIRST_NAMES)} {rng.choice(_LAST_NAMES)} (Demo)"
        user = _trainee(
            f"trainee{number:02d}@demo.example.org", name, password_holder.password_hash
        )
        wanted_professions, wanted_types = _TRAINEE_WISHES[(number - 1) % len(_TRAINEE_WISHES)]
        home = LENGERICH if number <= 3 else rng.choice(municipalities)
        visible = number % 4 != 0  # a quarter keep their profile to themselves
        db.session.merge(
            TraineeProfile(
                user_id=user.id,
                professions=list(wanted_professions),
                position_types=list(wanted_types),
                home_ags=home,
                max_distance_km=float(rng.choice((15, 20, 25, 30, 40))),
                earliest_start=today + timedelta(days=rng.randint(0, 240)),
                qualifications=rng.choice(
                    ("Abitur", "Mittlerer Schulabschluss", "Hauptschulabschluss, Praktika")
                ),
                languages=sorted(
                    {"de"}
                    | (
                        {rng.choice(("en", "pl", "tr", "uk", "ar"))}
                        if rng.random() < 0.5
                        else set()
                    )
                ),
                driving_licence=rng.random() < 0.6,
                wanted_benefits=sorted(
                    rng.sample(
                        ["housing", "childcare", "mobility", "flexible_hours"], rng.randint(0, 2)
                    )
                ),
                about="Synthetische Demo-Person.",
                visible_to_providers=visible,
                consent_at=now if visible else None,
            )
        )
        trainees.append(user)
    db.session.flush()
    applications = 0
    if lengerich_id is not None:
        provider_id = db.session.scalar(
            sa.select(User.id).where(User.email == "anbieter@demo.example.org")
        )
        db.session.add(
            Invitation(
                position_id=lengerich_id,
                trainee_id=azubi.id,
                invited_by_id=provider_id,
                message="Synthetische Demo-Einladung: Wir würden Sie gern kennenlernen!",
            )
        )
    # The demo provider's organisation gets applications, so its pages are not empty.
    provider_orgs = db.session.scalars(
        sa.select(Membership.organisation_id)
        .join(User, User.id == Membership.user_id)
        .where(User.email == "anbieter@demo.example.org")
    ).all()
    provider_positions = (
        db.session.scalars(
            sa.select(Position.id).where(
                Position.organisation_id.in_(provider_orgs), Position.status == "open"
            )
        ).all()
        if provider_orgs
        else []
    )
    targets = list(provider_positions[:2]) + rng.sample(position_ids, min(4, len(position_ids)))
    for trainee, position_id in zip(trainees, targets, strict=False):
        db.session.add(
            Application(
                position_id=position_id,
                trainee_id=trainee.id,
                applicant_name=trainee.name,
                applicant_email=trainee.email,
                message="Synthetische Demo-Bewerbung: Ich interessiere mich sehr für dieses Angebot.",
                status=rng.choice(("received", "received", "interview")),
                created_at=now - timedelta(days=rng.randint(0, 10)),
            )
        )
        applications += 1
    extra["Trainee-Profile (synthetisch)"] = SYNTHETIC_TRAINEES + 1
    extra["Bewerbungen (synthetisch)"] = applications
    extra["Demo-Trainees"] = (
        f"trainee01 … trainee{SYNTHETIC_TRAINEES:02d}@demo.example.org (Demo-Passwort)"
    )


def load(summary: Any, seed: int, progress: Progress) -> None:
    """Add synthetic positions for the synthetic organisations, and trainees with profiles."""
    rng = random.Random(seed * 7919 + 8)
    organisations = db.session.execute(
        sa.select(
            Organisation.id,
            Organisation.kind,
            Organisation.name,
            Organisation.ags,
            Organisation.latitude,
            Organisation.longitude,
        )
        .where(Organisation.synthetic.is_(True))
        .order_by(Organisation.id)
    ).all()
    places = dict(db.session.execute(sa.select(Municipality.ags, Municipality.name)).all())
    benefits_by_org: dict[int, set[str]] = {}
    for org_id, tag in db.session.execute(
        sa.select(OrganisationTag.organisation_id, OrganisationTag.tag).where(
            OrganisationTag.direction == "offer", OrganisationTag.tag.in_(list(_TAG_BENEFITS))
        )
    ):
        benefits_by_org.setdefault(org_id, set()).add(_TAG_BENEFITS[tag])

    rows = _position_rows(list(organisations), benefits_by_org, places, rng)
    showcase = _lengerich_apprenticeship(list(organisations), places)
    if showcase is not None:
        rows.insert(0, showcase)
    first_id = (db.session.scalar(sa.select(sa.func.max(Position.id))) or 0) + 1
    for offset, row in enumerate(rows):
        row["id"] = first_id + offset
    done = 0
    for start in range(0, len(rows), 5000):
        chunk = rows[start : start + 5000]
        # Core executemany: one statement per chunk (the ORM bulk path splits on None patterns).
        db.session.execute(Position.__table__.insert(), chunk)
        done += len(chunk)
        progress("positions", done, len(rows))
    _reset_sequence("position")
    summary.extra["Stellen und Praxiseinsätze (synthetisch)"] = len(rows)

    open_ids = [r["id"] for r in rows if r["status"] == "open"]
    _load_people(rng, showcase["id"] if showcase else None, open_ids, summary.extra)
    db.session.commit()
