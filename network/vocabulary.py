"""Controlled vocabularies shared by the models, the forms and the pure domain packages.

Codes are stable ASCII identifiers stored in the database; labels are German first, English
second. The pure packages (`network.graph`, `network.matching`) may import this module: it
depends on nothing but the standard library.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "Term",
    "ORGANISATION_KINDS",
    "TAGS",
    "PLACEMENT_TAGS",
    "COLLABORATION_KINDS",
    "POSITION_TYPES",
    "POSITION_STATUSES",
    "APPLICATION_STATUSES",
    "SUGGESTION_STATUSES",
    "EMPLOYER_BENEFITS",
    "ROLES",
    "MODEL_REGIONS",
    "DIGEST_FREQUENCIES",
    "RECOMMENDATION_TOPICS",
    "label",
]


@dataclass(frozen=True, slots=True)
class Term:
    """One entry of a vocabulary: a stable code with a German and an English label."""

    code: str
    de: str
    en: str

    def label(self, language: str = "de") -> str:
        return self.en if language == "en" else self.de


def _terms(*rows: tuple[str, str, str]) -> dict[str, Term]:
    return {code: Term(code, de, en) for code, de, en in rows}


#: Kinds of organisation (nodes of the stakeholder graph).
ORGANISATION_KINDS: dict[str, Term] = _terms(
    ("hospital", "Krankenhaus", "Hospital"),
    ("rehab_clinic", "Reha-/Kurklinik", "Rehabilitation clinic"),
    ("gp_practice", "Hausarztpraxis", "GP practice"),
    ("specialist_practice", "Facharztpraxis", "Specialist practice"),
    ("mvz", "MVZ", "Medical care centre (MVZ)"),
    ("ambulatory_care", "Ambulanter Pflegedienst", "Home care service"),
    ("care_home", "Stationäre Pflegeeinrichtung", "Care home"),
    ("day_care", "Tagespflege", "Day care"),
    ("therapy_practice", "Therapiepraxis", "Therapy practice"),
    ("pharmacy", "Apotheke", "Pharmacy"),
    ("rescue_station", "Rettungswache", "Rescue station"),
    ("school", "Pflegeschule/Bildungsträger", "Nursing school / training provider"),
    ("sme", "Unternehmen (KMU)", "Company (SME)"),
    ("municipality", "Kommune", "Municipality"),
    ("association", "Netzwerk/Verein", "Network / association"),
)

#: Offers and needs: one shared vocabulary, so that one side's need can meet the other's offer.
TAGS: dict[str, Term] = _terms(
    ("training:nursing", "Ausbildungsplätze Pflege", "Nursing training places"),
    ("placement:orientation", "Orientierungseinsatz", "Orientation placement"),
    (
        "placement:acute_inpatient",
        "Praxiseinsatz stationäre Akutpflege",
        "Placement: inpatient acute care",
    ),
    (
        "placement:longterm_inpatient",
        "Praxiseinsatz stationäre Langzeitpflege",
        "Placement: inpatient long-term care",
    ),
    ("placement:ambulatory", "Praxiseinsatz ambulante Pflege", "Placement: home care"),
    ("placement:paediatric", "Praxiseinsatz Pädiatrie", "Placement: paediatrics"),
    ("placement:psychiatric", "Praxiseinsatz Psychiatrie", "Placement: psychiatry"),
    ("placement:specialisation", "Vertiefungseinsatz", "Specialisation placement"),
    ("placement:further", "Weiterer Einsatz (Reha, Palliation, Beratung)", "Further placement"),
    ("telemedicine", "Telemedizin-Infrastruktur", "Telemedicine infrastructure"),
    ("gp_training", "Weiterbildungsassistenz Allgemeinmedizin", "GP specialty training"),
    ("succession", "Nachfolge/Praxisübernahme", "Practice succession"),
    ("housing:staff", "Personalwohnungen", "Staff housing"),
    ("childcare", "Kinderbetreuung", "Childcare"),
    ("joint_training", "Gemeinsame Fortbildung", "Joint further training"),
    ("shuttle", "Fahrdienst/Mobilität", "Shuttle / mobility"),
    ("shared_staff", "Personalaustausch", "Shared staff"),
    ("emergency_care", "Notfallversorgung", "Emergency care"),
    ("therapy", "Therapieangebote", "Therapy services"),
    ("marketing", "Standortmarketing", "Location marketing"),
    ("practice_space", "Praxisräume", "Practice premises"),
    ("digital_support", "IT- und Digitalisierungsunterstützung", "IT and digital support"),
)

#: The placement tags that correspond to the PflAPrV Anlage 7 mandatory placements.
PLACEMENT_TAGS: tuple[str, ...] = (
    "placement:acute_inpatient",
    "placement:longterm_inpatient",
    "placement:ambulatory",
    "placement:paediatric",
    "placement:psychiatric",
)

#: Kinds of relationship (edges of the stakeholder graph).
COLLABORATION_KINDS: dict[str, Term] = _terms(
    ("cooperation", "Kooperation", "Cooperation"),
    ("training", "Ausbildungsverbund/Praxiseinsatz", "Training alliance / placement"),
    ("telemedicine", "Telemedizin", "Telemedicine"),
    ("referral", "Überweisung/Versorgungspfad", "Referral / care pathway"),
    ("staff_exchange", "Personalaustausch", "Staff exchange"),
    ("membership", "Mitgliedschaft", "Membership"),
)

COLLABORATION_STATUSES: dict[str, Term] = _terms(
    ("proposed", "vorgeschlagen", "proposed"),
    ("active", "aktiv", "active"),
    ("ended", "beendet", "ended"),
)

POSITION_TYPES: dict[str, Term] = _terms(
    ("job", "Stelle", "Job"),
    ("apprenticeship", "Ausbildungsplatz", "Apprenticeship"),
    ("placement", "Praxiseinsatz/Praktikum", "Placement / internship"),
    ("pj", "PJ/Famulatur", "Practical year / clerkship"),
    ("volunteer", "FSJ/BFD", "Voluntary service"),
    ("residency", "Weiterbildungsstelle", "Specialty training post"),
)

POSITION_STATUSES: dict[str, Term] = _terms(
    ("open", "offen", "open"),
    ("filled", "besetzt", "filled"),
    ("closed", "geschlossen", "closed"),
)

APPLICATION_STATUSES: dict[str, Term] = _terms(
    ("received", "eingegangen", "received"),
    ("interview", "Gespräch", "interview"),
    ("accepted", "Zusage", "offer"),
    ("rejected", "Absage", "rejection"),
    ("withdrawn", "zurückgezogen", "withdrawn"),
)

SUGGESTION_STATUSES: dict[str, Term] = _terms(
    ("open", "offen", "open"),
    ("accepted", "angenommen", "accepted"),
    ("rejected", "abgelehnt", "rejected"),
    ("snoozed", "zurückgestellt", "snoozed"),
)

EMPLOYER_BENEFITS: dict[str, Term] = _terms(
    ("housing", "Wohnung", "Housing"),
    ("childcare", "Kinderbetreuung", "Childcare"),
    ("mobility", "Mobilität (Jobticket, Dienstwagen, Fahrdienst)", "Mobility"),
    ("flexible_hours", "Flexible Arbeitszeiten", "Flexible hours"),
    ("further_training", "Fortbildung", "Further training"),
)

ROLES: dict[str, Term] = _terms(
    ("provider", "Anbieter (Mitglied einer Organisation)", "Provider member"),
    ("trainee", "Auszubildende/r / Fachkraft", "Trainee / professional"),
    ("coordinator", "Netzwerkkoordination", "Network coordinator"),
    ("admin", "Administration", "Administrator"),
)

DIGEST_FREQUENCIES: dict[str, Term] = _terms(
    ("daily", "täglich", "daily"),
    ("weekly", "wöchentlich", "weekly"),
    ("monthly", "monatlich", "monthly"),
    ("off", "aus", "off"),
)

RECOMMENDATION_TOPICS: dict[str, Term] = _terms(
    ("nursing_recruitment", "Nachwuchs Pflege", "Nursing recruitment"),
    ("gp_succession", "Hausarztnachfolge", "GP succession"),
    ("telemedicine", "Telemedizin", "Telemedicine"),
    ("mobility", "Mobilität", "Mobility"),
    ("housing", "Wohnen", "Housing"),
    ("childcare", "Kinderbetreuung", "Childcare"),
    ("marketing", "Standortmarketing", "Location marketing"),
    ("networking", "Vernetzung", "Networking"),
)

#: The five KommKom model municipalities (2020–2023) as clusters of real AGS codes.
MODEL_REGIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "rheine": ("Rheine", ("05566076",)),
    "rhede-bocholt-isselburg": (
        "Rhede–Bocholt–Isselburg",
        ("05554048", "05554008", "05554032"),
    ),
    "oelde": ("Oelde", ("05570028",)),
    "luedinghausen": ("Lüdinghausen", ("05558024",)),
    "ladbergen-lengerich-lienen-tecklenburg": (
        "Ladbergen–Lengerich–Lienen–Tecklenburg",
        ("05566032", "05566040", "05566044", "05566088"),
    ),
}


def model_region_of(ags: str) -> str | None:
    """Return the model-region slug an AGS belongs to, or ``None``."""
    for slug, (_name, members) in MODEL_REGIONS.items():
        if ags in members:
            return slug
    return None


def label(vocabulary: dict[str, Term], code: str | None, language: str = "de") -> str:
    """The label of ``code`` in ``vocabulary``; an unknown code is shown as it is."""
    if code is None:
        return ""
    term = vocabulary.get(code)
    return term.label(language) if term else code
