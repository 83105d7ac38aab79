"""Code lists of the positions area: professions (training ones plus a few others) and languages.

The training professions come from the shipped reference data (``network.reference``); the
codes added here cover openings that are not a training profession (a GP in specialty training,
administration …). Codes are stored in the database, so they never change once published.
"""

from __future__ import annotations

from functools import cache

from network.reference import load_professions
from network.vocabulary import Term

__all__ = [
    "EXTRA_PROFESSIONS",
    "LANGUAGES",
    "DRIVING_LICENCE",
    "LANGUAGE_PREFIX",
    "professions",
    "profession_label",
]

#: Openings that are not a training profession of ``professions.csv``.
EXTRA_PROFESSIONS: dict[str, Term] = {
    code: Term(code, de, en)
    for code, de, en in (
        (
            "hausarzt_weiterbildung",
            "Hausärztin/Hausarzt in Weiterbildung (Allgemeinmedizin)",
            "GP in specialty training (general practice)",
        ),
        ("aerztin_arzt", "Ärztin/Arzt", "Physician"),
        ("pflegehilfe", "Pflegehelferin/Pflegehelfer", "Care assistant"),
        ("hauswirtschaft", "Hauswirtschaft", "Housekeeping"),
        ("verwaltung", "Verwaltung", "Administration"),
    )
}

#: Languages a trainee can name and a position can require (ISO 639-1 codes).
LANGUAGES: dict[str, Term] = {
    code: Term(code, de, en)
    for code, de, en in (
        ("de", "Deutsch", "German"),
        ("en", "Englisch", "English"),
        ("nl", "Niederländisch", "Dutch"),
        ("pl", "Polnisch", "Polish"),
        ("ro", "Rumänisch", "Romanian"),
        ("ru", "Russisch", "Russian"),
        ("uk", "Ukrainisch", "Ukrainian"),
        ("tr", "Türkisch", "Turkish"),
        ("ar", "Arabisch", "Arabic"),
        ("es", "Spanisch", "Spanish"),
        ("fr", "Französisch", "French"),
    )
}

#: Requirement codes understood by ``network.matching.scoring``.
DRIVING_LICENCE = "driving_licence"
LANGUAGE_PREFIX = "lang:"


@cache
def professions() -> dict[str, Term]:
    """Every profession code a position may name: the reference professions, then the extras."""
    terms = {p.code: Term(p.code, p.name_de, p.name_en) for p in load_professions()}
    terms.update(EXTRA_PROFESSIONS)
    return terms


def profession_label(code: str | None, language: str = "de") -> str:
    """The label of a profession code; an unknown code is shown as it is."""
    if not code:
        return ""
    term = professions().get(code)
    return term.label(language) if term else code
