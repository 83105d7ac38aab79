"""Explained match scores between candidates (trainees, professionals) and open positions.

A pair is scored only if it passes three hard filters: the position's profession is one of the
candidate's professions (if they named any), its type is one of the candidate's position types
(if they named any), and it lies within the candidate's own radius. The score of a pair that
passes is the weighted mean of six components, each in [0, 1]:

============== =================================================================================
profession     1 if the candidate named this profession; ``open_preference`` if they named none
position_type  1 if the candidate named this type; ``open_preference`` if they named none
distance       ``floor + (1 - floor) * (1 + cos(pi * d / r)) / 2``: 1 at 0 km, smoothly down to
               ``distance_floor`` at the candidate's radius ``r`` (half-way at ``r / 2``)
start          1 if the position starts on/after the candidate's earliest start; ``1 - k / T``
               if it starts ``k`` days earlier (``T = start_tolerance_days``, never below 0);
               ``start_unknown`` if either date is missing
benefits       share of the candidate's wanted benefits the position offers; 1 if none wanted
requirements   share of the position's requirements the candidate meets; 1 if none
============== =================================================================================

All weights and shape parameters live in :class:`ScoreWeights`. Scores are rounded to
:data:`SCORE_RESOLUTION` so that (near-)equal scores are true ties, which are broken by id.

Requirement codes (``Position.requirements``):

- ``"driving_licence"``: met if ``Candidate.driving_licence``;
- ``"lang:<code>"`` (ISO 639-1, e.g. ``"lang:de"``): met if ``<code>`` (or ``"lang:<code>"``)
  is in ``Candidate.languages``, case-insensitively;
- any other code (e.g. a profession code for a completed qualification such as
  ``"pflegefachperson"``, or ``"qual:praxisanleitung"``): met if it is in
  ``Candidate.qualifications``.

Every result carries structured :class:`Reason` objects (a stable ``code``, a ``params`` dict
and ``text(language)`` in German or English): filter reasons always, soft-component reasons
for each component with a positive weight.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import date
from functools import cache
from types import MappingProxyType
from typing import Any

import numpy as np

from network.matching.exceptions import MatchingError
from network.matching.geo import SpatialIndex, haversine_km
from network.vocabulary import EMPLOYER_BENEFITS, POSITION_TYPES

__all__ = [
    "ScoringInputError",
    "ScoreWeights",
    "DEFAULT_WEIGHTS",
    "SCORE_RESOLUTION",
    "COMPONENTS",
    "REASON_CODES",
    "DRIVING_LICENCE",
    "LANGUAGE_PREFIX",
    "Candidate",
    "Position",
    "Reason",
    "Match",
    "ScoreTable",
    "distance_fit",
    "start_fit",
    "score_pair",
    "explain",
    "rank_positions",
    "rank_candidates",
    "score_all",
]

#: Scores are multiples of this (rounded half to even).
SCORE_RESOLUTION = 1e-9
_SCORE_STEPS = 1_000_000_000  # 1 / SCORE_RESOLUTION
_SCORE_BITS = _SCORE_STEPS.bit_length()

#: The score components, in the order their reasons are listed.
COMPONENTS = ("profession", "position_type", "distance", "start", "benefits", "requirements")

#: Requirement code for a driving licence, and the prefix of language requirements.
DRIVING_LICENCE = "driving_licence"
LANGUAGE_PREFIX = "lang:"

#: Pairs handled per block of the vectorised path (bounds its memory).
_TARGET_PAIRS_PER_BLOCK = 4_000_000
#: Pairs scored at once: small enough for the temporaries to stay in the CPU cache.
_CHUNK_PAIRS = 65_536


class ScoringInputError(MatchingError):
    """A candidate, position, weight or option given to the scoring functions is unusable."""

    code = "invalid_scoring_input"
    _de = "Ungültige Eingabe für die Passungsbewertung: {message}"

    def text(self, language: str = "de") -> str:
        if language == "en":
            return self.message
        return self._de.format(message=self.message)


# -- weights ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ScoreWeights:
    """Weights of the six score components and the parameters shaping them.

    The score is ``sum(weight_c * fit_c) / sum(weight_c)`` over the components ``c`` in
    :data:`COMPONENTS`, so the weights need not sum to 1; a zero weight switches a component
    (and its reasons) off. Hard filters apply whatever the weights.

    Parameters
    ----------
    profession, position_type, distance, start, benefits, requirements : float
        Non-negative component weights; at least one must be positive. The defaults (0.15,
        0.10, 0.35, 0.15, 0.10, 0.15) make distance the strongest single factor, as travel
        time is the most common reason trainees in a rural region turn a place down.
    distance_floor : float, optional (default=0.2)
        Distance fit at exactly the candidate's radius, in [0, 1].
    open_preference : float, optional (default=0.5)
        Profession/type fit when the candidate named no profession/type (open to all), in
        [0, 1]: lower than an explicit wish, so that of two otherwise equal candidates the one
        who asked for this kind of position ranks first.
    start_unknown : float, optional (default=0.5)
        Start fit when the position's start or the candidate's earliest start is unknown.
    start_tolerance_days : float, optional (default=90)
        A position starting ``k`` days before the candidate's earliest start gets start fit
        ``1 - k / start_tolerance_days`` (at least 0); 0 makes any earlier start score 0.

    Raises
    ------
    ScoringInputError
        If a value is negative, not finite, a fit parameter exceeds 1, or all weights are 0.

    Examples
    --------
    >>> DEFAULT_WEIGHTS.distance
    0.35
    >>> ScoreWeights(distance=1.0, profession=0, position_type=0, start=0, benefits=0,
    ...              requirements=0).normalised()["distance"]
    1.0
    >>> ScoreWeights(distance=-1)
    Traceback (most recent call last):
    ...
    network.matching.scoring.ScoringInputError: weight distance must be a finite number >= 0
    """

    profession: float = 0.15
    position_type: float = 0.10
    distance: float = 0.35
    start: float = 0.15
    benefits: float = 0.10
    requirements: float = 0.15
    distance_floor: float = 0.2
    open_preference: float = 0.5
    start_unknown: float = 0.5
    start_tolerance_days: float = 90.0

    def __post_init__(self) -> None:
        for spec in fields(self):
            value = getattr(self, spec.name)
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
                or value < 0
            ):
                raise ScoringInputError(
                    f"weight {spec.name} must be a finite number >= 0", weight=spec.name
                )
        for name in ("distance_floor", "open_preference", "start_unknown"):
            if getattr(self, name) > 1:
                raise ScoringInputError(f"{name} must lie in [0, 1]", weight=name)
        if self.total() <= 0:
            raise ScoringInputError("at least one component weight must be positive")

    def total(self) -> float:
        """Sum of the component weights."""
        return sum(getattr(self, name) for name in COMPONENTS)

    def normalised(self) -> dict[str, float]:
        """The component weights divided by their sum."""
        total = self.total()
        return {name: getattr(self, name) / total for name in COMPONENTS}


#: The weights used unless a caller passes others.
DEFAULT_WEIGHTS = ScoreWeights()


# -- inputs -----------------------------------------------------------------------------------


def _frozen_codes(value: Any, name: str) -> frozenset[str]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ScoringInputError(f"{name} must be a set of codes, not {value!r}", field=name)
    codes = frozenset(value)
    if not all(isinstance(code, str) and code for code in codes):
        raise ScoringInputError(f"{name} must contain non-empty strings", field=name)
    return codes


def _check_point(owner: str, ident: Any, lat: Any, lon: Any) -> None:
    try:
        hash(ident)
    except TypeError as err:
        raise ScoringInputError(f"{owner} id must be hashable", id=repr(ident)) from err
    for name, value, bound in (("lat", lat, 90.0), ("lon", lon, 180.0)):
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or abs(value) > bound
        ):
            raise ScoringInputError(
                f"{owner} {ident!r}: {name} must be a number in [-{bound:g}, {bound:g}]", id=ident
            )


def _check_date(owner: str, ident: Any, name: str, value: Any) -> None:
    if value is not None and not isinstance(value, date):
        raise ScoringInputError(f"{owner} {ident!r}: {name} must be a date or None", id=ident)


@dataclass(frozen=True, slots=True)
class Candidate:
    """A trainee or professional looking for a position.

    Parameters
    ----------
    id : hashable
        Unique among the candidates passed to one call.
    lat, lon : float
        Home location in decimal degrees.
    max_distance_km : float
        How far the candidate will travel; positions farther away are never matched.
    professions : frozenset of str
        Profession codes (``network.reference.load_professions()``); empty means open to all.
    position_types : frozenset of str, optional
        Codes of ``network.vocabulary.POSITION_TYPES``; empty means open to all.
    earliest_start : datetime.date, optional
        The earliest date the candidate can start.
    wanted_benefits : frozenset of str, optional
        Codes of ``network.vocabulary.EMPLOYER_BENEFITS`` (e.g. ``housing``, ``childcare``).
    driving_licence : bool, optional
    languages : frozenset of str, optional
        ISO 639-1 codes such as ``"de"`` (``"lang:de"`` is accepted too).
    qualifications : frozenset of str, optional
        Completed qualifications, matched against other requirement codes.

    Set-valued fields accept any iterable of strings and are stored as frozensets.

    Examples
    --------
    >>> Candidate("c1", 51.96, 7.63, 25, {"mfa"}).professions
    frozenset({'mfa'})
    """

    id: Hashable
    lat: float
    lon: float
    max_distance_km: float
    professions: frozenset[str]
    position_types: frozenset[str] = frozenset()
    earliest_start: date | None = None
    wanted_benefits: frozenset[str] = frozenset()
    driving_licence: bool = False
    languages: frozenset[str] = frozenset()
    qualifications: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        _check_point("candidate", self.id, self.lat, self.lon)
        radius = self.max_distance_km
        if (
            isinstance(radius, bool)
            or not isinstance(radius, int | float)
            or not math.isfinite(radius)
            or radius < 0
        ):
            raise ScoringInputError(
                f"candidate {self.id!r}: max_distance_km must be a finite number >= 0", id=self.id
            )
        for name in ("professions", "position_types", "wanted_benefits", "languages",
                     "qualifications"):  # fmt: skip
            object.__setattr__(self, name, _frozen_codes(getattr(self, name), name))
        unknown = self.position_types - POSITION_TYPES.keys()
        if unknown:
            raise ScoringInputError(
                f"candidate {self.id!r}: unknown position types {sorted(unknown)}", id=self.id
            )
        _check_date("candidate", self.id, "earliest_start", self.earliest_start)
        if not isinstance(self.driving_licence, bool):
            raise ScoringInputError(f"candidate {self.id!r}: driving_licence must be a bool")


@dataclass(frozen=True, slots=True)
class Position:
    """An open job, apprenticeship, placement or similar at one location.

    Parameters
    ----------
    id : hashable
        Unique among the positions passed to one call.
    lat, lon : float
        Location in decimal degrees.
    position_type : str
        A code of ``network.vocabulary.POSITION_TYPES``.
    profession : str
        A profession code (``network.reference.load_professions()``).
    start : datetime.date, optional
        Start date; ``None`` means by arrangement.
    benefits : frozenset of str, optional
        Offered benefits, codes of ``network.vocabulary.EMPLOYER_BENEFITS``.
    requirements : frozenset of str, optional
        ``"driving_licence"``, ``"lang:<iso>"`` or qualification codes (see module docs).
    seats : int, optional (default=1)
        Open seats; carried for the caller (e.g. as a capacity), does not affect the score.
    hours_per_week : float, optional
        Carried for the caller; does not affect the score.

    Examples
    --------
    >>> Position("p1", 52.28, 7.44, "apprenticeship", "pflegefachperson").seats
    1
    """

    id: Hashable
    lat: float
    lon: float
    position_type: str
    profession: str
    start: date | None = None
    benefits: frozenset[str] = frozenset()
    requirements: frozenset[str] = frozenset()
    seats: int = 1
    hours_per_week: float | None = None

    def __post_init__(self) -> None:
        _check_point("position", self.id, self.lat, self.lon)
        if self.position_type not in POSITION_TYPES:
            raise ScoringInputError(
                f"position {self.id!r}: unknown position type {self.position_type!r}", id=self.id
            )
        if not isinstance(self.profession, str) or not self.profession:
            raise ScoringInputError(f"position {self.id!r}: profession must be a code", id=self.id)
        for name in ("benefits", "requirements"):
            object.__setattr__(self, name, _frozen_codes(getattr(self, name), name))
        _check_date("position", self.id, "start", self.start)
        if isinstance(self.seats, bool) or not isinstance(self.seats, int) or self.seats < 0:
            raise ScoringInputError(f"position {self.id!r}: seats must be an integer >= 0")
        hours = self.hours_per_week
        if hours is not None and (
            isinstance(hours, bool)
            or not isinstance(hours, int | float)
            or not math.isfinite(hours)
            or hours <= 0
        ):
            raise ScoringInputError(f"position {self.id!r}: hours_per_week must be positive")


# -- reasons ----------------------------------------------------------------------------------

_LANGUAGES = {
    "de": ("Deutsch", "German"),
    "en": ("Englisch", "English"),
    "nl": ("Niederländisch", "Dutch"),
    "fr": ("Französisch", "French"),
    "es": ("Spanisch", "Spanish"),
    "it": ("Italienisch", "Italian"),
    "pl": ("Polnisch", "Polish"),
    "ro": ("Rumänisch", "Romanian"),
    "ru": ("Russisch", "Russian"),
    "uk": ("Ukrainisch", "Ukrainian"),
    "tr": ("Türkisch", "Turkish"),
    "ar": ("Arabisch", "Arabic"),
    "fa": ("Persisch", "Persian"),
    "ku": ("Kurdisch", "Kurdish"),
    "el": ("Griechisch", "Greek"),
    "hr": ("Kroatisch", "Croatian"),
    "sr": ("Serbisch", "Serbian"),
    "bs": ("Bosnisch", "Bosnian"),
    "sq": ("Albanisch", "Albanian"),
    "pt": ("Portugiesisch", "Portuguese"),
    "vi": ("Vietnamesisch", "Vietnamese"),
    "hi": ("Hindi", "Hindi"),
    "tl": ("Tagalog", "Tagalog"),
}

#: German and English templates of every reason code.
_TEMPLATES: dict[str, tuple[str, str]] = {
    "profession_match": ("Beruf passt: {profession}", "Profession matches: {profession}"),
    "profession_open": (
        "Kein Wunschberuf angegeben – Beruf: {profession}",
        "No preferred profession given – profession: {profession}",
    ),
    "profession_mismatch": (
        "Beruf {profession} nicht gewünscht",
        "Profession {profession} is not among the wanted ones",
    ),
    "type_match": ("Angebotsart passt: {position_type}", "Position type matches: {position_type}"),
    "type_open": ("Angebotsart: {position_type}", "Position type: {position_type}"),
    "type_mismatch": (
        "Angebotsart {position_type} nicht gewünscht",
        "Position type {position_type} is not among the wanted ones",
    ),
    "distance": ("{km} entfernt", "{km} away"),
    "too_far": (
        "{km} entfernt – außerhalb des Umkreises von {max_km}",
        "{km} away – beyond the radius of {max_km}",
    ),
    "start_fits": ("Start passt ({start})", "Start date fits ({start})"),
    "start_early": (
        "Start {days} vor dem frühesten Wunschtermin ({start})",
        "Starts {days} before the earliest possible start ({start})",
    ),
    "start_any": ("Start am {start}", "Starts on {start}"),
    "start_open": ("Starttermin nach Vereinbarung", "Start date by arrangement"),
    "benefit_offered": ("{benefit} angeboten", "{benefit} offered"),
    "benefit_missing": ("{benefit} nicht angeboten", "{benefit} not offered"),
    "driving_licence_ok": ("Führerschein vorhanden", "Driving licence available"),
    "driving_licence_missing": ("Führerschein fehlt", "Driving licence missing"),
    "language_ok": (
        "Sprachkenntnisse {language} vorhanden",
        "{language} language skills available",
    ),
    "language_missing": (
        "Sprachkenntnisse {language} fehlen",
        "{language} language skills missing",
    ),
    "qualification_ok": (
        "Qualifikation {qualification} vorhanden",
        "Qualification {qualification} available",
    ),
    "qualification_missing": (
        "Qualifikation {qualification} fehlt",
        "Qualification {qualification} missing",
    ),
}

#: Every reason code, with the score component it belongs to.
REASON_CODES: Mapping[str, str] = MappingProxyType(
    {
        "profession_match": "profession",
        "profession_open": "profession",
        "profession_mismatch": "profession",
        "type_match": "position_type",
        "type_open": "position_type",
        "type_mismatch": "position_type",
        "distance": "distance",
        "too_far": "distance",
        "start_fits": "start",
        "start_early": "start",
        "start_any": "start",
        "start_open": "start",
        "benefit_offered": "benefits",
        "benefit_missing": "benefits",
        "driving_licence_ok": "requirements",
        "driving_licence_missing": "requirements",
        "language_ok": "requirements",
        "language_missing": "requirements",
        "qualification_ok": "requirements",
        "qualification_missing": "requirements",
    }
)


@cache
def _profession_names() -> dict[str, tuple[str, str]]:
    from network.reference import load_professions

    return {p.code: (p.name_de, p.name_en) for p in load_professions()}


def _label(kind: str, code: str, english: bool) -> str:
    if kind == "profession" or kind == "qualification":
        names = _profession_names().get(code)
        return code if names is None else names[english]
    if kind == "position_type":
        term = POSITION_TYPES.get(code)
    elif kind == "benefit":
        term = EMPLOYER_BENEFITS.get(code)
    else:  # language
        names = _LANGUAGES.get(code.lower())
        return code.upper() if names is None else names[english]
    return code if term is None else term.label("en" if english else "de")


def _format_km(km: float, english: bool) -> str:
    if km < 1:
        return "less than 1 km" if english else "weniger als 1 km"
    return f"{round(km):d} km"


def _format_date(iso: str, english: bool) -> str:
    day = date.fromisoformat(iso)
    return day.isoformat() if english else day.strftime("%d.%m.%Y")


def _format_days(days: int, english: bool) -> str:
    if english:
        return "1 day" if days == 1 else f"{days} days"
    return "1 Tag" if days == 1 else f"{days} Tage"


@dataclass(frozen=True, slots=True)
class Reason:
    """One structured, translatable explanation of a score.

    Parameters
    ----------
    code : str
        Stable identifier, one of :data:`REASON_CODES`.
    params : mapping
        JSON-friendly values the texts use (codes, ``km``, ISO dates, ``days``).
    component : str
        The score component (one of :data:`COMPONENTS`) the reason explains.
    polarity : str
        ``"positive"``, ``"neutral"`` or ``"negative"`` (e.g. for styling).

    Examples
    --------
    >>> reason = Reason("distance", {"km": 12.3, "max_km": 30}, "distance", "positive")
    >>> reason.text(), reason.text("en")
    ('12 km entfernt', '12 km away')
    >>> Reason("benefit_offered", {"benefit": "housing"}, "benefits", "positive").text()
    'Wohnung angeboten'
    """

    code: str
    params: Mapping[str, Any] = field(default_factory=dict, hash=False)
    component: str = ""
    polarity: str = "neutral"

    def text(self, language: str = "de") -> str:
        """The reason in ``language``: ``"de"`` (default) or ``"en"``."""
        english = language == "en"
        template = _TEMPLATES[self.code][english]
        values: dict[str, str] = {}
        for key, value in self.params.items():
            if key in ("km", "max_km"):
                values[key] = _format_km(value, english)
            elif key in ("start", "earliest"):
                values[key] = _format_date(value, english)
            elif key == "days":
                values[key] = _format_days(value, english)
            elif key in ("profession", "position_type", "benefit", "language", "qualification"):
                values[key] = _label(key, value, english)
            else:
                values[key] = str(value)
        return template.format(**values)


@dataclass(frozen=True, slots=True)
class Match:
    """A scored (candidate, position) pair.

    Attributes
    ----------
    candidate_id, position_id : hashable
    score : float
        In [0, 1], a multiple of :data:`SCORE_RESOLUTION`.
    distance_km : float
        Great-circle distance.
    reasons : tuple of Reason
        In the order of :data:`COMPONENTS`.
    components : mapping of str to float
        The fit of every component (see the module docs), for display or debugging.

    Examples
    --------
    >>> c = Candidate("c", 51.96, 7.63, 30, {"mfa"}, driving_licence=True)
    >>> p = Position("p", 51.96, 7.63, "job", "mfa", requirements={"driving_licence"})
    >>> score_pair(c, p).texts("en")[-1]
    'Driving licence available'
    """

    candidate_id: Hashable
    position_id: Hashable
    score: float
    distance_km: float
    reasons: tuple[Reason, ...] = ()
    components: Mapping[str, float] = field(default_factory=dict, hash=False)

    def texts(self, language: str = "de") -> list[str]:
        """The texts of all reasons in ``language``."""
        return [reason.text(language) for reason in self.reasons]


# -- scalar path ------------------------------------------------------------------------------


def distance_fit(distance_km: float, max_distance_km: float, floor: float) -> float:
    """Distance component: 1 at 0 km, falling along a half cosine to ``floor`` at the radius.

    ``floor + (1 - floor) * (1 + cos(pi * d / r)) / 2`` for ``0 <= d <= r``; a zero radius
    gives 1 (only the same place is in reach).

    Examples
    --------
    >>> [round(distance_fit(d, 30.0, 0.2), 3) for d in (0.0, 15.0, 30.0)]
    [1.0, 0.6, 0.2]
    """
    if max_distance_km <= 0:
        return 1.0
    ratio = min(distance_km / max_distance_km, 1.0)
    return floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * ratio))


def start_fit(
    start: date | None, earliest_start: date | None, weights: ScoreWeights = DEFAULT_WEIGHTS
) -> float:
    """Start component: does the position start when the candidate can?

    Examples
    --------
    >>> start_fit(date(2025, 9, 1), date(2025, 8, 1))
    1.0
    >>> round(start_fit(date(2025, 8, 1), date(2025, 9, 15)), 3)  # 45 of 90 days early
    0.5
    >>> start_fit(None, date(2025, 8, 1))
    0.5
    """
    if start is None or earliest_start is None:
        return weights.start_unknown
    early = earliest_start.toordinal() - start.toordinal()
    if early <= 0:
        return 1.0
    if weights.start_tolerance_days <= 0:
        return 0.0
    return max(0.0, 1.0 - early / weights.start_tolerance_days)


def _languages(candidate: Candidate) -> frozenset[str]:
    return frozenset(code.lower().removeprefix(LANGUAGE_PREFIX) for code in candidate.languages)


def _meets(candidate: Candidate, requirement: str, languages: frozenset[str]) -> bool:
    if requirement == DRIVING_LICENCE:
        return candidate.driving_licence
    if requirement.lower().startswith(LANGUAGE_PREFIX):
        return requirement[len(LANGUAGE_PREFIX) :].lower() in languages
    return requirement in candidate.qualifications


def _requirement_reason(requirement: str, met: bool) -> Reason:
    polarity = "positive" if met else "negative"
    if requirement == DRIVING_LICENCE:
        code = "driving_licence_ok" if met else "driving_licence_missing"
        return Reason(code, {}, "requirements", polarity)
    if requirement.lower().startswith(LANGUAGE_PREFIX):
        code = "language_ok" if met else "language_missing"
        language = requirement[len(LANGUAGE_PREFIX) :].lower()
        return Reason(code, {"language": language}, "requirements", polarity)
    code = "qualification_ok" if met else "qualification_missing"
    return Reason(code, {"qualification": requirement}, "requirements", polarity)


@dataclass(frozen=True, slots=True)
class _Evaluation:
    passes: bool
    distance_km: float
    components: dict[str, float]
    reasons: tuple[Reason, ...]


def _evaluate(candidate: Candidate, position: Position, weights: ScoreWeights) -> _Evaluation:
    """Components, filters and reasons of one pair, in plain Python."""
    reasons: list[Reason] = []
    passes = True
    fits: dict[str, float] = {}
    profession = position.profession
    if not candidate.professions:
        fits["profession"] = weights.open_preference
        reasons.append(Reason("profession_open", {"profession": profession}, "profession"))
    elif profession in candidate.professions:
        fits["profession"] = 1.0
        reasons.append(
            Reason("profession_match", {"profession": profession}, "profession", "positive")
        )
    else:
        passes = False
        fits["profession"] = 0.0
        reasons.append(
            Reason("profession_mismatch", {"profession": profession}, "profession", "negative")
        )
    kind = position.position_type
    if not candidate.position_types:
        fits["position_type"] = weights.open_preference
        reasons.append(Reason("type_open", {"position_type": kind}, "position_type"))
    elif kind in candidate.position_types:
        fits["position_type"] = 1.0
        reasons.append(Reason("type_match", {"position_type": kind}, "position_type", "positive"))
    else:
        passes = False
        fits["position_type"] = 0.0
        reasons.append(
            Reason("type_mismatch", {"position_type": kind}, "position_type", "negative")
        )
    km = haversine_km(candidate.lat, candidate.lon, position.lat, position.lon)
    radius = float(candidate.max_distance_km)
    shown = {"km": round(km, 1), "max_km": radius}
    if km <= radius:
        fits["distance"] = distance_fit(km, radius, weights.distance_floor)
        reasons.append(Reason("distance", shown, "distance", "positive"))
    else:
        passes = False
        fits["distance"] = 0.0
        reasons.append(Reason("too_far", shown, "distance", "negative"))

    fits["start"] = start_fit(position.start, candidate.earliest_start, weights)
    if weights.start > 0:
        if position.start is None:
            reasons.append(Reason("start_open", {}, "start"))
        elif candidate.earliest_start is None:
            reasons.append(Reason("start_any", {"start": position.start.isoformat()}, "start"))
        else:
            early = candidate.earliest_start.toordinal() - position.start.toordinal()
            params = {
                "start": position.start.isoformat(),
                "earliest": candidate.earliest_start.isoformat(),
            }
            if early <= 0:
                reasons.append(Reason("start_fits", params, "start", "positive"))
            else:
                reasons.append(
                    Reason("start_early", {**params, "days": early}, "start", "negative")
                )

    wanted = candidate.wanted_benefits
    offered = wanted & position.benefits
    fits["benefits"] = len(offered) / len(wanted) if wanted else 1.0
    if weights.benefits > 0:
        for benefit in sorted(wanted):
            if benefit in offered:
                reasons.append(
                    Reason("benefit_offered", {"benefit": benefit}, "benefits", "positive")
                )
            else:
                reasons.append(
                    Reason("benefit_missing", {"benefit": benefit}, "benefits", "negative")
                )

    requirements = position.requirements
    languages = _languages(candidate)
    met = {code for code in requirements if _meets(candidate, code, languages)}
    fits["requirements"] = len(met) / len(requirements) if requirements else 1.0
    if weights.requirements > 0:
        for requirement in sorted(requirements):
            reasons.append(_requirement_reason(requirement, requirement in met))
    return _Evaluation(passes, km, fits, tuple(reasons))


def _quantise(raw: float) -> float:
    return round(raw * _SCORE_STEPS) / _SCORE_STEPS


def _scalar_score(fits: Mapping[str, float], weights: ScoreWeights) -> float:
    share = weights.normalised()
    return _quantise(sum(share[name] * fits[name] for name in COMPONENTS))


def score_pair(
    candidate: Candidate, position: Position, *, weights: ScoreWeights = DEFAULT_WEIGHTS
) -> Match | None:
    """Score one pair in plain Python; ``None`` if a hard filter rejects it.

    This is the reference implementation: :func:`score_all` computes the same scores with
    numpy for many pairs at once.

    Parameters
    ----------
    candidate : Candidate
    position : Position
    weights : ScoreWeights, optional (default=DEFAULT_WEIGHTS)

    Returns
    -------
    Match or None

    See Also
    --------
    explain : the reasons of a pair, also of one that the filters reject.

    Examples
    --------
    >>> c = Candidate("anna", 51.9619, 7.6268, 40, {"pflegefachperson"},
    ...               wanted_benefits={"housing"})
    >>> p = Position("ukm", 51.9619, 7.6268, "apprenticeship", "pflegefachperson",
    ...              benefits={"housing"})
    >>> match = score_pair(c, p)
    >>> match.score  # the start is unknown, the type is open: 1 - .15*.5 - .10*.5
    0.875
    >>> match.texts()[2:]
    ['weniger als 1 km entfernt', 'Starttermin nach Vereinbarung', 'Wohnung angeboten']
    >>> score_pair(c, Position("x", 51.96, 7.63, "job", "mfa")) is None
    True
    """
    _check_types([candidate], [position])
    evaluation = _evaluate(candidate, position, weights)
    if not evaluation.passes:
        return None
    return Match(
        candidate.id,
        position.id,
        _scalar_score(evaluation.components, weights),
        evaluation.distance_km,
        evaluation.reasons,
        dict(evaluation.components),
    )


def explain(
    candidate: Candidate, position: Position, *, weights: ScoreWeights = DEFAULT_WEIGHTS
) -> tuple[Reason, ...]:
    """The reasons for one pair, including the filters it fails.

    Examples
    --------
    >>> c = Candidate("ben", 51.9619, 7.6268, 20, {"mfa"}, driving_licence=False)
    >>> p = Position("praxis", 52.2792, 7.4387, "job", "mfa", requirements={"driving_licence"})
    >>> [r.text() for r in explain(c, p)]  # doctest: +NORMALIZE_WHITESPACE
    ['Beruf passt: Medizinische/r Fachangestellte/r (MFA)', 'Angebotsart: Stelle',
     '38 km entfernt – außerhalb des Umkreises von 20 km', 'Starttermin nach Vereinbarung',
     'Führerschein fehlt']
    >>> [r.code for r in explain(c, p) if r.polarity == "negative"]
    ['too_far', 'driving_licence_missing']
    """
    _check_types([candidate], [position])
    return _evaluate(candidate, position, weights).reasons


def _match_from_row(
    candidate: Candidate, position: Position, score: float, weights: ScoreWeights
) -> Match:
    evaluation = _evaluate(candidate, position, weights)
    return Match(
        candidate.id,
        position.id,
        score,
        evaluation.distance_km,
        evaluation.reasons,
        dict(evaluation.components),
    )


# -- vectorised path --------------------------------------------------------------------------


def _check_types(candidates: Sequence[Any], positions: Sequence[Any]) -> None:
    for candidate in candidates:
        if not isinstance(candidate, Candidate):
            raise ScoringInputError(f"expected a Candidate, got {type(candidate).__name__}")
    for position in positions:
        if not isinstance(position, Position):
            raise ScoringInputError(f"expected a Position, got {type(position).__name__}")


def _check_unique(items: Sequence[Candidate] | Sequence[Position], what: str) -> None:
    seen: set[Hashable] = set()
    for item in items:
        if item.id in seen:
            raise ScoringInputError(f"duplicate {what} id {item.id!r}", id=item.id)
        seen.add(item.id)


def _check_count(value: int | None, name: str) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise ScoringInputError(f"{name} must be None or an integer >= 0", option=name)


def _id_ranks(items: Sequence[Candidate] | Sequence[Position]) -> np.ndarray:
    """Rank of every item when sorted by id (by ``str`` if ids do not compare)."""
    ids = [item.id for item in items]
    try:
        order = sorted(range(len(ids)), key=ids.__getitem__)
    except TypeError:
        order = sorted(range(len(ids)), key=lambda i: (type(ids[i]).__name__, str(ids[i])))
    ranks = np.empty(len(ids), dtype=np.int64)
    ranks[np.asarray(order, dtype=np.int64)] = np.arange(len(ids), dtype=np.int64)
    return ranks


def _bitsets(masks: Sequence[int], words: int) -> list[np.ndarray]:
    """Split Python-int bitmasks into one uint64 array per 64-bit word."""
    if words == 1:
        return [np.array(masks, dtype=np.uint64)]
    low = (1 << 64) - 1
    return [
        np.array([(mask >> (64 * word)) & low for mask in masks], dtype=np.uint64)
        for word in range(words)
    ]


def _mask(codes: Iterable[str], bits: Mapping[str, int]) -> int:
    mask = 0
    for code in codes:
        bit = bits.get(code)
        if bit is not None:
            mask |= 1 << bit
    return mask


def _common(a: list[np.ndarray], b: list[np.ndarray], ai: np.ndarray, bi: np.ndarray) -> np.ndarray:
    """Number of common set bits of the bitsets ``a[ai]`` and ``b[bi]``, row by row."""
    count = np.bitwise_count(a[0][ai] & b[0][bi])
    for word in range(1, len(a)):
        count = count + np.bitwise_count(a[word][ai] & b[word][bi])
    return count


#: How a query searches the positions: by profession, by (profession, type) or by type.
_BY_PROFESSION, _BY_PROFESSION_TYPE, _BY_TYPE = 0, 1, 2


class _Problem:
    """Candidates and positions encoded as arrays for the vectorised kernel."""

    def __init__(
        self, candidates: Sequence[Candidate], positions: Sequence[Position], weights: ScoreWeights
    ) -> None:
        share = weights.normalised()
        n, m = len(candidates), len(positions)
        self.weights = weights
        self.share = share
        # Positions.
        professions = sorted({p.profession for p in positions})
        self.profession_code = {code: i for i, code in enumerate(professions)}
        type_code = {code: i for i, code in enumerate(POSITION_TYPES)}
        self.n_types = len(type_code)
        self.p_lat = np.fromiter((p.lat for p in positions), np.float64, m)
        self.p_lon = np.fromiter((p.lon for p in positions), np.float64, m)
        self.p_profession = np.fromiter(
            (self.profession_code[p.profession] for p in positions), np.int64, m
        )
        self.p_type = np.fromiter((type_code[p.position_type] for p in positions), np.int64, m)
        self.p_start = np.fromiter(
            (math.nan if p.start is None else p.start.toordinal() for p in positions),
            np.float64,
            m,
        )
        self.p_rank = _id_ranks(positions)
        self.rank_to_position = np.argsort(self.p_rank)
        self.rank_bits = max(1, (m - 1).bit_length())
        benefit_bit = {
            code: i
            for i, code in enumerate(sorted({b for c in candidates for b in c.wanted_benefits}))
        }
        benefit_words = max(1, -(-len(benefit_bit) // 64))
        self.p_offered = _bitsets(
            [_mask(p.benefits, benefit_bit) for p in positions], benefit_words
        )
        requirement_bit = {
            code: i for i, code in enumerate(sorted({r for p in positions for r in p.requirements}))
        }
        requirement_words = max(1, -(-len(requirement_bit) // 64))
        self.p_required = _bitsets(
            [_mask(p.requirements, requirement_bit) for p in positions], requirement_words
        )
        n_required = np.fromiter((len(p.requirements) for p in positions), np.float64, m)
        with np.errstate(divide="ignore", invalid="ignore"):
            self.p_req_scale = np.where(n_required > 0, share["requirements"] / n_required, 0.0)
        self.p_const = np.where(n_required > 0, 0.0, share["requirements"])
        # Candidates.
        self.c_lat = np.fromiter((c.lat for c in candidates), np.float64, n)
        self.c_lon = np.fromiter((c.lon for c in candidates), np.float64, n)
        self.c_radius = np.fromiter((c.max_distance_km for c in candidates), np.float64, n)
        with np.errstate(divide="ignore", invalid="ignore"):
            self.c_angle = np.where(self.c_radius > 0, math.pi / self.c_radius, 0.0)
        self.c_earliest = np.fromiter(
            (math.nan if c.earliest_start is None else c.earliest_start.toordinal()
             for c in candidates),
            np.float64,
            n,
        )  # fmt: skip
        self.c_wanted = _bitsets(
            [_mask(c.wanted_benefits, benefit_bit) for c in candidates], benefit_words
        )
        n_wanted = np.fromiter((len(c.wanted_benefits) for c in candidates), np.float64, n)
        with np.errstate(divide="ignore", invalid="ignore"):
            self.c_ben_scale = np.where(n_wanted > 0, share["benefits"] / n_wanted, 0.0)
        language_bits: dict[str, int] = {}
        for code, bit in requirement_bit.items():
            if code.lower().startswith(LANGUAGE_PREFIX):
                language = code[len(LANGUAGE_PREFIX) :].lower()
                language_bits[language] = language_bits.get(language, 0) | (1 << bit)
        licence_bit = requirement_bit.get(DRIVING_LICENCE)
        has: list[int] = []
        for c in candidates:
            mask = _mask(c.qualifications, requirement_bit)
            if language_bits:
                for language in _languages(c):
                    mask |= language_bits.get(language, 0)
            if c.driving_licence and licence_bit is not None:
                mask |= 1 << licence_bit
            has.append(mask)
        self.c_has = _bitsets(has, requirement_words)
        open_prof = np.fromiter((not c.professions for c in candidates), bool, n)
        open_type = np.fromiter((not c.position_types for c in candidates), bool, n)
        floor = weights.distance_floor
        self.dist_amp = share["distance"] * (1.0 - floor) * 0.5
        self.c_const = (
            share["profession"] * np.where(open_prof, weights.open_preference, 1.0)
            + share["position_type"] * np.where(open_type, weights.open_preference, 1.0)
            + np.where(n_wanted > 0, 0.0, share["benefits"])
            + share["distance"] * floor
            + self.dist_amp
        )
        self.any_start = bool(np.any(~np.isnan(self.c_earliest))) and bool(
            np.any(~np.isnan(self.p_start))
        )
        if not self.any_start:
            self.c_const = self.c_const + share["start"] * weights.start_unknown
        self.any_benefits = bool(np.any(n_wanted > 0))
        self.any_requirements = bool(np.any(n_required > 0))
        self._queries(candidates, type_code)

    def _queries(self, candidates: Sequence[Candidate], type_code: Mapping[str, int]) -> None:
        """One spatial query per (candidate, wanted profession/type present among positions).

        Candidates who named professions and types query the (profession, type) groups;
        those who named only professions the profession groups, only types the type groups,
        neither every position. A candidate whose professions no position has gets no query.
        """
        q_cand: list[int] = []
        q_kind: list[int] = []
        q_group: list[int] = []
        n_types = self.n_types
        plans: dict[tuple[frozenset[str], frozenset[str]], tuple[int, list[int]]] = {}
        for i, c in enumerate(candidates):
            wish = (c.professions, c.position_types)
            plan = plans.get(wish)
            if plan is None:
                plan = plans[wish] = self._plan(c, type_code, n_types)
            kind, groups = plan
            q_cand.extend([i] * len(groups))
            q_kind.extend([kind] * len(groups))
            q_group.extend(groups)
        self.q_cand = np.asarray(q_cand, dtype=np.int64)
        self.q_kind = np.asarray(q_kind, dtype=np.int64)
        self.q_group = np.asarray(q_group, dtype=np.int64)
        self._indices: dict[int, SpatialIndex] = {}

    def _plan(
        self, c: Candidate, type_code: Mapping[str, int], n_types: int
    ) -> tuple[int, list[int]]:
        types = sorted(type_code[t] for t in c.position_types)
        if c.professions:
            professions = sorted(
                self.profession_code[p] for p in c.professions if p in self.profession_code
            )
            if types:
                return _BY_PROFESSION_TYPE, [p * n_types + t for p in professions for t in types]
            return _BY_PROFESSION, professions
        if types:
            return _BY_TYPE, types
        return _BY_PROFESSION, [-1]

    def index(self, kind: int) -> SpatialIndex:
        """The spatial index of the positions, grouped as query ``kind`` needs (built once)."""
        index = self._indices.get(kind)
        if index is None:
            if kind == _BY_PROFESSION:
                groups = self.p_profession
            elif kind == _BY_PROFESSION_TYPE:
                groups = self.p_profession * self.n_types + self.p_type
            else:
                groups = self.p_type
            index = SpatialIndex(self.p_lat, self.p_lon, groups=groups)
            self._indices[kind] = index
        return index

    def pairs(self, lo: int, hi: int) -> Iterable[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """(candidate, position, km) of every pair in reach for the queries ``lo:hi``."""
        for kind in (_BY_PROFESSION, _BY_PROFESSION_TYPE, _BY_TYPE):
            rows = lo + np.flatnonzero(self.q_kind[lo:hi] == kind)
            if len(rows) == 0:
                continue
            cand = self.q_cand[rows]
            for query, pj, km in self.index(kind).iter_pairs_within(
                self.c_lat[cand],
                self.c_lon[cand],
                self.c_radius[cand],
                groups=self.q_group[rows],
                max_pairs=_CHUNK_PAIRS,
            ):
                yield cand[query], pj, km

    def kernel(self, ci: np.ndarray, pj: np.ndarray, km: np.ndarray) -> np.ndarray:
        """Quantised scores (integers in [0, 1e9]) of pairs that passed the filters."""
        weights, share = self.weights, self.share
        raw = self.c_const[ci]
        raw += self.p_const[pj]
        angle = km * self.c_angle[ci]
        np.cos(angle, out=angle)
        angle *= self.dist_amp
        raw += angle
        if self.any_start:
            # share * clip(1 - early / tolerance, 0, 1); unknown dates (NaN) get start_unknown.
            fit = self.c_earliest[ci]
            fit -= self.p_start[pj]
            if weights.start_tolerance_days > 0:
                fit *= -share["start"] / weights.start_tolerance_days
                fit += share["start"]
                np.clip(fit, 0.0, share["start"], out=fit)
            else:
                fit = np.where(fit <= 0, share["start"], np.where(fit > 0, 0.0, fit))
            np.nan_to_num(fit, copy=False, nan=share["start"] * weights.start_unknown)
            raw += fit
        if self.any_benefits:
            raw += _common(self.c_wanted, self.p_offered, ci, pj) * self.c_ben_scale[ci]
        if self.any_requirements:
            raw += _common(self.c_has, self.p_required, ci, pj) * self.p_req_scale[pj]
        raw *= _SCORE_STEPS
        np.rint(raw, out=raw)
        return raw.astype(np.int64)


class ScoreTable:
    """The result of :func:`score_all`: one row per scored (candidate, position) pair.

    Rows are ordered by candidate index, then best score first, then position id. Reasons are
    not computed up front; :meth:`match` builds them for the rows actually shown, and the
    distances are computed on first access of :attr:`distance_km`.

    Attributes
    ----------
    candidate_idx, position_idx : numpy.ndarray of int
        Positions in the ``candidates`` and ``positions`` sequences (int32 unless there are
        more than 2**31 of them).
    score : numpy.ndarray of float64
        Multiples of :data:`SCORE_RESOLUTION` in [0, 1].
    distance_km : numpy.ndarray of float64
        Great-circle distance of each row (computed lazily, then kept).
    candidates, positions : tuple
        The inputs, for :meth:`match`.
    weights : ScoreWeights
    pairs_scored : int
        Pairs that passed the hard filters (before ``top_k`` cut the rows).

    Examples
    --------
    >>> cands = [Candidate("a", 51.96, 7.63, 30, {"mfa"})]
    >>> posts = [Position("p1", 51.97, 7.62, "job", "mfa"), Position("p2", 52.1, 7.6, "job", "mfa")]
    >>> table = score_all(cands, posts)
    >>> len(table), table.rows_for(0), table.distance_km.round(1).tolist()
    (2, slice(0, 2, None), [1.3, 15.7])
    >>> [m.position_id for m in table.matches_for(0, limit=1)]
    ['p1']
    """

    __slots__ = (
        "candidate_idx",
        "position_idx",
        "score",
        "candidates",
        "positions",
        "weights",
        "pairs_scored",
        "_distance_km",
    )

    def __init__(
        self,
        candidate_idx: np.ndarray,
        position_idx: np.ndarray,
        score: np.ndarray,
        candidates: tuple[Candidate, ...],
        positions: tuple[Position, ...],
        weights: ScoreWeights,
        pairs_scored: int,
    ) -> None:
        for array in (candidate_idx, position_idx, score):
            array.setflags(write=False)
        self.candidate_idx = candidate_idx
        self.position_idx = position_idx
        self.score = score
        self.candidates = candidates
        self.positions = positions
        self.weights = weights
        self.pairs_scored = pairs_scored
        self._distance_km: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.score)

    def __repr__(self) -> str:
        return (
            f"ScoreTable(rows={len(self)}, candidates={len(self.candidates)}, "
            f"positions={len(self.positions)})"
        )

    @property
    def distance_km(self) -> np.ndarray:
        """Great-circle distance of every row in kilometres."""
        if self._distance_km is None:
            ci, pj = self.candidate_idx, self.position_idx
            c_lat = np.fromiter((c.lat for c in self.candidates), np.float64, len(self.candidates))
            c_lon = np.fromiter((c.lon for c in self.candidates), np.float64, len(self.candidates))
            p_lat = np.fromiter((p.lat for p in self.positions), np.float64, len(self.positions))
            p_lon = np.fromiter((p.lon for p in self.positions), np.float64, len(self.positions))
            distance = np.asarray(haversine_km(c_lat[ci], c_lon[ci], p_lat[pj], p_lon[pj]))
            distance.setflags(write=False)
            self._distance_km = distance
        return self._distance_km

    def rows_for(self, candidate_idx: int) -> slice:
        """The rows of one candidate (best first) as a slice."""
        lo = int(np.searchsorted(self.candidate_idx, candidate_idx, side="left"))
        hi = int(np.searchsorted(self.candidate_idx, candidate_idx, side="right"))
        return slice(lo, hi)

    def match(self, row: int) -> Match:
        """The :class:`Match` of one row, with its reasons."""
        ci, pj = int(self.candidate_idx[row]), int(self.position_idx[row])
        return _match_from_row(
            self.candidates[ci], self.positions[pj], float(self.score[row]), self.weights
        )

    def matches_for(self, candidate_idx: int, limit: int | None = None) -> list[Match]:
        """The best matches of one candidate, with reasons."""
        rows = range(len(self))[self.rows_for(candidate_idx)]
        if limit is not None:
            rows = rows[:limit]
        return [self.match(row) for row in rows]


def _sort_block(
    ci: np.ndarray,
    pj: np.ndarray,
    q: np.ndarray,
    first: int,
    n_block: int,
    problem: _Problem,
    top_k: int | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Order a block's pairs by (candidate, score desc, position id); keep ``top_k`` each.

    The three sort keys are packed into one int64 (candidate within the block, the complement
    of the quantised score, the position's id rank), so one plain sort orders them.
    """
    rank_bits = problem.rank_bits
    shift = _SCORE_BITS + rank_bits
    key = ci - first
    key <<= shift
    q = _SCORE_STEPS - q
    q <<= rank_bits
    key |= q
    key |= problem.p_rank[pj]
    key.sort()
    local = key >> shift
    if top_k is not None:
        counts = np.bincount(local, minlength=n_block)
        offsets = np.cumsum(counts) - counts
        keep = np.arange(len(key)) - np.repeat(offsets, counts) < top_k
        key, local = key[keep], local[keep]
    pj = problem.rank_to_position[key & ((1 << rank_bits) - 1)]
    q = _SCORE_STEPS - ((key >> rank_bits) & ((1 << _SCORE_BITS) - 1))
    local += first
    return local, pj, q


def _score_table(
    candidates: Sequence[Candidate],
    positions: Sequence[Position],
    weights: ScoreWeights,
    top_k: int | None,
) -> ScoreTable:
    candidates, positions = tuple(candidates), tuple(positions)
    _check_types(candidates, positions)
    _check_unique(candidates, "candidate")
    _check_unique(positions, "position")
    if not isinstance(weights, ScoreWeights):
        raise ScoringInputError("weights must be a ScoreWeights")
    _check_count(top_k, "top_k")
    index_type = np.int32 if max(len(candidates), len(positions)) < 2**31 else np.int64
    parts: list[tuple[np.ndarray, ...]] = []
    pairs_scored = 0
    if candidates and positions and top_k != 0:
        problem = _Problem(candidates, positions, weights)
        # Candidates are handled in blocks of about _TARGET_PAIRS_PER_BLOCK pairs, so that the
        # memory of one block stays bounded and its sort key fits 63 bits.
        max_block = 1 << max(0, 62 - _SCORE_BITS - problem.rank_bits)
        first, block = 0, min(1024, max_block)
        n = len(candidates)
        while first < n:
            stop = min(n, first + block)
            lo, hi = (int(i) for i in np.searchsorted(problem.q_cand, [first, stop]))
            chunks = [(ci, pj, problem.kernel(ci, pj, km)) for ci, pj, km in problem.pairs(lo, hi)]
            if chunks:
                ci, pj, q = (np.concatenate(column) for column in zip(*chunks, strict=True))
                del chunks
                pairs_scored += len(ci)
                ci, pj, q = _sort_block(ci, pj, q, first, stop - first, problem, top_k)
                parts.append((ci.astype(index_type), pj.astype(index_type), q / _SCORE_STEPS))
                per_candidate = max(1.0, pairs_scored / stop)
                block = int(min(max_block, max(64, _TARGET_PAIRS_PER_BLOCK / per_candidate)))
            first = stop
    if parts:
        ci, pj, score = (np.concatenate(column) for column in zip(*parts, strict=True))
    else:
        ci, pj, score = np.empty(0, index_type), np.empty(0, index_type), np.empty(0)
    return ScoreTable(ci, pj, score, candidates, positions, weights, pairs_scored)


def score_all(
    candidates: Sequence[Candidate],
    positions: Sequence[Position],
    *,
    weights: ScoreWeights = DEFAULT_WEIGHTS,
    top_k: int | None = None,
) -> ScoreTable:
    """Score every (candidate, position) pair that passes the hard filters, vectorised.

    Positions are indexed once by profession and location (:class:`~network.matching.geo.
    SpatialIndex`); each candidate queries only the positions of its professions within its own
    radius, so the work grows with the number of pairs in reach, not with ``n * m``. The scores
    equal :func:`score_pair`'s (up to float rounding in the last :data:`SCORE_RESOLUTION` step).

    Parameters
    ----------
    candidates : sequence of Candidate
        Ids must be unique.
    positions : sequence of Position
        Ids must be unique; typically all open positions.
    weights : ScoreWeights, optional (default=DEFAULT_WEIGHTS)
    top_k : int, optional (default=None)
        Keep only the best ``top_k`` positions per candidate (e.g. for a digest).

    Returns
    -------
    ScoreTable
        Rows ordered by candidate index, best score first, ties by position id. Build the
        reasons of the rows to show with :meth:`ScoreTable.match` (or :func:`explain`).

    Raises
    ------
    ScoringInputError
        On non-Candidate/Position items, duplicate ids, bad weights or ``top_k``.

    Examples
    --------
    >>> cands = [Candidate("a", 51.96, 7.63, 30, {"mfa"}), Candidate("b", 52.28, 7.44, 10, set())]
    >>> posts = [Position("p1", 51.97, 7.62, "job", "mfa"),
    ...          Position("p2", 52.27, 7.45, "job", "mfa"),
    ...          Position("p3", 52.28, 7.44, "placement", "pta")]
    >>> table = score_all(cands, posts)
    >>> [(cands[i].id, posts[j].id) for i, j in zip(table.candidate_idx, table.position_idx)]
    [('a', 'p1'), ('b', 'p3'), ('b', 'p2')]
    >>> table.match(0).texts("en")[:3]
    ['Profession matches: Medical assistant', 'Position type: Job', '1 km away']
    """
    return _score_table(candidates, positions, weights, top_k)


def rank_positions(
    candidate: Candidate,
    positions: Sequence[Position],
    *,
    weights: ScoreWeights = DEFAULT_WEIGHTS,
    limit: int | None = None,
) -> list[Match]:
    """The positions that pass the candidate's filters, best first, with reasons.

    Ties are broken by position id.

    Examples
    --------
    >>> anna = Candidate("anna", 51.96, 7.63, 30, {"pflegefachperson"}, {"apprenticeship"})
    >>> posts = [Position("near", 51.97, 7.63, "apprenticeship", "pflegefachperson"),
    ...          Position("far", 52.10, 7.63, "apprenticeship", "pflegefachperson"),
    ...          Position("job", 51.96, 7.63, "job", "pflegefachperson")]
    >>> [(m.position_id, round(m.score, 3)) for m in rank_positions(anna, posts)]
    [('near', 0.924), ('far', 0.777)]
    """
    _check_count(limit, "limit")
    table = _score_table([candidate], positions, weights, limit)
    return [table.match(row) for row in range(len(table))]


def rank_candidates(
    position: Position,
    candidates: Sequence[Candidate],
    *,
    weights: ScoreWeights = DEFAULT_WEIGHTS,
    limit: int | None = None,
) -> list[Match]:
    """The candidates for whom the position passes the filters (each with their own radius).

    Best first; ties are broken by candidate id.

    Examples
    --------
    >>> post = Position("ukm", 51.96, 7.63, "apprenticeship", "pflegefachperson")
    >>> cands = [Candidate("b", 52.10, 7.63, 20, {"pflegefachperson"}),
    ...          Candidate("a", 52.10, 7.63, 20, {"pflegefachperson"}),
    ...          Candidate("c", 52.10, 7.63, 10, {"pflegefachperson"})]
    >>> [m.candidate_id for m in rank_candidates(post, cands)]
    ['a', 'b']
    """
    _check_count(limit, "limit")
    table = _score_table(candidates, [position], weights, None)
    if len(table) == 0:
        return []
    q = np.rint(table.score * _SCORE_STEPS).astype(np.int64)
    ranks = _id_ranks(table.candidates)[table.candidate_idx]
    order = np.lexsort((ranks, -q))
    if limit is not None:
        order = order[:limit]
    return [table.match(int(row)) for row in order]
