"""Load the Münsterland reference data and a synthetic demo network.

Real: municipalities, hospital sites, published GP-supply facts. Synthetic (and flagged so):
every other organisation, all collaborations, positions, trainees and the demo accounts.
Bulk inserts keep 100,000 organisations within a minute on SQLite.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from network.extensions import db
from network.models import (
    Collaboration,
    Membership,
    Municipality,
    Organisation,
    OrganisationTag,
    SupplyFact,
    User,
)
from network.models.base import utcnow
from network.reference import MUNICIPALITY_SOURCE, load_gp_supply, load_municipalities
from network.synthetic import generate_collaborations, generate_organisations

__all__ = ["DEMO_PASSWORD", "DEMO_ACCOUNTS", "DemoSummary", "load_reference_data", "load_demo"]

#: The password of every demo account (printed by ``flask demo load``; never use in production).
DEMO_PASSWORD = "Muensterland-Demo-2026"

#: (email, name, role, language): one account per role.
DEMO_ACCOUNTS: tuple[tuple[str, str, str, str], ...] = (
    ("admin@demo.example.org", "Ada Admin (Demo)", "admin", "de"),
    ("koordination@demo.example.org", "Karla Koordination (Demo)", "coordinator", "de"),
    ("anbieter@demo.example.org", "Paul Praxis (Demo)", "provider", "de"),
    ("azubi@demo.example.org", "Tara Trainee (Demo)", "trainee", "de"),
    ("provider.en@demo.example.org", "Eve English (Demo)", "provider", "en"),
)


Progress = Callable[[str, int, int], None]


@dataclass
class DemoSummary:
    municipalities: int = 0
    organisations: int = 0
    collaborations: int = 0
    accounts: list[tuple[str, str]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


def _numeric(value: str) -> float | None:
    match = re.fullmatch(r"\s*[~<>]?\s*(-?\d+(?:[.,]\d+)?)\s*", value or "")
    return float(match.group(1).replace(",", ".")) if match else None


def load_reference_data() -> int:
    """Insert or update the 66 municipalities and the published supply facts (idempotent)."""
    existing = {m.ags: m for m in db.session.scalars(sa.select(Municipality))}
    for ref in load_municipalities():
        row = existing.get(ref.ags) or Municipality(ags=ref.ags)
        row.name = ref.name
        row.name_official = ref.name_official
        row.municipality_type = ref.municipality_type
        row.kreis_ags = ref.kreis_ags
        row.kreis = ref.kreis
        row.latitude = ref.latitude
        row.longitude = ref.longitude
        row.population = ref.population
        row.population_date = ref.population_date
        row.area_km2 = ref.area_km2
        row.postcode = ref.postcode
        row.urbanisation_degree = ref.urbanisation_degree
        row.model_region = ref.model_region
        row.source = MUNICIPALITY_SOURCE
        db.session.add(row)
    if not db.session.scalar(sa.select(sa.func.count()).select_from(SupplyFact)):
        for fact in load_gp_supply():
            db.session.add(
                SupplyFact(
                    region_type=fact.region_type,
                    region_name=fact.region_name,
                    kreis=fact.kreis,
                    indicator=fact.indicator,
                    value=_numeric(fact.value),
                    value_text=fact.value,
                    unit=fact.unit,
                    as_of=fact.as_of,
                    source_url=fact.source_url,
                    note=fact.note,
                )
            )
    db.session.commit()
    return len(load_municipalities())


def _chunks(items: list[dict], size: int = 5000) -> Iterable[list[dict]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _reset_sequence(table: str) -> None:
    # Explicit ids bypass PostgreSQL's sequence; move it past them.
    if db.engine.dialect.name == "postgresql":
        db.session.execute(
            sa.text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE(MAX(id), 1)) FROM {table}"
            )
        )


def load_demo(
    organisations: int = 600,
    *,
    seed: int = 42,
    mean_degree: float = 6.0,
    progress: Progress | None = None,
    with_accounts: bool = True,
) -> DemoSummary:
    """Load reference data plus ``organisations`` (real hospitals and municipalities included).

    Refuses to run on a database that already holds organisations: the demo is for a fresh
    installation (``make run`` calls it once).
    """
    report = progress or (lambda step, done, total: None)
    summary = DemoSummary()
    summary.municipalities = load_reference_data()
    if db.session.scalar(sa.select(sa.func.count()).select_from(Organisation)):
        raise RuntimeError(
            "Die Datenbank enthält schon Organisationen; Demo-Daten werden nicht erneut geladen."
        )

    generated = generate_organisations(organisations, seed=seed)
    now = utcnow()
    org_rows = [
        {
            "id": o.id,
            "external_id": o.external_id,
            "kind": o.kind,
            "name": o.name,
            "street": o.street,
            "postcode": o.postcode,
            "ags": o.ags,
            "latitude": o.lat,
            "longitude": o.lon,
            "exact_location": o.kind == "hospital" or o.synthetic,
            "contact_name": o.contact_name,
            "contact_email": o.email,
            "phone": o.phone,
            "website": "",
            "description": o.description,
            "services": "",
            "free_tags": "",
            "staff_count": o.staff or None,
            "visibility": "public",
            "synthetic": o.synthetic,
            "source": o.source,
            "created_at": now,
            "updated_at": now,
            "version": 1,
        }
        for o in generated
    ]
    tag_rows = [
        {"organisation_id": o.id, "direction": direction, "tag": tag}
        for o in generated
        for direction, tags in (("offer", o.offers), ("need", o.needs))
        for tag in sorted(tags)
    ]
    done = 0
    for chunk in _chunks(org_rows):
        db.session.execute(sa.insert(Organisation), chunk)
        done += len(chunk)
        report("organisations", done, len(org_rows))
    for chunk in _chunks(tag_rows, 20000):
        db.session.execute(sa.insert(OrganisationTag), chunk)
    _reset_sequence("organisation")
    summary.organisations = len(org_rows)

    edges = generate_collaborations(generated, mean_degree=mean_degree, seed=seed + 1)
    edge_rows = [
        {
            "org_a_id": e.source,
            "org_b_id": e.target,
            "kind": e.kind,
            "status": "active",
            "since": e.since,
            "source": "imported",
            "confirmed_a": True,
            "confirmed_b": True,
            "active_since": now,
            "note": "Synthetische Demo-Kooperation",
            "created_at": now,
            "updated_at": now,
        }
        for e in edges
    ]
    done = 0
    for chunk in _chunks(edge_rows):
        db.session.execute(sa.insert(Collaboration), chunk)
        done += len(chunk)
        report("collaborations", done, len(edge_rows))
    summary.collaborations = len(edge_rows)
    db.session.commit()

    if with_accounts:
        summary.accounts = _load_accounts(generated)
    # Each area may add its demo data (positions, trainees, rounds, recommendations, …).
    from network.cli import _area_modules

    for module in _area_modules("demo"):
        module.load(summary, seed, report)
    db.session.commit()
    return summary


#: What "a practice" means for the demo provider, in order of preference.
PRACTICE_KINDS = ("gp_practice", "specialist_practice", "mvz", "therapy_practice")


def _load_accounts(generated: list) -> list[tuple[str, str]]:
    """Demo accounts; the provider acts for a synthetic practice in Lengerich."""
    accounts = []
    in_lengerich = [o for o in generated if o.synthetic and o.ags == "05566040"]
    practices = sorted(
        (o for o in in_lengerich if o.kind in PRACTICE_KINDS),
        key=lambda o: PRACTICE_KINDS.index(o.kind),
    )
    lengerich = next(
        iter(practices or in_lengerich), next((o for o in generated if o.synthetic), None)
    )
    for email, name, role, language in DEMO_ACCOUNTS:
        user = db.session.scalar(sa.select(User).where(User.email == email))
        if user is None:
            user = User(
                email=email, name=name, role=role, language=language, email_confirmed_at=utcnow()
            )
            user.digest_frequency = "daily" if role in ("coordinator", "admin") else "weekly"
            user.set_password(DEMO_PASSWORD)
            db.session.add(user)
            db.session.flush()
        if role == "provider" and lengerich is not None:
            db.session.merge(
                Membership(
                    user_id=user.id, organisation_id=lengerich.id, role="admin", status="approved"
                )
            )
        accounts.append((email, role))
    db.session.commit()
    return accounts
