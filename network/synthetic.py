"""Synthetic demo providers and collaborations on top of the real Münsterland.

Everything this module invents is **synthetic**: the practices, care services, schools and
companies, their names, addresses, contacts, offers, needs and collaborations are fictional and
flagged with ``synthetic=True``. What is real: the 66 municipalities (AGS, population,
coordinates), the 51 hospital sites of the hospital register (as of 2020-03-08) and the
municipalities as organisations. Those keep ``synthetic=False`` and name their source.

The generator is seeded and vectorised with numpy so that it scales from a few hundred
organisations (the demo) to 100,000 and more (benchmarks). Collaborations follow the structure of
real regional networks: mostly local, hospitals, schools and municipalities as hubs, partners
chosen by kind affinity, distance decay and complementary offers and needs, triadic closure
(partners of partners meet), some links across municipal borders and a few isolated providers.

It imports only the standard library, numpy and the package's reference data, so benchmarks and
the pure domain packages can use it without an app.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from network.reference import (
    HOSPITAL_SOURCE,
    MUNICIPALITY_SOURCE,
    Municipality,
    load_hospitals,
    load_municipalities,
)
from network.vocabulary import TAGS

__all__ = [
    "SYNTHETIC_NOTICE",
    "SyntheticOrganisation",
    "SyntheticCollaboration",
    "generate_organisations",
    "generate_collaborations",
    "generate_network",
    "KIND_SHARES",
]

SYNTHETIC_NOTICE = (
    "Synthetische Demodaten: Diese Organisation ist frei erfunden (nur Gemeinde, Einwohnerzahl und "
    "Koordinaten sind real). / Synthetic demo data: this organisation is fictional."
)

#: Share of each kind among the generated (synthetic) organisations.
KIND_SHARES: dict[str, float] = {
    "gp_practice": 0.21,
    "specialist_practice": 0.14,
    "therapy_practice": 0.13,
    "pharmacy": 0.09,
    "ambulatory_care": 0.09,
    "care_home": 0.08,
    "sme": 0.09,
    "day_care": 0.04,
    "mvz": 0.03,
    "school": 0.025,
    "rescue_station": 0.02,
    "association": 0.02,
    "rehab_clinic": 0.01,
    "hospital": 0.005,
}

# Probability of each offer / need per kind: the profile of a typical organisation of that kind.
_OFFER_PROFILE: dict[str, dict[str, float]] = {
    "hospital": {
        "placement:acute_inpatient": 0.95,
        "placement:orientation": 0.7,
        "training:nursing": 0.8,
        "telemedicine": 0.5,
        "joint_training": 0.6,
        "placement:paediatric": 0.3,
        "placement:psychiatric": 0.2,
        "emergency_care": 0.6,
        "placement:specialisation": 0.5,
    },
    "rehab_clinic": {"placement:further": 0.8, "therapy": 0.6, "joint_training": 0.3},
    "gp_practice": {"gp_training": 0.3, "telemedicine": 0.1},
    "specialist_practice": {
        "placement:paediatric": 0.12,
        "placement:psychiatric": 0.08,
        "telemedicine": 0.2,
    },
    "mvz": {"gp_training": 0.6, "telemedicine": 0.5, "practice_space": 0.3, "shared_staff": 0.3},
    "ambulatory_care": {"placement:ambulatory": 0.9, "placement:orientation": 0.3},
    "care_home": {
        "placement:longterm_inpatient": 0.9,
        "training:nursing": 0.4,
        "placement:orientation": 0.3,
    },
    "day_care": {"placement:longterm_inpatient": 0.3, "placement:further": 0.2},
    "therapy_practice": {"therapy": 0.9, "joint_training": 0.1},
    "pharmacy": {"digital_support": 0.1, "joint_training": 0.1},
    "rescue_station": {"emergency_care": 0.9, "joint_training": 0.5},
    "school": {"joint_training": 0.9, "training:nursing": 0.8},
    "sme": {"housing:staff": 0.4, "childcare": 0.3, "shuttle": 0.3, "digital_support": 0.3},
    "municipality": {"marketing": 0.9, "practice_space": 0.4, "housing:staff": 0.3},
    "association": {"marketing": 0.5, "joint_training": 0.5},
}
_NEED_PROFILE: dict[str, dict[str, float]] = {
    "hospital": {
        "housing:staff": 0.5,
        "childcare": 0.4,
        "placement:longterm_inpatient": 0.5,
        "placement:ambulatory": 0.5,
        "placement:psychiatric": 0.3,
        "shuttle": 0.2,
    },
    "rehab_clinic": {"housing:staff": 0.4, "shuttle": 0.4},
    "gp_practice": {
        "succession": 0.3,
        "telemedicine": 0.3,
        "shared_staff": 0.2,
        "digital_support": 0.3,
    },
    "specialist_practice": {"digital_support": 0.3, "succession": 0.2},
    "mvz": {"digital_support": 0.2, "housing:staff": 0.2},
    "ambulatory_care": {
        "placement:acute_inpatient": 0.5,
        "placement:longterm_inpatient": 0.4,
        "placement:paediatric": 0.5,
        "placement:psychiatric": 0.5,
        "shuttle": 0.4,
        "childcare": 0.3,
    },
    "care_home": {
        "placement:acute_inpatient": 0.6,
        "placement:paediatric": 0.5,
        "placement:psychiatric": 0.5,
        "placement:ambulatory": 0.3,
        "telemedicine": 0.4,
        "housing:staff": 0.3,
        "childcare": 0.3,
    },
    "day_care": {"shuttle": 0.5, "placement:acute_inpatient": 0.2},
    "therapy_practice": {"shared_staff": 0.3, "childcare": 0.2, "practice_space": 0.2},
    "pharmacy": {"shared_staff": 0.2},
    "rescue_station": {"housing:staff": 0.3, "joint_training": 0.3},
    "school": {
        "placement:acute_inpatient": 0.5,
        "placement:longterm_inpatient": 0.5,
        "placement:ambulatory": 0.6,
        "placement:paediatric": 0.7,
        "placement:psychiatric": 0.7,
    },
    "sme": {"marketing": 0.3},
    "municipality": {"succession": 0.5, "telemedicine": 0.3},
    "association": {"marketing": 0.3},
}

# How readily two kinds work together (symmetric; missing pairs use the default).
_DEFAULT_AFFINITY = 0.15
_AFFINITY: dict[frozenset[str], float] = {
    frozenset({"hospital"}): 0.6,
    frozenset({"hospital", "gp_practice"}): 1.0,
    frozenset({"hospital", "specialist_practice"}): 0.9,
    frozenset({"hospital", "mvz"}): 1.0,
    frozenset({"hospital", "care_home"}): 1.0,
    frozenset({"hospital", "ambulatory_care"}): 0.9,
    frozenset({"hospital", "school"}): 1.2,
    frozenset({"hospital", "rescue_station"}): 1.0,
    frozenset({"hospital", "rehab_clinic"}): 0.8,
    frozenset({"hospital", "therapy_practice"}): 0.5,
    frozenset({"gp_practice"}): 0.5,
    frozenset({"gp_practice", "specialist_practice"}): 0.8,
    frozenset({"gp_practice", "mvz"}): 0.9,
    frozenset({"gp_practice", "pharmacy"}): 0.7,
    frozenset({"gp_practice", "care_home"}): 0.8,
    frozenset({"gp_practice", "ambulatory_care"}): 0.8,
    frozenset({"gp_practice", "therapy_practice"}): 0.6,
    frozenset({"specialist_practice", "mvz"}): 0.6,
    frozenset({"specialist_practice", "therapy_practice"}): 0.5,
    frozenset({"care_home", "ambulatory_care"}): 0.7,
    frozenset({"care_home", "school"}): 1.0,
    frozenset({"care_home", "therapy_practice"}): 0.6,
    frozenset({"care_home", "day_care"}): 0.6,
    frozenset({"care_home", "pharmacy"}): 0.5,
    frozenset({"ambulatory_care", "school"}): 1.0,
    frozenset({"ambulatory_care", "day_care"}): 0.7,
    frozenset({"ambulatory_care", "pharmacy"}): 0.4,
    frozenset({"school"}): 0.3,
    frozenset({"school", "rescue_station"}): 0.5,
    frozenset({"rehab_clinic", "therapy_practice"}): 0.7,
    frozenset({"sme", "care_home"}): 0.5,
    frozenset({"sme", "ambulatory_care"}): 0.5,
    frozenset({"sme", "hospital"}): 0.4,
    frozenset({"sme", "municipality"}): 0.6,
    frozenset({"municipality", "gp_practice"}): 0.5,
    frozenset({"municipality", "association"}): 1.0,
    frozenset({"municipality", "hospital"}): 0.6,
    frozenset({"municipality"}): 0.6,
    frozenset({"association", "hospital"}): 0.6,
    frozenset({"association", "sme"}): 0.5,
    frozenset({"rescue_station", "gp_practice"}): 0.3,
    frozenset({"mvz", "care_home"}): 0.6,
}

# Relative number of partners: hubs reach many more organisations than a single practice.
_HUB_FACTOR: dict[str, float] = {
    "hospital": 4.0,
    "school": 3.0,
    "municipality": 3.0,
    "mvz": 1.8,
    "association": 2.0,
    "rehab_clinic": 1.5,
    "care_home": 1.2,
    "ambulatory_care": 1.2,
    "rescue_station": 1.0,
    "gp_practice": 0.9,
    "specialist_practice": 0.7,
    "therapy_practice": 0.6,
    "day_care": 0.6,
    "pharmacy": 0.5,
    "sme": 0.5,
}

_SURNAMES = [
    "Albers",
    "Becker",
    "Bergmann",
    "Brüggemann",
    "Deitmer",
    "Dreier",
    "Eilers",
    "Feldkamp",
    "Frerichs",
    "Gerdes",
    "Hagedorn",
    "Hesselmann",
    "Hoffmann",
    "Hölscher",
    "Janning",
    "Kamphues",
    "Kleine",
    "Krabbe",
    "Kuhlmann",
    "Lammers",
    "Lütke",
    "Meier",
    "Menke",
    "Niehues",
    "Ostendorf",
    "Overbeck",
    "Pieper",
    "Rottmann",
    "Schulze",
    "Schwering",
    "Sommer",
    "Stegemann",
    "Terhorst",
    "Uhlenbrock",
    "Vennemann",
    "Vogel",
    "Wessels",
    "Wiesmann",
    "Wilmer",
    "Winkelmann",
    "Wolters",
    "Zumbusch",
]
_STREETS = [
    "Hauptstraße",
    "Bahnhofstraße",
    "Kirchstraße",
    "Marktplatz",
    "Gartenstraße",
    "Schulstraße",
    "Lindenweg",
    "Mühlenstraße",
    "Ringstraße",
    "Am",
    "Stadtpark",
    "Emsstraße",
    "Feldweg",
    "Parkallee",
    "Rosenstraße",
    "Wiesenweg",
]
_NAME_PATTERNS: dict[str, tuple[str, ...]] = {
    "hospital": ("{town}er Klinikum (fiktiv)", "Klinik am {street_short} {town}"),
    "rehab_clinic": ("Reha-Zentrum {town}", "Kurklinik {surname}"),
    "gp_practice": ("Hausarztpraxis Dr. {surname}", "Hausärztliche Gemeinschaftspraxis {surname}"),
    "specialist_practice": (
        "Kinderarztpraxis Dr. {surname}",
        "Praxis für Psychiatrie Dr. {surname}",
        "Orthopädie {surname}",
        "Augenarztpraxis Dr. {surname}",
        "Internistische Praxis {surname}",
    ),
    "mvz": ("MVZ {town}", "Medizinisches Versorgungszentrum {surname}"),
    "ambulatory_care": ("Pflegedienst {surname}", "Ambulante Pflege {town}"),
    "care_home": ("Seniorenzentrum {surname}", "Haus {surname} – Pflege & Wohnen"),
    "day_care": ("Tagespflege {town}", "Tagespflege am {street_short}"),
    "therapy_practice": (
        "Physiotherapie {surname}",
        "Ergotherapie {surname}",
        "Logopädie {surname}",
    ),
    "pharmacy": ("{street_short}-Apotheke {town}", "Apotheke {surname}"),
    "rescue_station": ("Rettungswache {town} {n}",),
    "school": ("Pflegeschule {town}", "Bildungszentrum Gesundheit {surname}"),
    "sme": ("{surname} Wohnbau GmbH", "{surname} Mobilität GmbH", "{surname} IT-Service"),
    "association": ("Gesundheitsnetz {town} e.V.", "Förderverein Pflege {town}"),
}


@dataclass(frozen=True, slots=True)
class SyntheticOrganisation:
    """An organisation for the demo or a benchmark; ``synthetic`` tells whether it is invented."""

    id: int
    external_id: str
    kind: str
    name: str
    ags: str
    lat: float
    lon: float
    street: str
    postcode: str
    staff: int
    offers: frozenset[str]
    needs: frozenset[str]
    description: str
    contact_name: str
    email: str
    phone: str
    synthetic: bool
    source: str = "synthetic"
    extra: dict[str, str] = field(default_factory=dict, compare=False)


@dataclass(frozen=True, slots=True)
class SyntheticCollaboration:
    """An undirected collaboration between two organisations (ids of SyntheticOrganisation)."""

    source: int
    target: int
    kind: str
    since: date


def _tag_index() -> dict[str, int]:
    return {code: bit for bit, code in enumerate(TAGS)}


def _draw_tags(rng: np.random.Generator, profile: dict[str, float]) -> frozenset[str]:
    return frozenset(tag for tag, p in profile.items() if rng.random() < p)


def _municipality_weights(municipalities: Sequence[Municipality]) -> np.ndarray:
    population = np.array([m.population for m in municipalities], dtype=float)
    return population / population.sum()


def _jitter_km(municipality: Municipality) -> float:
    # Half the radius of a circle with the municipality's area keeps most points inside it.
    return max(0.5, math.sqrt(municipality.area_km2 / math.pi) * 0.5)


def generate_organisations(
    n: int,
    *,
    seed: int = 42,
    include_reference: bool = True,
    municipalities: Sequence[Municipality] | None = None,
) -> list[SyntheticOrganisation]:
    """Generate ``n`` organisations placed in real municipalities in proportion to population.

    Parameters
    ----------
    n : int
        Total number of organisations, the real ones included.
    seed : int, optional (default=42)
        Seed of the random generator; the same seed gives the same organisations.
    include_reference : bool, optional (default=True)
        Put the real hospital sites and one organisation per municipality (kind ``municipality``)
        first, flagged ``synthetic=False``; the rest is synthetic.
    municipalities : sequence of Municipality, optional
        Where to place them; defaults to the 66 municipalities of the Münsterland.

    Returns
    -------
    list of SyntheticOrganisation
        Ids run from 1 to ``n`` in order.

    Examples
    --------
    >>> orgs = generate_organisations(300, seed=1)
    >>> len(orgs), orgs[0].synthetic, orgs[-1].synthetic
    (300, False, True)
    >>> generate_organisations(300, seed=1) == orgs
    True
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    rng = np.random.default_rng(seed)
    places = tuple(municipalities or load_municipalities())
    by_ags = {m.ags: m for m in places}
    result: list[SyntheticOrganisation] = []

    def add(**values: object) -> None:
        result.append(SyntheticOrganisation(id=len(result) + 1, **values))  # type: ignore[arg-type]

    if include_reference:
        for m in places:
            if len(result) >= n:
                break
            add(
                external_id=f"KOMMUNE-{m.ags}",
                kind="municipality",
                name=f"Stadt {m.name}" if "Stadt" in m.municipality_type else f"Gemeinde {m.name}",
                ags=m.ags,
                lat=m.latitude,
                lon=m.longitude,
                street="",
                postcode=m.postcode,
                staff=0,
                offers=_draw_tags(rng, _OFFER_PROFILE["municipality"]),
                needs=_draw_tags(rng, _NEED_PROFILE["municipality"]),
                description=f"{m.name_official} ({m.kreis}), {m.population:,} Einwohner (Zensus 2022).".replace(
                    ",", "."
                ),
                contact_name="",
                email="",
                phone="",
                synthetic=False,
                source=MUNICIPALITY_SOURCE,
            )
        for h in load_hospitals():
            if len(result) >= n or h.ags not in by_ags:
                continue
            offers = set(_draw_tags(rng, _OFFER_PROFILE["hospital"]))
            if h.psychiatry_hint:
                offers.add("placement:psychiatric")
            add(
                external_id=h.facility_id,
                kind="hospital",
                name=h.display_name,
                ags=h.ags,
                lat=h.latitude,
                lon=h.longitude,
                street=f"{h.street} {h.house_number}".strip(),
                postcode=h.postcode,
                staff=int(rng.integers(150, 2500)),
                offers=frozenset(offers),
                needs=_draw_tags(rng, _NEED_PROFILE["hospital"]),
                description=(
                    "Krankenhausstandort laut Krankenhaus-Standortverzeichnis (Stand 08.03.2020). "
                    "Angebote und Bedarfe sind Demo-Annahmen."
                ),
                contact_name="",
                email="",
                phone="",
                synthetic=False,
                source=HOSPITAL_SOURCE,
                extra={"kind_detail": h.kind},
            )

    remaining = n - len(result)
    if remaining <= 0:
        return result
    kinds = list(KIND_SHARES)
    shares = np.array([KIND_SHARES[k] for k in kinds])
    kind_draw = rng.choice(len(kinds), size=remaining, p=shares / shares.sum())
    place_draw = rng.choice(len(places), size=remaining, p=_municipality_weights(places))
    angle = rng.uniform(0, 2 * np.pi, size=remaining)
    radius = np.abs(rng.normal(0, 1, size=remaining))
    first_id = len(result) + 1
    tag_codes = list(TAGS)
    offer_p = np.array([[_OFFER_PROFILE.get(k, {}).get(t, 0.0) for t in tag_codes] for k in kinds])
    need_p = np.array([[_NEED_PROFILE.get(k, {}).get(t, 0.0) for t in tag_codes] for k in kinds])
    offer_rows = rng.random((remaining, len(tag_codes))) < offer_p[kind_draw]
    need_rows = rng.random((remaining, len(tag_codes))) < need_p[kind_draw]
    # One bulk draw per attribute: per-item generator calls dominate the run time at 100,000.
    surname_draw = rng.integers(len(_SURNAMES), size=remaining)
    street_draw = rng.integers(len(_STREETS), size=remaining)
    pattern_draw = rng.random(remaining)
    house_draw = rng.integers(1, 120, size=remaining)
    station_draw = rng.integers(1, 4, size=remaining)
    salutation_draw = rng.integers(2, size=remaining)
    phone_draw = rng.integers(100, 999, size=remaining)
    line_draw = rng.integers(10000, 99999, size=remaining)
    hub_of_kind = np.array([_HUB_FACTOR.get(k, 1.0) for k in kinds])
    staff_draw = np.maximum(1, rng.lognormal(2.0 + 0.6 * hub_of_kind[kind_draw], 0.6)).astype(int)
    spread = np.array([_jitter_km(m) for m in places])[place_draw] * radius
    centre_lat = np.array([m.latitude for m in places])[place_draw]
    centre_lon = np.array([m.longitude for m in places])[place_draw]
    lats = np.round(centre_lat + spread * np.cos(angle) / 111.2, 6)
    lons = np.round(
        centre_lon + spread * np.sin(angle) / (111.2 * np.cos(np.radians(centre_lat))), 6
    )
    tag_sets: dict[bytes, frozenset[str]] = {}

    def tags_of(row: np.ndarray) -> frozenset[str]:
        key = row.tobytes()
        if key not in tag_sets:
            tag_sets[key] = frozenset(tag_codes[j] for j in np.flatnonzero(row))
        return tag_sets[key]

    for i in range(remaining):
        kind = kinds[kind_draw[i]]
        m = places[place_draw[i]]
        surname = _SURNAMES[surname_draw[i]]
        street = _STREETS[street_draw[i]]
        patterns = _NAME_PATTERNS[kind]
        name = patterns[int(pattern_draw[i] * len(patterns))].format(
            town=m.name, surname=surname, street_short=street.split()[-1], n=station_draw[i]
        )
        org_id = first_id + i
        add(
            external_id=f"SYN-{org_id:07d}",
            kind=kind,
            name=name,
            ags=m.ags,
            lat=float(lats[i]),
            lon=float(lons[i]),
            street=f"{street} {house_draw[i]}",
            postcode=m.postcode,
            staff=int(staff_draw[i]),
            offers=tags_of(offer_rows[i]),
            needs=tags_of(need_rows[i]),
            description=SYNTHETIC_NOTICE,
            contact_name=f"{('Frau', 'Herr')[salutation_draw[i]]} {surname} (fiktiv)",
            email=f"org{org_id}@example.org",
            phone=f"+49 2{phone_draw[i]} {line_draw[i]}",
            synthetic=True,
        )
    return result


def _affinity_matrix(kinds: list[str]) -> np.ndarray:
    size = len(kinds)
    matrix = np.full((size, size), _DEFAULT_AFFINITY)
    for a in range(size):
        for b in range(size):
            matrix[a, b] = _AFFINITY.get(frozenset({kinds[a], kinds[b]}), _DEFAULT_AFFINITY)
    return matrix


def _collaboration_kind(kind_a: str, kind_b: str, shared: frozenset[str]) -> str:
    pair = {kind_a, kind_b}
    if (
        any(tag.startswith("placement:") or tag == "training:nursing" for tag in shared)
        or "school" in pair
    ):
        return "training"
    if "telemedicine" in shared:
        return "telemedicine"
    if pair & {"association", "municipality"}:
        return "membership"
    if "shared_staff" in shared:
        return "staff_exchange"
    if pair & {"gp_practice", "specialist_practice", "mvz"} and pair & {
        "hospital",
        "specialist_practice",
        "mvz",
        "therapy_practice",
        "rehab_clinic",
    }:
        return "referral"
    return "cooperation"


def generate_collaborations(
    organisations: Sequence[SyntheticOrganisation],
    *,
    mean_degree: float = 8.0,
    seed: int = 42,
    isolated_share: float = 0.03,
    local_share: float = 0.7,
    closure_share: float = 0.3,
    candidates_per_stub: int = 24,
    distance_scale_km: float = 12.0,
) -> list[SyntheticCollaboration]:
    """Generate plausible collaborations between ``organisations``.

    Each organisation gets a number of partner "stubs" proportional to its kind's hub factor. For
    every stub, ``candidates_per_stub`` organisations are drawn from its own municipality (with
    probability ``local_share``) or a nearby one (weighted by population and distance), and one is
    chosen with probability proportional to

    ``affinity(kind_a, kind_b) * exp(-d / distance_scale_km) * (1 + complementarity) * hub(kind_b)``

    where complementarity counts needs of one side met by offers of the other. Then a share
    ``closure_share`` of the edges closes triangles: two partners of the same organisation that
    fit together meet. ``isolated_share`` of the synthetic organisations get no partner at all.

    Parameters
    ----------
    organisations : sequence of SyntheticOrganisation
    mean_degree : float, optional (default=8.0)
        Target average number of partners per organisation.
    seed : int, optional (default=42)

    Returns
    -------
    list of SyntheticCollaboration
        Each pair at most once, ``source < target``, sorted.

    Examples
    --------
    >>> orgs = generate_organisations(400, seed=3)
    >>> edges = generate_collaborations(orgs, mean_degree=6, seed=3)
    >>> 2 * len(edges) / len(orgs) > 4
    True
    >>> all(e.source < e.target for e in edges)
    True
    """
    n = len(organisations)
    if n < 2 or mean_degree <= 0:
        return []
    rng = np.random.default_rng(seed)
    kinds = sorted({o.kind for o in organisations} | set(_HUB_FACTOR))
    kind_index = {k: i for i, k in enumerate(kinds)}
    affinity = _affinity_matrix(kinds)
    hub = np.array([_HUB_FACTOR.get(k, 1.0) for k in kinds])

    bits = _tag_index()
    kind_of = np.array([kind_index[o.kind] for o in organisations])
    lat = np.radians(np.array([o.lat for o in organisations]))
    lon = np.radians(np.array([o.lon for o in organisations]))
    offers = np.array(
        [sum(1 << bits[t] for t in o.offers if t in bits) for o in organisations], dtype=np.uint64
    )
    needs = np.array(
        [sum(1 << bits[t] for t in o.needs if t in bits) for o in organisations], dtype=np.uint64
    )

    # Organisations grouped by municipality, for local candidate draws.
    ags_codes = sorted({o.ags for o in organisations})
    ags_index = {a: i for i, a in enumerate(ags_codes)}
    muni_of = np.array([ags_index[o.ags] for o in organisations])
    order = np.argsort(muni_of, kind="stable")
    counts = np.bincount(muni_of, minlength=len(ags_codes))
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    centre_lat = np.array([lat[muni_of == m].mean() for m in range(len(ags_codes))])
    centre_lon = np.array([lon[muni_of == m].mean() for m in range(len(ags_codes))])
    muni_distance = _haversine(
        centre_lat[:, None], centre_lon[:, None], centre_lat[None, :], centre_lon[None, :]
    )
    neighbour_weight = counts[None, :] * np.exp(-muni_distance / 15.0)
    np.fill_diagonal(neighbour_weight, 0.0)
    row_sums = neighbour_weight.sum(axis=1, keepdims=True)
    neighbour_cdf = np.cumsum(
        np.divide(
            neighbour_weight, row_sums, out=np.zeros_like(neighbour_weight), where=row_sums > 0
        ),
        axis=1,
    )

    isolated = np.zeros(n, dtype=bool)
    synthetic = np.array([o.synthetic for o in organisations])
    isolated[synthetic & (rng.random(n) < isolated_share)] = True

    # Stubs: every edge has two ends, the attachment stage makes (1 - closure_share) of them.
    weights = hub[kind_of] * ~isolated
    target_edges = n * mean_degree / 2
    expected = weights / weights.sum() * target_edges * (1 - closure_share)
    stub_counts = rng.poisson(expected)
    sources = np.repeat(np.arange(n), stub_counts)
    rng.shuffle(sources)

    src_muni = muni_of[sources]
    go_local = rng.random(len(sources)) < local_share
    pick = rng.random(len(sources))
    remote = np.minimum((neighbour_cdf[src_muni] < pick[:, None]).sum(axis=1), len(ags_codes) - 1)
    target_muni = np.where(go_local | (row_sums[src_muni, 0] == 0), src_muni, remote)

    c = candidates_per_stub
    offsets = (rng.random((len(sources), c)) * counts[target_muni][:, None]).astype(np.int64)
    candidates = order[starts[target_muni][:, None] + offsets]
    d = _haversine(lat[sources][:, None], lon[sources][:, None], lat[candidates], lon[candidates])
    complement = np.bitwise_count(needs[sources][:, None] & offers[candidates]) + np.bitwise_count(
        offers[sources][:, None] & needs[candidates]
    )
    score = (
        affinity[kind_of[sources][:, None], kind_of[candidates]]
        * np.exp(-d / distance_scale_km)
        * (1.0 + 1.5 * complement)
        * hub[kind_of[candidates]]
    )
    score[(candidates == sources[:, None]) | isolated[candidates]] = 0.0
    totals = score.sum(axis=1)
    cumulative = np.cumsum(score, axis=1)
    draw = rng.random(len(sources)) * totals
    chosen_col = np.minimum((cumulative < draw[:, None]).sum(axis=1), c - 1)
    chosen = candidates[np.arange(len(sources)), chosen_col]
    valid = totals > 0
    edges: set[tuple[int, int]] = set()
    for a, b in zip(sources[valid].tolist(), chosen[valid].tolist(), strict=True):
        if a != b:
            edges.add((a, b) if a < b else (b, a))

    # Triadic closure: partners of the same organisation meet, if their kinds fit. Drawn in
    # vectorised rounds over a CSR adjacency, since a per-attempt loop is far too slow at scale.
    wanted = int(target_edges - len(edges))
    for _round in range(4):
        if wanted <= 0 or not edges:
            break
        # Tuples of ints hash without salt, so the set's order (and the result) is reproducible.
        pairs = np.array(list(edges), dtype=np.int64)
        ends = np.concatenate((pairs, pairs[:, ::-1]))
        ends = ends[np.argsort(ends[:, 0], kind="stable")]
        degree = np.bincount(ends[:, 0], minlength=n)
        offset = np.concatenate(([0], np.cumsum(degree)))
        middles = np.flatnonzero(degree >= 2)
        if len(middles) == 0:
            break
        draws = wanted * 3
        middle = middles[rng.integers(len(middles), size=draws)]
        first = rng.integers(degree[middle])
        second = (first + 1 + rng.integers(np.maximum(degree[middle] - 1, 1))) % degree[middle]
        a = ends[offset[middle] + first, 1]
        b = ends[offset[middle] + second, 1]
        distance = _haversine(lat[a], lon[a], lat[b], lon[b])
        fit = affinity[kind_of[a], kind_of[b]] * np.exp(-distance / (2 * distance_scale_km))
        accepted = (a != b) & (rng.random(draws) < np.minimum(1.0, fit))
        for x, y in zip(a[accepted].tolist(), b[accepted].tolist(), strict=True):
            key = (x, y) if x < y else (y, x)
            if key not in edges:
                edges.add(key)
                wanted -= 1
                if wanted <= 0:
                    break

    start_year = rng.integers(2005, 2026, size=len(edges))
    start_month = rng.integers(1, 13, size=len(edges))
    result = []
    for (a, b), year, month in zip(sorted(edges), start_year, start_month, strict=True):
        org_a, org_b = organisations[a], organisations[b]
        shared = (org_a.needs & org_b.offers) | (org_b.needs & org_a.offers)
        result.append(
            SyntheticCollaboration(
                source=org_a.id,
                target=org_b.id,
                kind=_collaboration_kind(org_a.kind, org_b.kind, shared),
                since=date(int(year), int(month), 1),
            )
        )
    return result


def generate_network(
    n: int, *, seed: int = 42, mean_degree: float = 8.0, include_reference: bool = True
) -> tuple[list[SyntheticOrganisation], list[SyntheticCollaboration]]:
    """Organisations and collaborations in one call (see the two generators).

    Examples
    --------
    >>> orgs, edges = generate_network(200, seed=5)
    >>> len(orgs)
    200
    """
    organisations = generate_organisations(n, seed=seed, include_reference=include_reference)
    return organisations, generate_collaborations(
        organisations, mean_degree=mean_degree, seed=seed + 1
    )


def _haversine(lat1, lon1, lat2, lon2):  # type: ignore[no-untyped-def]
    """Great-circle distance in km between points given in radians (numpy broadcasting)."""
    dlat = lat2 - lat1
    dlon = lon2 - lon1
    a = np.sin(dlat / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin(dlon / 2) ** 2
    return 2 * 6371.0088 * np.arcsin(np.sqrt(np.minimum(1.0, a)))
