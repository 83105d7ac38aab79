"""Cross-municipal collaboration suggestions between organisations, with scores and reasons."""

from __future__ import annotations

__all__ = [
    "SuggestionConfig",
    "DEFAULT_CONFIG",
    "Reason",
    "Suggestion",
    "suggest",
    "calibrate",
    "pair_fingerprint",
    "reason_text",
    "REASON_CODES",
    "SuggestionError",
    "InvalidOrganisationError",
    "UnknownOrganisationError",
    "InvalidFeedbackError",
    "InvalidSuggestionConfigError",
    "UnknownReasonError",
]

import dataclasses
import hashlib
import json
import math
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from functools import cache
from types import MappingProxyType
from typing import Any

import numpy as np

from network.gc_pause import gc_paused
from network.matching import _suggestion_signals as _sig
from network.matching.exceptions import MatchingError
from network.vocabulary import ORGANISATION_KINDS, TAGS, label

# --------------------------------------------------------------------------------------------
# Errors


class SuggestionError(MatchingError):
    """Base class of the errors of :func:`suggest`; ``k`` or ``only`` unusable."""

    code = "suggestion_error"
    _de = "Die Eingaben der Vorschläge sind ungültig: {message}"

    def text(self, language: str = "de") -> str:
        """The message in ``language`` (``"de"``, default, or ``"en"``)."""
        if language == "en":
            return self.message
        values = _Params({k: v if isinstance(v, str) else repr(v) for k, v in self.params.items()})
        values["message"] = self.message
        return self._de.format_map(values)


class _Params(dict):
    """Parameters of a message template; a missing one shows as ``?``."""

    def __missing__(self, key: str) -> str:
        return "?"


class InvalidOrganisationError(SuggestionError):
    """An organisation lacks an id or coordinates, has a duplicate id or unusable tags."""

    code = "invalid_organisation"
    _de = "Die Angaben der Organisation {id} sind ungültig (Feld {field}): {message}"


class UnknownOrganisationError(SuggestionError):
    """A collaboration or ``only`` names an id that is not among the organisations."""

    code = "unknown_organisation"
    _de = "Die Organisation {id} ist unbekannt."


class InvalidFeedbackError(SuggestionError):
    """A feedback value is not a number in [-1, 1] or its key is not a pair of ids."""

    code = "invalid_feedback"
    _de = "Die Rückmeldung {pair} ist ungültig: {message}"


class InvalidSuggestionConfigError(SuggestionError):
    """A field of :class:`SuggestionConfig` is out of range."""

    code = "invalid_suggestion_config"
    _de = "Die Einstellung {field} der Vorschläge ist ungültig: {message}"


class UnknownReasonError(SuggestionError):
    """:func:`reason_text` got a code it does not know."""

    code = "unknown_reason"
    _de = "Unbekannte Begründung {reason}."


# --------------------------------------------------------------------------------------------
# Configuration

#: How far an organisation of each kind works with partners, in km (pair reach: the larger).
_REACH_KM: dict[str, float] = {
    "hospital": 60.0,
    "rehab_clinic": 60.0,
    "school": 60.0,
    "municipality": 50.0,
    "association": 50.0,
    "mvz": 35.0,
    "specialist_practice": 35.0,
    "care_home": 35.0,
    "ambulatory_care": 35.0,
    "sme": 35.0,
    "gp_practice": 25.0,
    "therapy_practice": 25.0,
    "day_care": 25.0,
    "pharmacy": 20.0,
    "rescue_station": 20.0,
}

#: How well two kinds fit together, 0..1; symmetric, each unordered pair listed once.
_KIND_COMPATIBILITY: dict[tuple[str, str], float] = {
    # hospitals: care pathways, transfer, training alliances, emergency chain
    ("hospital", "hospital"): 0.5,
    ("hospital", "rehab_clinic"): 0.8,
    ("hospital", "gp_practice"): 0.8,
    ("hospital", "specialist_practice"): 0.8,
    ("hospital", "mvz"): 0.9,
    ("hospital", "ambulatory_care"): 0.8,
    ("hospital", "care_home"): 1.0,
    ("hospital", "day_care"): 0.3,
    ("hospital", "therapy_practice"): 0.4,
    ("hospital", "pharmacy"): 0.3,
    ("hospital", "rescue_station"): 0.9,
    ("hospital", "school"): 1.0,
    ("hospital", "sme"): 0.5,
    ("hospital", "municipality"): 0.6,
    ("hospital", "association"): 0.6,
    # rehabilitation
    ("rehab_clinic", "gp_practice"): 0.4,
    ("rehab_clinic", "specialist_practice"): 0.5,
    ("rehab_clinic", "mvz"): 0.4,
    ("rehab_clinic", "therapy_practice"): 0.8,
    ("rehab_clinic", "care_home"): 0.5,
    ("rehab_clinic", "ambulatory_care"): 0.5,
    ("rehab_clinic", "school"): 0.6,
    ("rehab_clinic", "sme"): 0.4,
    # ambulatory medicine: referrals, shared staff, GP training, succession
    ("gp_practice", "gp_practice"): 0.5,
    ("gp_practice", "specialist_practice"): 0.8,
    ("gp_practice", "mvz"): 0.9,
    ("gp_practice", "ambulatory_care"): 0.8,
    ("gp_practice", "care_home"): 0.8,
    ("gp_practice", "day_care"): 0.4,
    ("gp_practice", "pharmacy"): 0.7,
    ("gp_practice", "therapy_practice"): 0.6,
    ("gp_practice", "rescue_station"): 0.4,
    ("gp_practice", "municipality"): 0.6,
    ("gp_practice", "association"): 0.5,
    ("specialist_practice", "specialist_practice"): 0.4,
    ("specialist_practice", "mvz"): 0.7,
    ("specialist_practice", "therapy_practice"): 0.6,
    ("specialist_practice", "pharmacy"): 0.4,
    ("specialist_practice", "care_home"): 0.5,
    ("mvz", "mvz"): 0.4,
    ("mvz", "care_home"): 0.6,
    ("mvz", "ambulatory_care"): 0.5,
    ("mvz", "therapy_practice"): 0.4,
    ("mvz", "pharmacy"): 0.4,
    ("mvz", "municipality"): 0.5,
    # nursing: placements and training alliances, patient transitions
    ("ambulatory_care", "ambulatory_care"): 0.3,
    ("ambulatory_care", "care_home"): 0.7,
    ("ambulatory_care", "day_care"): 0.8,
    ("ambulatory_care", "school"): 1.0,
    ("ambulatory_care", "pharmacy"): 0.5,
    ("ambulatory_care", "therapy_practice"): 0.5,
    ("ambulatory_care", "sme"): 0.6,
    ("care_home", "care_home"): 0.3,
    ("care_home", "day_care"): 0.6,
    ("care_home", "school"): 1.0,
    ("care_home", "therapy_practice"): 0.7,
    ("care_home", "pharmacy"): 0.6,
    ("care_home", "sme"): 0.6,
    ("day_care", "school"): 0.5,
    ("day_care", "therapy_practice"): 0.4,
    ("day_care", "sme"): 0.3,
    ("therapy_practice", "therapy_practice"): 0.3,
    ("rescue_station", "rescue_station"): 0.5,
    ("rescue_station", "school"): 0.5,
    ("rescue_station", "municipality"): 0.5,
    ("school", "school"): 0.4,
    ("school", "municipality"): 0.5,
    ("school", "association"): 0.5,
    # location factors: staff housing, childcare, mobility, marketing
    ("sme", "municipality"): 0.7,
    ("sme", "association"): 0.5,
    ("municipality", "municipality"): 0.6,
    ("municipality", "association"): 0.9,
    ("association", "association"): 0.4,
}


def _frozen(mapping: Mapping[Any, float]) -> Mapping[Any, float]:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True)
class SuggestionConfig:
    """Every weight, scale and table of :func:`suggest`, in one place.

    The score is log-linear: a sum of weighted components, each the logarithm of a factor by
    which the pair is more promising, so that a difference of 1 in score means the pair is
    about ``e`` times as promising. All components are ``>= 0`` except feedback:

    ``score = complementarity_weight · C + structure_weight · S + geography_weight · G
    + cross_municipal_bonus · X + kind_weight · K + feedback_weight · F``

    - ``C = log(1 + m)``: ``m`` counts one side's needs met by the other's offers, both ways,
      plus ``placement_gap_share`` for each *implied* need (see below).
    - ``S = log(1 + v / structure_scale)``: ``v`` is the resource-allocation index
      ``sum 1/deg(z)`` over the common partners ``z`` (Adamic–Adar ``sum 1/log deg(z)`` with
      ``structure_index="adamic_adar"``); zero without a common partner.
    - ``G = log((R + s) / (d + s))`` for the distance ``d`` in km, ``s`` =
      ``distance_softening_km`` and ``R`` the largest reach: a power-law decay
      ``(d + s)^-geography_weight``, zero at ``R``. A pair farther apart than its reach (the
      larger of the two kinds' ``reach_km``; ``default_reach_km`` for other kinds) is never
      suggested.
    - ``X = 1`` if the two lie in different (known) municipalities. Inter-municipal
      cooperation is the point, but links are mostly local, so the bonus is small: it decides
      between near-equal candidates and never outweighs a clearly better local one.
    - ``K = log(1 + L)``, ``L = (E + a · T) / (X_e + a)``: ``T`` is the kind table
      (symmetric; ``unlisted_compatibility`` for two known kinds not in it,
      ``unknown_kind_compatibility`` if a kind is not in the vocabulary; a nursing school of
      ``school_kinds`` and an organisation offering ``trainer_tag`` get at least
      ``training_alliance_compatibility``), ``E`` the observed links between the two kinds and
      ``X_e`` the number expected if all pairs linked alike, ``a`` = ``kind_prior_strength``.
      ``L`` is the lift of the kind pair in the network, with the table as prior: the table
      decides while there is little data, the region's own mixing once there is much.
    - ``F``: the providers' feedback on the pair in [-1, 1] ("interested" ... "not relevant").

    *Implied placement needs*: an organisation offering ``trainer_tag`` (it trains nurses) or
    of a ``school_kinds`` kind must place its trainees in every mandatory placement area
    (``network.vocabulary.PLACEMENT_TAGS``, PflAPrV Anlage 7). Each area it neither offers nor
    lists as a need counts as an implied need, weighted ``placement_gap_share``.

    Candidates (never all pairs): the 2-hop neighbours; for each tag a source needs (explicitly
    or implied) its ``candidates_per_tag`` nearest organisations offering it, and for each tag
    it offers its nearest organisations needing it; its ``candidates_per_kind`` nearest of
    every *rare* kind (at most ``rare_kind_share`` of all organisations, e.g. hospitals,
    schools) with table compatibility ``>= kind_candidate_threshold``; its
    ``candidates_nearest`` nearest of any kind (which hold the frequent kinds); its feedback
    pairs.

    *Calibration* (``calibrate=True``): the four weights above are the prior; each call
    re-estimates them from the network itself by a penalised logistic regression of its
    existing links against random pairs within reach (see :func:`calibrate`), so that every
    weight is the log-odds its signal is worth in this network. Networks with fewer than
    ``calibration_min_links`` links keep the configured weights.

    A list holds at most ``k`` pairs scoring ``> min_score``, and stops where the score falls
    more than ``relative_cutoff`` below the list's best (``math.inf`` keeps all ``k``): a pair
    ``e**3`` (20) times less likely than the best one is noise to the reader.

    The prior weights were set by hand and checked on held-out links of four differently
    generated networks (``benchmarks/suggestions_quality.py`` has two); results are flat
    around them.

    Examples
    --------
    >>> DEFAULT_CONFIG.compatibility("hospital", "care_home")
    1.0
    >>> DEFAULT_CONFIG.compatibility("other", "hospital") == DEFAULT_CONFIG.unknown_kind_compatibility
    True
    >>> DEFAULT_CONFIG.reach_of("rescue_station") < DEFAULT_CONFIG.reach_of("hospital")
    True
    >>> SuggestionConfig(geography_weight=-1)
    Traceback (most recent call last):
    ...
    network.matching.suggestions.InvalidSuggestionConfigError: geography_weight must be a finite number >= 0, not -1
    """

    complementarity_weight: float = 0.5
    placement_gap_share: float = 0.5
    structure_weight: float = 1.0
    structure_index: str = "resource_allocation"
    structure_scale: float = 0.02
    geography_weight: float = 0.6
    distance_softening_km: float = 1.0
    cross_municipal_bonus: float = 0.05
    kind_weight: float = 0.6
    kind_prior_strength: float = 20.0
    feedback_weight: float = 2.0
    min_score: float = 0.0
    relative_cutoff: float = 3.0
    reach_km: Mapping[str, float] = field(default_factory=lambda: _frozen(_REACH_KM))
    default_reach_km: float = 35.0
    kind_compatibility: Mapping[tuple[str, str], float] = field(
        default_factory=lambda: _frozen(_KIND_COMPATIBILITY)
    )
    unlisted_compatibility: float = 0.1
    unknown_kind_compatibility: float = 0.3
    training_alliance_compatibility: float = 1.0
    trainer_tag: str = "training:nursing"
    school_kinds: tuple[str, ...] = ("school",)
    candidates_per_tag: int = 5
    candidates_per_kind: int = 4
    candidates_nearest: int = 10
    kind_candidate_threshold: float = 0.5
    rare_kind_share: float = 0.05
    calibrate: bool = True
    calibration_sources: int = 1000
    calibration_negatives: int = 200
    calibration_min_links: int = 200
    calibration_prior_strength: float = 10.0
    calibration_max_weight: float = 5.0
    calibration_seed: int = 0
    chunk_size: int = 4096
    common_partners_named: int = 3

    def __post_init__(self) -> None:
        special = {
            "reach_km",
            "kind_compatibility",
            "structure_index",
            "trainer_tag",
            "calibrate",
        }
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "school_kinds":
                if isinstance(value, str) or not all(isinstance(k, str) for k in value):
                    raise InvalidSuggestionConfigError(
                        f"school_kinds must be a tuple of kinds, not {value!r}", field=f.name
                    )
            elif f.name == "relative_cutoff":
                if not isinstance(value, int | float) or not value >= 0:
                    raise InvalidSuggestionConfigError(
                        f"relative_cutoff must be >= 0 (math.inf: off), not {value!r}",
                        field=f.name,
                    )
            elif f.name not in special:
                self._check_number(f.name, value)
        if self.structure_index not in {"resource_allocation", "adamic_adar"}:
            raise InvalidSuggestionConfigError(
                "structure_index must be 'resource_allocation' or 'adamic_adar', "
                f"not {self.structure_index!r}",
                field="structure_index",
            )
        for kind, km in self.reach_km.items():
            if not (isinstance(km, int | float) and math.isfinite(km) and km > 0):
                raise InvalidSuggestionConfigError(
                    f"reach_km[{kind!r}] must be > 0, not {km!r}", field="reach_km"
                )
        for pair, value in self.kind_compatibility.items():
            if not (isinstance(value, int | float) and 0 <= value <= 1):
                raise InvalidSuggestionConfigError(
                    f"kind_compatibility[{pair!r}] must be in [0, 1], not {value!r}",
                    field="kind_compatibility",
                )
            a, b = pair
            if self.kind_compatibility.get((b, a), value) != value:
                raise InvalidSuggestionConfigError(
                    f"kind_compatibility is not symmetric for {pair!r}", field="kind_compatibility"
                )
        for name in (
            "unlisted_compatibility",
            "unknown_kind_compatibility",
            "training_alliance_compatibility",
            "placement_gap_share",
        ):
            if getattr(self, name) > 1:
                raise InvalidSuggestionConfigError(f"{name} must be <= 1", field=name)
        for name in (
            "structure_scale",
            "distance_softening_km",
            "default_reach_km",
            "kind_prior_strength",
            "chunk_size",
        ):
            if getattr(self, name) <= 0:
                raise InvalidSuggestionConfigError(f"{name} must be > 0", field=name)
        for name in (
            "candidates_per_tag",
            "candidates_per_kind",
            "candidates_nearest",
            "chunk_size",
            "common_partners_named",
        ):
            if not isinstance(getattr(self, name), int):
                raise InvalidSuggestionConfigError(f"{name} must be an integer", field=name)

    def _check_number(self, name: str, value: Any) -> None:
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise InvalidSuggestionConfigError(
                f"{name} must be a finite number, not {value!r}", field=name
            )
        if value < 0 and name != "min_score":
            raise InvalidSuggestionConfigError(
                f"{name} must be a finite number >= 0, not {value!r}", field=name
            )

    def reach_of(self, kind: str) -> float:
        """Reach in km of an organisation of ``kind`` (``default_reach_km`` if not listed)."""
        return float(self.reach_km.get(kind, self.default_reach_km))

    def largest_reach_km(self) -> float:
        """The largest reach of any kind: the distance at which geography reaches zero."""
        return float(max([self.default_reach_km, *self.reach_km.values()]))

    def compatibility(self, kind_a: str, kind_b: str) -> float:
        """How well two kinds fit together by the table (0..1), before the observed mixing."""
        table = self.kind_compatibility
        value = table.get((kind_a, kind_b), table.get((kind_b, kind_a)))
        if value is not None:
            return float(value)
        if kind_a in ORGANISATION_KINDS and kind_b in ORGANISATION_KINDS:
            return float(self.unlisted_compatibility)
        return float(self.unknown_kind_compatibility)


#: The configuration :func:`suggest` uses unless told otherwise.
DEFAULT_CONFIG = SuggestionConfig()

# --------------------------------------------------------------------------------------------
# Reasons

#: Reason code -> the score component (key of ``Suggestion.signals``) it explains.
REASON_CODES: Mapping[str, str] = MappingProxyType(
    {
        "need_met": "complementarity",
        "placement_gap": "complementarity",
        "common_partners": "structure",
        "distance": "geography",
        "cross_municipal": "cross_municipal",
        "kind_fit": "kind",
        "training_alliance": "kind",
        "feedback": "feedback",
    }
)


def _number(value: float, language: str) -> str:
    text = f"{value:.0f}" if value >= 10 else f"{value:.1f}"
    return text.replace(".", ",") if language != "en" else text


def _enumerate(items: list[str], language: str) -> str:
    conjunction = " and " if language == "en" else " und "
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + conjunction + items[-1]


def _render_common(params: Mapping[str, Any], language: str) -> str:
    names = [str(p) for p in params.get("partners", ())]
    more = int(params.get("count", len(names))) - len(names)
    if more > 0:
        names.append(f"{more} more" if language == "en" else f"{more} weiteren")
    joined = _enumerate(names, language)
    return (
        f"both work with {joined}" if language == "en" else f"beide arbeiten mit {joined} zusammen"
    )


def _render_distance(params: Mapping[str, Any], language: str) -> str:
    km = float(params["km"])
    if km < 0.1:
        return "less than 100 m apart" if language == "en" else "weniger als 100 m entfernt"
    return f"{_number(km, language)} km " + ("apart" if language == "en" else "entfernt")


def _kind_label(code: str | None, language: str) -> str:
    if not code:
        return "organisation of unknown kind" if language == "en" else "Einrichtung unbekannter Art"
    return label(ORGANISATION_KINDS, code, language)


def _render_kind(params: Mapping[str, Any], language: str) -> str:
    a = _kind_label(params["kind_a"], language)
    b = _kind_label(params["kind_b"], language)
    lift = float(params.get("lift", 0.0))
    good = float(params.get("fit", 0.0)) >= _GOOD_FIT
    if language == "en":
        subject = f"organisations of the kind {a}" if a == b else f"{a} and {b}"
        if lift >= _OFTEN_LIFT:
            times = _number(lift, language)
            return f"{subject} work together {times} times as often as average in the network"
        return f"{subject} " + ("are a good fit" if good else "can work together")
    subject = f"Einrichtungen der Art {a}" if a == b else f"{a} und {b}"
    if lift >= _OFTEN_LIFT:
        times = _number(lift, language)
        return f"{subject} arbeiten im Netzwerk {times}-mal so oft zusammen wie im Durchschnitt"
    return f"{subject} " + ("passen fachlich gut zusammen" if good else "können zusammenarbeiten")


#: Wording of kind reasons: from this observed lift on, the reason quotes it ("2,3-mal so
#: oft"); else from this table compatibility on it says "good fit", below "can work together".
_OFTEN_LIFT = 1.5
_GOOD_FIT = 0.7


def _render_feedback(params: Mapping[str, Any], language: str) -> str:
    if float(params["value"]) > 0:
        return "marked as interesting" if language == "en" else "als interessant markiert"
    return "marked as not relevant" if language == "en" else "als nicht relevant markiert"


def _render_need(params: Mapping[str, Any], language: str) -> str:
    tag = label(TAGS, params["tag"], language)
    if language == "en":
        return f"{params['needer']} needs {tag}, {params['provider']} offers it"
    return f"{params['needer']} braucht {tag}, {params['provider']} bietet es an"


def _render_gap(params: Mapping[str, Any], language: str) -> str:
    tag = label(TAGS, params["tag"], language)
    if language == "en":
        return f"{params['needer']} trains nurses and lacks {tag}, {params['provider']} offers it"
    return (
        f"{params['needer']} bildet in der Pflege aus und braucht {tag}, "
        f"{params['provider']} bietet es an"
    )


def _render_cross(params: Mapping[str, Any], language: str) -> str:
    word = "connects" if language == "en" else "verbindet"
    conjunction = "and" if language == "en" else "und"
    return f"{word} {params['from']} {conjunction} {params['to']}"


def _render_alliance(params: Mapping[str, Any], language: str) -> str:
    if language == "en":
        return f"{params['school']} and {params['trainer']} can form a nursing training alliance"
    return (
        f"{params['school']} und {params['trainer']} können einen Ausbildungsverbund Pflege bilden"
    )


_RENDER = {
    "need_met": _render_need,
    "placement_gap": _render_gap,
    "common_partners": _render_common,
    "distance": _render_distance,
    "cross_municipal": _render_cross,
    "kind_fit": _render_kind,
    "training_alliance": _render_alliance,
    "feedback": _render_feedback,
}


def reason_text(code: str, params: Mapping[str, Any], language: str = "de") -> str:
    """Render a stored reason in German (default) or English (``language="en"``).

    Parameters
    ----------
    code : str
        One of :data:`REASON_CODES`.
    params : mapping
        The reason's parameters as stored (names, tag and kind codes, numbers).
    language : {"de", "en"}, optional (default="de")

    Returns
    -------
    str

    Raises
    ------
    UnknownReasonError
        If ``code`` is unknown or ``params`` lack what it needs.

    Examples
    --------
    >>> params = {"needer": "A", "provider": "B", "tag": "placement:paediatric"}
    >>> reason_text("need_met", params)
    'A braucht Praxiseinsatz Pädiatrie, B bietet es an'
    >>> reason_text("need_met", params, "en")
    'A needs Placement: paediatrics, B offers it'
    >>> reason_text("distance", {"km": 14.2}), reason_text("distance", {"km": 3.46}, "en")
    ('14 km entfernt', '3.5 km apart')
    >>> reason_text("common_partners", {"partners": ["C"], "count": 1})
    'beide arbeiten mit C zusammen'
    >>> reason_text("cross_municipal", {"from": "Rheine", "to": "Emsdetten"})
    'verbindet Rheine und Emsdetten'
    """
    render = _RENDER.get(code)
    if render is None:
        raise UnknownReasonError(f"unknown reason code {code!r}", reason=code)
    try:
        return render(params, language)
    except (KeyError, TypeError, ValueError) as err:
        raise UnknownReasonError(
            f"reason {code!r} lacks parameters: {params!r}", reason=code
        ) from err


@dataclass(frozen=True, slots=True)
class Reason:
    """One structured reason: a stable ``code`` and its ``params`` (JSON-serialisable).

    Examples
    --------
    >>> Reason("distance", {"km": 2.0}).text(), Reason("distance", {"km": 2.0}).text("en")
    ('2,0 km entfernt', '2.0 km apart')
    >>> Reason("kind_fit", {"kind_a": "hospital", "kind_b": "care_home"}).signal
    'kind'
    """

    code: str
    params: dict[str, Any] = field(hash=False)

    def text(self, language: str = "de") -> str:
        """The reason in German (default) or English (``language="en"``)."""
        return reason_text(self.code, self.params, language)

    @property
    def signal(self) -> str:
        """The component of the score (key of ``Suggestion.signals``) this reason explains."""
        return REASON_CODES[self.code]


@dataclass(frozen=True)
class Suggestion:
    """A suggested partner ``target`` for ``source``, best-first in :func:`suggest`'s lists.

    ``signals`` holds the weighted components whose sum is ``score`` (one key per component,
    zero if it did not contribute); ``reasons`` explain exactly the nonzero components, the
    largest first. ``distance_km`` is the great-circle distance, ``cross_municipal`` whether
    the two lie in different municipalities.

    The suggestions :func:`suggest` returns compute ``reasons`` and ``signals`` on first access
    (a refresh of 100,000 organisations would otherwise spend most of its time building a
    million reason tuples nobody reads); they are ordinary fields otherwise: equality, ``repr``,
    ``dataclasses.asdict`` and pickling see them.

    Examples
    --------
    >>> s = Suggestion("a", "b", 0.5, (Reason("distance", {"km": 3.0}),), {"geography": 0.5},
    ...                3.0, False)
    >>> s.texts("en")
    ['3.0 km apart']
    """

    source: Hashable
    target: Hashable
    score: float
    reasons: tuple[Reason, ...] = field(hash=False)
    signals: dict[str, float] = field(hash=False)
    distance_km: float = field()
    cross_municipal: bool = field()

    def texts(self, language: str = "de") -> list[str]:
        """All reasons rendered in ``language``."""
        return [r.text(language) for r in self.reasons]

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return (
            type(self),
            (
                self.source,
                self.target,
                self.score,
                self.reasons,
                self.signals,
                self.distance_km,
                self.cross_municipal,
            ),
        )


class _Explained:
    """Class attribute standing in for ``reasons``/``signals`` until a suggestion is explained.

    A non-data descriptor: an instance that stores the field (every directly built
    :class:`Suggestion`) shadows it; one built by :func:`suggest` without them carries its
    ``_explainer`` and ``_row`` and gets both fields computed and stored on first access.
    """

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, instance: Any, owner: Any = None) -> Any:
        if instance is None:
            return self
        state = instance.__dict__
        explainer = state.get("_explainer")
        if explainer is not None:  # else another thread explained it meanwhile
            state["reasons"], state["signals"] = explainer.explain(state["_row"])
            state.pop("_explainer", None)
            state.pop("_row", None)
        return state[self.name]


Suggestion.reasons = _Explained("reasons")  # type: ignore[assignment]
Suggestion.signals = _Explained("signals")  # type: ignore[assignment]
_new_suggestion = object.__new__
_set_state = object.__setattr__


# --------------------------------------------------------------------------------------------
# Public functions


def suggest(
    organisations: Iterable[Any],
    collaborations: Iterable[Any],
    k: int = 10,
    *,
    rejected: Iterable[tuple[Hashable, Hashable]] = (),
    feedback: Mapping[tuple[Hashable, Hashable], float] | None = None,
    only: Iterable[Hashable] | None = None,
    config: SuggestionConfig = DEFAULT_CONFIG,
) -> dict[Hashable, list[Suggestion]]:
    """Top-``k`` collaboration partners for every organisation, with scores and reasons.

    Each candidate pair is scored by complementarity of offers and needs (including the
    mandatory nursing placements a training provider lacks), link prediction on the
    collaboration graph (resource allocation over common partners), distance decay within the
    pair's reach, a small bonus for connecting two municipalities, kind compatibility (a
    table, refined by how often the kinds work together in this network) and the providers'
    feedback; see :class:`SuggestionConfig` for the formula, every weight and the
    calibration of the weights on the network itself.

    Parameters
    ----------
    organisations : iterable of mappings or objects
        Each with ``id`` (any hashable), ``kind``, ``ags`` (municipality key), ``lat``,
        ``lon`` (degrees), ``offers`` and ``needs`` (collections of tags, see
        ``network.vocabulary.TAGS``) and optionally ``name`` (used in reasons; else the id).
        Unknown kinds and tags are allowed.
    collaborations : iterable of pairs
        Existing collaborations, ``(id, id)`` tuples or objects with ``source``/``target``;
        undirected, duplicates and self-pairs are ignored.
    k : int, optional (default=10)
        Length of each list.
    rejected : iterable of pairs, optional
        Pairs never to suggest, in either direction.
    feedback : mapping of pair to float, optional
        Providers' feedback in [-1, 1] ("interested" > 0, "not relevant" < 0). It concerns
        the pair: if both directions are given their mean is used. Keys with unknown ids are
        ignored (stale feedback).
    only : iterable of ids, optional
        Compute the lists of just these organisations (incremental refresh); each list is the
        same as in a full run.
    config : SuggestionConfig, optional (default=DEFAULT_CONFIG)

    Returns
    -------
    dict
        Maps every organisation id (or every id of ``only``), in input order, to its
        suggestions, best first; ties broken by target id. Never a self-pair, an existing
        collaboration, a rejected pair, or a pair beyond reach.

    Raises
    ------
    InvalidOrganisationError
        An organisation has no id, a duplicate id, no usable coordinates or non-collection tags.
    UnknownOrganisationError
        A collaboration or ``only`` names an unknown id.
    InvalidFeedbackError
        A feedback value is not a number in [-1, 1].
    SuggestionError
        ``k`` is not a non-negative integer.

    See Also
    --------
    calibrate : The weights a call learns, for reuse in incremental refreshes.
    pair_fingerprint : Detect whether a rejected pair's offers or needs changed since.
    reason_text : Render a stored reason.

    Notes
    -----
    Steps, vectorised with numpy/scipy on integer indices:

    1. Encode the organisations (tags as bit sets, kinds, points on the sphere) and the
       symmetric adjacency ``A`` as a scipy CSR matrix.
    2. Build per-type lookup tables (reach, kind table, observed kind lift), the kd-tree
       candidates of every source (``cKDTree`` per tag and side, per rare kind, one over all)
       and, if ``config.calibrate``, learn the weights (:func:`calibrate`).
    3. Per chunk of sources: the 2-hop candidates are the nonzeros of
       ``A[chunk] · diag(1/deg) · A`` (their values the resource-allocation index), joined
       with the kd-tree and feedback pairs; self, existing, rejected and out-of-reach pairs
       are masked; the six components are computed for all pairs at once.
    4. Pairs below their source's best minus ``relative_cutoff`` are dropped; each source's
       ``k`` best are ordered exactly (score descending, then target id).
    5. Only the kept pairs become :class:`Suggestion` objects; their reasons are built on
       first access.

    A pair's score depends on the pair and the whole network (the calibration sample is
    drawn in id order), never on the chunk or on ``only``, so ``only`` and a full run agree.
    Cost: ``O(sum_z deg(z)^2)`` for the 2-hop products plus ``O(c log c)`` for the ``c``
    candidate pairs; the cyclic garbage collector is paused during the call.

    Examples
    --------
    >>> orgs = [
    ...     {"id": "school", "kind": "school", "ags": "05566076", "lat": 52.28, "lon": 7.44,
    ...      "offers": {"training:nursing"}, "needs": set(), "name": "Pflegeschule Rheine"},
    ...     {"id": "kids", "kind": "specialist_practice", "ags": "05566008", "lat": 52.17,
    ...      "lon": 7.53, "offers": {"placement:paediatric"}, "needs": set(),
    ...      "name": "Kinderarztpraxis Emsdetten"},
    ...     {"id": "home", "kind": "care_home", "ags": "05566076", "lat": 52.29, "lon": 7.43,
    ...      "offers": set(), "needs": set()},
    ... ]
    >>> result = suggest(orgs, [("school", "home")])
    >>> best = result["school"][0]
    >>> best.target, best.cross_municipal
    ('kids', True)
    >>> for text in best.texts():
    ...     print(text)
    14 km entfernt
    Pflegeschule Rheine bildet in der Pflege aus und braucht Praxiseinsatz Pädiatrie, Kinderarztpraxis Emsdetten bietet es an
    Pflegeschule/Bildungsträger und Facharztpraxis können zusammenarbeiten
    verbindet Rheine und Emsdetten
    >>> {name for name, part in best.signals.items() if part} == {r.signal for r in best.reasons}
    True
    >>> round(sum(best.signals.values()), 9) == round(best.score, 9)
    True
    >>> [s.target for s in result["home"]]
    ['kids']
    >>> suggest(orgs, [], k=1, rejected=[("kids", "school")])["school"][0].target
    'home'
    """
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 0:
        raise SuggestionError(f"k must be a non-negative integer, not {k!r}", k=k)
    _check_config(config)
    with gc_paused():
        return _suggest(organisations, collaborations, k, rejected, feedback, only, config)


def _check_config(config: Any) -> None:
    if not isinstance(config, SuggestionConfig):
        raise InvalidSuggestionConfigError(
            f"config must be a SuggestionConfig, not {type(config).__name__}", field="config"
        )


def _encode(
    organisations: Iterable[Any], collaborations: Iterable[Any], config: SuggestionConfig
) -> _sig.Encoded:
    try:
        return _sig.encode(organisations, collaborations, config)
    except _sig.EncodingError as err:
        if err.kind == "unknown":
            raise UnknownOrganisationError(err.message, **err.params) from err
        raise InvalidOrganisationError(err.message, **err.params) from err


def _suggest(
    organisations: Iterable[Any],
    collaborations: Iterable[Any],
    k: int,
    rejected: Iterable[tuple[Hashable, Hashable]],
    feedback: Mapping[tuple[Hashable, Hashable], float] | None,
    only: Iterable[Hashable] | None,
    config: SuggestionConfig,
) -> dict[Hashable, list[Suggestion]]:
    encoded = _encode(organisations, collaborations, config)
    n = encoded.n
    if only is None:
        sources = np.arange(n, dtype=np.int64)
    else:
        sources = _only_indices(encoded, only)
    result: dict[Hashable, list[Suggestion]] = {encoded.ids[i]: [] for i in sources.tolist()}
    if n < 2 or k == 0 or len(sources) == 0:
        return result
    rejected_keys = _pair_keys(encoded, rejected)
    feedback_keys, feedback_values = _feedback(encoded, feedback)
    ordered = np.sort(sources)
    context = _sig.build_context(
        encoded, config, ordered, rejected_keys, feedback_keys, feedback_values
    )
    builder = _Builder(encoded, config)
    for start in range(0, len(ordered), config.chunk_size):
        rows = _sig.score_chunk(context, ordered[start : start + config.chunk_size], k)
        builder.build_all(rows, result)
    return result


def calibrate(
    organisations: Iterable[Any],
    collaborations: Iterable[Any],
    config: SuggestionConfig = DEFAULT_CONFIG,
) -> SuggestionConfig:
    """The weights :func:`suggest` would learn from this network, as a config.

    A seeded sample of ``config.calibration_sources`` organisations gives positives (their
    partners) and negatives (``calibration_negatives`` random organisations each), both
    within reach; a logistic regression of link against the four unweighted signals
    (complementarity, structure, geography, kind), penalised towards the configured weights
    and bounded to ``[0, calibration_max_weight]``, gives the weights. Pass the result to
    :func:`suggest` to skip the estimation (it has ``calibrate=False``), e.g. for
    incremental refreshes between nightly full runs.

    Parameters
    ----------
    organisations, collaborations
        As for :func:`suggest`.
    config : SuggestionConfig, optional (default=DEFAULT_CONFIG)
        The prior weights and calibration settings.

    Returns
    -------
    SuggestionConfig
        ``config`` with the learned weights and ``calibrate=False``; with the configured
        weights if the network has fewer than ``calibration_min_links`` links.

    Examples
    --------
    >>> from network.synthetic import generate_network
    >>> orgs, links = generate_network(600, seed=3)
    >>> learned = calibrate(orgs, links)
    >>> learned.calibrate, learned.structure_weight > 0
    (False, True)
    >>> calibrate(orgs[:3], []) == dataclasses.replace(DEFAULT_CONFIG, calibrate=False)
    True
    """
    _check_config(config)
    with gc_paused():
        encoded = _encode(organisations, collaborations, config)
        empty = np.zeros(0, dtype=np.int64)
        context = _sig.build_context(
            encoded, dataclasses.replace(config, calibrate=False), empty, empty, empty, np.zeros(0)
        )
        weights = _sig.calibrated_weights(context)
    return dataclasses.replace(config, calibrate=False, **(weights or {}))


def pair_fingerprint(org_a: Any, org_b: Any) -> str:
    """A stable hash of both sides' offers and needs, independent of the order of the pair.

    Store it with a rejected suggestion: re-suggest the pair only once the fingerprint of the
    current data differs, i.e. one side's offers or needs changed.

    Parameters
    ----------
    org_a, org_b : mapping or object
        With ``offers`` and ``needs`` (missing means empty).

    Returns
    -------
    str
        32 hexadecimal digits (BLAKE2b, 128 bits).

    Examples
    --------
    >>> a = {"id": 1, "offers": {"childcare"}, "needs": {"shuttle"}}
    >>> b = {"id": 2, "offers": {"shuttle"}, "needs": set()}
    >>> pair_fingerprint(a, b) == pair_fingerprint(b, a)
    True
    >>> pair_fingerprint(a, b) == pair_fingerprint(a, {**b, "needs": {"childcare"}})
    False
    >>> len(pair_fingerprint(a, b))
    32
    """
    sides = sorted(_side_signature(org) for org in (org_a, org_b))
    return hashlib.blake2b(json.dumps(sides).encode("utf-8"), digest_size=16).hexdigest()


# --------------------------------------------------------------------------------------------
# Helpers


def _side_signature(org: Any) -> str:
    try:
        offers = _sig.tag_set(_sig.field_of(org, "offers", None))
        needs = _sig.tag_set(_sig.field_of(org, "needs", None))
    except TypeError as err:
        raise InvalidOrganisationError(
            "offers/needs must be collections of tags", id=repr(org)[:40], field="offers"
        ) from err
    return json.dumps([sorted(map(str, offers)), sorted(map(str, needs))])


def _only_indices(encoded: _sig.Encoded, only: Iterable[Hashable]) -> np.ndarray:
    indices: list[int] = []
    seen: set[int] = set()
    for org_id in only:
        try:
            i = encoded.index[org_id]
        except (KeyError, TypeError) as err:
            raise UnknownOrganisationError(
                f"only names unknown organisation {org_id!r}", id=org_id
            ) from err
        if i not in seen:
            seen.add(i)
            indices.append(i)
    return np.asarray(indices, dtype=np.int64)


def _lookup(encoded: _sig.Encoded, pair: Any) -> tuple[int, int] | None:
    try:
        a, b = pair
        return encoded.index[a], encoded.index[b]
    except (KeyError, TypeError, ValueError):
        return None


def _pair_keys(encoded: _sig.Encoded, pairs: Iterable[Any]) -> np.ndarray:
    n = encoded.n
    keys: list[int] = []
    for pair in pairs or ():
        found = _lookup(encoded, pair)
        if found is not None:
            i, j = found
            keys.extend((i * n + j, j * n + i))
    return np.unique(np.asarray(keys, dtype=np.int64))


def _feedback(
    encoded: _sig.Encoded, feedback: Mapping[Any, float] | None
) -> tuple[np.ndarray, np.ndarray]:
    if not feedback:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    n = encoded.n
    sums: dict[tuple[int, int], list[float]] = {}
    for pair, value in feedback.items():
        try:
            number = float(value)
        except (TypeError, ValueError) as err:
            raise InvalidFeedbackError(
                f"feedback must be a number in [-1, 1], not {value!r}", pair=repr(pair)
            ) from err
        if not (-1.0 <= number <= 1.0):
            raise InvalidFeedbackError(
                f"feedback must be in [-1, 1], not {value!r}", pair=repr(pair)
            )
        found = _lookup(encoded, pair)
        if found is None or found[0] == found[1]:
            continue
        i, j = found
        key = (i, j) if i < j else (j, i)
        sums.setdefault(key, []).append(number)
    keys: list[int] = []
    values: list[float] = []
    for (i, j), numbers in sums.items():
        mean = sum(numbers) / len(numbers)
        keys.extend((i * n + j, j * n + i))
        values.extend((mean, mean))
    key_array = np.asarray(keys, dtype=np.int64)
    order = np.argsort(key_array)
    return key_array[order], np.asarray(values)[order]


@cache
def _municipality_names() -> dict[str, str]:
    try:
        from network.reference import load_municipalities
    except ImportError:  # pragma: no cover - reference data is part of the package
        return {}
    return {m.ags: m.name for m in load_municipalities()}


class _Builder:
    """Turns kept pairs into :class:`Suggestion` objects; their reasons wait for first access."""

    def __init__(self, encoded: _sig.Encoded, config: SuggestionConfig) -> None:
        self.e = encoded
        self.config = config
        self.municipalities = _municipality_names()
        self.neighbours: dict[int, set[int]] = {}
        weights = _sig.structure_weights(encoded, config)
        # Common partners are named most telling first: the fewer partners z has, the more
        # its shared partnership says (its weight), then by id.
        self.partner_rank = np.lexsort((encoded.tie, -weights)).argsort().tolist()
        self.school = encoded.school.tolist()
        self.tag_cache: dict[int, list[str]] = {}

    def build_all(
        self, rows: dict[str, np.ndarray], result: dict[Hashable, list[Suggestion]]
    ) -> None:
        """Put the suggestions of a chunk's kept pairs ``rows`` into ``result``, in order."""
        explainer = _Explainer(self, rows)
        ids = self.e.ids
        new, set_state, cls = _new_suggestion, _set_state, Suggestion
        built = []
        append = built.append
        for row, (i, j, score, distance, cross) in enumerate(
            zip(
                rows["src"].tolist(),
                rows["tgt"].tolist(),
                rows["score"].tolist(),
                np.round(rows["distance"], 3).tolist(),
                rows["cross"].tolist(),
                strict=True,
            )
        ):
            suggestion = new(cls)
            set_state(
                suggestion,
                "__dict__",
                {
                    "source": ids[i],
                    "target": ids[j],
                    "score": score,
                    "distance_km": distance,
                    "cross_municipal": cross,
                    "_explainer": explainer,
                    "_row": row,
                },
            )
            append(suggestion)
        src = rows["src"]
        starts = np.flatnonzero(np.r_[True, src[1:] != src[:-1]]) if len(src) else src
        bounds = np.r_[starts, len(src)].tolist()
        for position, source in enumerate(src[starts].tolist()):
            result[ids[source]] = built[bounds[position] : bounds[position + 1]]

    def neighbours_of(self, i: int) -> set[int]:
        found = self.neighbours.get(i)
        if found is None:
            a = self.e.adjacency
            found = set(a.indices[a.indptr[i] : a.indptr[i + 1]].tolist())
            self.neighbours[i] = found
        return found

    def municipality(self, ags: Any) -> str:
        return self.municipalities.get(ags, str(ags)) if isinstance(ags, str) else str(ags)

    def tags(self, bits: int) -> list[str]:
        found = self.tag_cache.get(bits)
        if found is None:
            tags = self.e.tags
            found = []
            rest = bits
            while rest:
                low = rest & -rest
                found.append(tags[low.bit_length() - 1])
                rest ^= low
            self.tag_cache[bits] = found
        return found


class _Explainer:
    """The kept pairs of one chunk; builds a pair's reasons and signals when first asked."""

    def __init__(self, builder: _Builder, rows: dict[str, np.ndarray]) -> None:
        self.builder = builder
        self.rows = rows
        self.lists: dict[str, list[Any]] | None = None

    def explain(self, row: int) -> tuple[tuple[Reason, ...], dict[str, float]]:
        """Reasons (largest part first) and signals of the pair in ``row``."""
        b = self.builder
        e = b.e
        if self.lists is None:  # Python values of the whole chunk, once
            rows = self.rows
            self.lists = {key: value.tolist() for key, value in rows.items()}
            self.lists["km"] = np.round(rows["distance"], 1).tolist()
            self.lists["fit"] = np.round(rows["prior"], 3).tolist()
            self.lists["lift"] = np.round(rows["lift"], 2).tolist()
        values = self.lists
        i = values["src"][row]
        j = values["tgt"][row]
        parts = values["parts"][row]
        names = e.names
        # Signals with a nonzero part, largest first (ties in the order of SIGNALS).
        ranked = sorted([(-abs(part), k) for k, part in enumerate(parts) if part])
        reasons: list[Reason] = []
        for _, k in ranked:
            if k == 0:  # complementarity: every need met, then every implied need met
                for a, z in ((i, j), (j, i)):
                    for tag in b.tags(e.needs_int[a] & e.offers_int[z]):
                        params = {"needer": names[a], "provider": names[z], "tag": tag}
                        reasons.append(Reason("need_met", params))
                for a, z in ((i, j), (j, i)):
                    for tag in b.tags(e.gaps_int[a] & e.offers_int[z]):
                        params = {"needer": names[a], "provider": names[z], "tag": tag}
                        reasons.append(Reason("placement_gap", params))
            elif k == 1:
                common = b.neighbours_of(i) & b.neighbours_of(j)
                ranked_partners = sorted(common, key=b.partner_rank.__getitem__)
                shown = [names[z] for z in ranked_partners[: b.config.common_partners_named]]
                params = {"partners": shown, "count": len(common)}
                reasons.append(Reason("common_partners", params))
            elif k == 2:
                reasons.append(Reason("distance", {"km": values["km"][row]}))
            elif k == 3:
                params = {
                    "from": b.municipality(e.ags[i]),
                    "to": b.municipality(e.ags[j]),
                    "from_ags": e.ags[i],
                    "to_ags": e.ags[j],
                }
                reasons.append(Reason("cross_municipal", params))
            elif k == 4:
                if values["alliance"][row]:
                    school, trainer = (i, j) if b.school[i] else (j, i)
                    params = {"school": names[school], "trainer": names[trainer]}
                    reasons.append(Reason("training_alliance", params))
                else:
                    params = {
                        "kind_a": e.kinds[i],
                        "kind_b": e.kinds[j],
                        "fit": values["fit"][row],
                        "lift": values["lift"][row],
                    }
                    reasons.append(Reason("kind_fit", params))
            else:
                reasons.append(Reason("feedback", {"value": values["feedback"][row]}))
        return tuple(reasons), dict(zip(_sig.SIGNALS, parts, strict=True))
