"""Which mandatory nursing placements each training provider covers, itself or via partners.

The generalist nursing training (PflBG, PflAPrV Anlage 7) requires placements in five areas:
inpatient acute care, inpatient long-term care, home care (the three general areas, II.1-II.3),
paediatrics (III) and psychiatry (IV); see ``network.reference.load_nursing_placements()``. A
training provider rarely offers all five; the rest must come from partners close enough for the
trainees to get there. This module checks that against the collaboration graph.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from network.graph.build import _analysis_graph, _tags
from network.graph.decorators import not_implemented_for
from network.graph.exceptions import InvalidInputError
from network.vocabulary import PLACEMENT_TAGS, TAGS, label

__all__ = [
    "TRAINING_PROVIDER_KINDS",
    "TRAINING_TAG",
    "DEFAULT_REACH_KM",
    "Coverage",
    "CoverageReason",
    "is_training_provider",
    "placement_coverage",
    "coverage_summary",
]

#: Kinds that can carry the practical nursing training (or teach it, for schools).
TRAINING_PROVIDER_KINDS = frozenset({"hospital", "care_home", "ambulatory_care", "school"})
#: Any organisation offering this tag counts as a training provider too.
TRAINING_TAG = "training:nursing"
#: How far a partner may be for its placement to count (trainees commute there).
DEFAULT_REACH_KM = 30.0

_EARTH_RADIUS_KM = 6371.0088

_TEXTS = {
    "own": (
        "{placement}: bietet die Einrichtung selbst an.",
        "{placement}: offered by the provider itself.",
    ),
    "via_partner": (
        "{placement}: über {count} Partner im Umkreis von {reach_km:g} km ({partners}).",
        "{placement}: via {count} partner(s) within {reach_km:g} km ({partners}).",
    ),
    "missing": (
        "{placement}: fehlt – kein aktiver Partner im Umkreis von {reach_km:g} km bietet ihn an.",
        "{placement}: missing – no active partner within {reach_km:g} km offers it.",
    ),
}


@dataclass(frozen=True, slots=True)
class CoverageReason:
    """Why a placement area counts as covered or missing, renderable in German or English.

    ``code`` is ``"own"``, ``"via_partner"`` or ``"missing"``; ``params`` holds ``tag``,
    ``reach_km`` and, for partners, ``partners`` (ids, nearest first).

    Examples
    --------
    >>> reason = CoverageReason("missing", {"tag": "placement:paediatric", "reach_km": 30.0})
    >>> reason.text()
    'Praxiseinsatz Pädiatrie: fehlt – kein aktiver Partner im Umkreis von 30 km bietet ihn an.'
    >>> reason.text("en")
    'Placement: paediatrics: missing – no active partner within 30 km offers it.'
    """

    code: str
    params: Mapping[str, Any]

    def text(self, language: str = "de") -> str:
        """The reason in ``language`` (``"de"``, default, or ``"en"``)."""
        german, english = _TEXTS[self.code]
        partners = self.params.get("partners", ())
        return (english if language == "en" else german).format(
            placement=label(TAGS, self.params["tag"], "en" if language == "en" else "de"),
            count=len(partners),
            partners=", ".join(str(p) for p in partners),
            reach_km=self.params.get("reach_km", DEFAULT_REACH_KM),
        )


@dataclass(slots=True)
class Coverage:
    """Placement coverage of one training provider.

    Attributes
    ----------
    own : set of str
        Placement tags the provider offers itself.
    via_partners : dict
        Tag -> partner ids (nearest first) that offer it within reach, for each tag the provider
        does not offer itself.
    missing : set of str
        Tags neither the provider nor a partner within reach offers.
    reach_km : float
        The reach used.
    distances_km : dict
        Partner id -> distance in km, for the partners in ``via_partners``.
    """

    own: set[str]
    via_partners: dict[str, list[Hashable]]
    missing: set[str]
    reach_km: float = DEFAULT_REACH_KM
    distances_km: dict[Hashable, float] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        """True if nothing is missing."""
        return not self.missing

    def reasons(self, tags: Collection[str] = PLACEMENT_TAGS) -> list[CoverageReason]:
        """One :class:`CoverageReason` per placement tag, in the order of ``tags``."""
        result = []
        for tag in tags:
            if tag in self.own:
                result.append(CoverageReason("own", {"tag": tag, "reach_km": self.reach_km}))
            elif tag in self.via_partners:
                partners = tuple(self.via_partners[tag])
                result.append(
                    CoverageReason(
                        "via_partner", {"tag": tag, "reach_km": self.reach_km, "partners": partners}
                    )
                )
            elif tag in self.missing:
                result.append(CoverageReason("missing", {"tag": tag, "reach_km": self.reach_km}))
        return result

    def as_dict(self) -> dict[str, Any]:
        """Plain data (lists instead of sets, tags in the order of ``PLACEMENT_TAGS``)."""
        return {
            "own": _ordered(self.own),
            "via_partners": {tag: list(ids) for tag, ids in self.via_partners.items()},
            "missing": _ordered(self.missing),
            "reach_km": self.reach_km,
            "distances_km": dict(self.distances_km),
        }


def _ordered(tags: Collection[str]) -> list[str]:
    rank = {tag: i for i, tag in enumerate(PLACEMENT_TAGS)}
    return sorted(tags, key=lambda tag: (rank.get(tag, len(rank)), tag))


def _distance_km(lat1: Any, lon1: Any, lat2: Any, lon2: Any) -> float | None:
    if lat1 is None or lon1 is None or lat2 is None or lon2 is None:
        return None
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * _EARTH_RADIUS_KM * math.asin(math.sqrt(min(1.0, a)))


def is_training_provider(data: Mapping[str, Any]) -> bool:
    """Whether a node (its attribute dict) is a nursing training provider.

    Examples
    --------
    >>> is_training_provider({"kind": "care_home"}), is_training_provider({"kind": "pharmacy"})
    (True, False)
    >>> is_training_provider({"kind": "rehab_clinic", "offers": {"training:nursing"}})
    True
    """
    return data.get("kind") in TRAINING_PROVIDER_KINDS or TRAINING_TAG in _tags(
        data.get("offers"), "offers"
    )


@not_implemented_for("directed")
def placement_coverage(
    G: nx.Graph, reach_km: float = DEFAULT_REACH_KM, *, tags: Collection[str] = PLACEMENT_TAGS
) -> dict[Hashable, Coverage]:
    """For each nursing training provider: which mandatory placements it covers, and how.

    A placement area (tag) is covered by the provider itself if it offers the tag, else via
    partners: organisations it has an *active* collaboration with (of any kind) that offer the
    tag and whose coordinates lie at most ``reach_km`` from the provider's (great-circle
    distance). Otherwise it is missing. A partner without coordinates is never within reach.

    Parameters
    ----------
    G : networkx.Graph
        Collaboration graph (a stakeholder graph is reduced to it); nodes carry ``kind``,
        ``offers``, ``lat`` and ``lon``.
    reach_km : float, optional (default=30.0)
        Farthest distance of a partner.
    tags : collection of str, optional (default=PLACEMENT_TAGS)
        The placement tags to check: the five mandatory areas of PflAPrV Anlage 7.

    Returns
    -------
    dict
        Provider id -> :class:`Coverage`, in the order of ``G``. Providers are organisations of
        a kind in ``TRAINING_PROVIDER_KINDS`` or offering ``training:nursing``.

    Raises
    ------
    InvalidInputError
        If ``reach_km`` is negative or not a number.

    Examples
    --------
    A care home covers long-term care itself, acute care via a hospital 10 km away; the
    paediatric partner is 50 km away, too far:

    >>> G = nx.Graph([("care", "hospital"), ("care", "paediatrics")])
    >>> nx.set_node_attributes(G, {
    ...     "care": {"kind": "care_home", "offers": {"placement:longterm_inpatient"},
    ...              "lat": 52.0, "lon": 7.0},
    ...     "hospital": {"kind": "hospital", "offers": {"placement:acute_inpatient"},
    ...                  "lat": 52.0 + 10 / 111.2, "lon": 7.0},
    ...     "paediatrics": {"kind": "specialist_practice", "offers": {"placement:paediatric"},
    ...                     "lat": 52.0 + 50 / 111.2, "lon": 7.0},
    ... })
    >>> coverage = placement_coverage(G)["care"]
    >>> coverage.own, coverage.via_partners
    ({'placement:longterm_inpatient'}, {'placement:acute_inpatient': ['hospital']})
    >>> sorted(coverage.missing)
    ['placement:ambulatory', 'placement:paediatric', 'placement:psychiatric']
    >>> print(coverage.reasons()[0].text("en"))
    Placement: inpatient acute care: via 1 partner(s) within 30 km (hospital).
    """
    try:
        reach = float(reach_km)
    except (TypeError, ValueError) as err:
        raise InvalidInputError(
            f"reach_km is not a number: {reach_km!r}", field="reach_km", value=reach_km
        ) from err
    if not reach >= 0:
        raise InvalidInputError(
            f"reach_km must be >= 0, got {reach_km!r}", field="reach_km", value=reach_km
        )
    wanted_tags = tuple(tags)
    H = _analysis_graph(G)
    nodes = H.nodes
    offers_of: dict[Hashable, frozenset[str]] = {}

    def offers(node: Hashable) -> frozenset[str]:
        found = offers_of.get(node)
        if found is None:
            found = offers_of[node] = _tags(nodes[node].get("offers"), "offers")
        return found

    result: dict[Hashable, Coverage] = {}
    for u, data in nodes(data=True):
        if not is_training_provider(data):
            continue
        own_offers = offers(u)
        own = {tag for tag in wanted_tags if tag in own_offers}
        open_tags = [tag for tag in wanted_tags if tag not in own]
        via: dict[str, list[Hashable]] = {}
        distances: dict[Hashable, float] = {}
        if open_tags:
            lat, lon = data.get("lat"), data.get("lon")
            candidates = []
            for v in H[u]:
                if v == u:
                    continue
                hits = [tag for tag in open_tags if tag in offers(v)]
                if not hits:
                    continue
                other = nodes[v]
                distance = _distance_km(lat, lon, other.get("lat"), other.get("lon"))
                if distance is not None and distance <= reach:
                    candidates.append((distance, v, hits))
            candidates.sort(key=lambda candidate: candidate[0])
            for distance, v, hits in candidates:
                distances[v] = round(distance, 3)
                for tag in hits:
                    via.setdefault(tag, []).append(v)
            via = {tag: via[tag] for tag in open_tags if tag in via}
        missing = {tag for tag in open_tags if tag not in via}
        result[u] = Coverage(own, via, missing, reach, distances)
    return result


def coverage_summary(
    coverage: Mapping[Hashable, Coverage], tags: Collection[str] = PLACEMENT_TAGS
) -> dict[str, Any]:
    """Counts over the providers of :func:`placement_coverage` for the dashboard.

    Returns
    -------
    dict
        ``providers``, ``complete`` (nothing missing), ``incomplete``, and per tag (in the order
        of ``tags``) ``own_by_tag``, ``via_partners_by_tag`` and ``missing_by_tag``.

    Examples
    --------
    >>> summary = coverage_summary({1: Coverage({"placement:ambulatory"}, {}, {"placement:paediatric"})})
    >>> summary["providers"], summary["complete"], summary["missing_by_tag"]["placement:paediatric"]
    (1, 0, 1)
    """
    tags = tuple(tags)
    complete = sum(1 for c in coverage.values() if c.complete)
    return {
        "providers": len(coverage),
        "complete": complete,
        "incomplete": len(coverage) - complete,
        "own_by_tag": {tag: sum(tag in c.own for c in coverage.values()) for tag in tags},
        "via_partners_by_tag": {
            tag: sum(tag in c.via_partners for c in coverage.values()) for tag in tags
        },
        "missing_by_tag": {tag: sum(tag in c.missing for c in coverage.values()) for tag in tags},
    }
