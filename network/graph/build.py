"""Build the stakeholder graph of the health region from plain organisations and collaborations.

The **stakeholder graph** (:func:`build_graph`) is a :class:`networkx.MultiGraph` with two node
layers and three edge layers, told apart by the ``layer`` attribute:

=================  ==================  ============================================================
layer              key                 attributes
=================  ==================  ============================================================
``organisation``   the id as given     kind, name, ags, kreis, model_region, lat, lon, offers,
                                       needs, synthetic, approximate_location
``municipality``   ``"ags:<AGS>"``     kind (always ``"place"``), name, ags, kreis, model_region,
                                       lat, lon, population
``collaboration``  org -- org          kind (``COLLABORATION_KINDS`` code), status, since
``located_in``     org -- municipality kind (``"located_in"``)
``neighbour``      municipality pair   kind (``"neighbour"``), distance_km
=================  ==================  ============================================================

A multigraph, because two organisations may work together in several ways at once (a training
alliance *and* a telemedicine link), each with its own status and start date. Municipality keys
are strings ``"ags:05566040"`` (see :func:`municipality_node`), so they never collide with the
organisation ids of the database or the demo generator (integers).

The analyses run on the **collaboration graph** (:func:`collaboration_graph`): a simple
:class:`networkx.Graph` of the organisations and their *active* collaborations only.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Hashable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import networkx as nx
import numpy as np

from network.gc_pause import gc_paused
from network.graph.decorators import not_implemented_for
from network.graph.exceptions import (
    DuplicateOrganisationError,
    InvalidInputError,
    UnknownOrganisationError,
)
from network.reference import load_municipalities
from network.vocabulary import (
    COLLABORATION_KINDS,
    COLLABORATION_STATUSES,
    ORGANISATION_KINDS,
    Term,
    model_region_of,
)

__all__ = [
    "ORGANISATION",
    "MUNICIPALITY",
    "COLLABORATION",
    "LOCATED_IN",
    "NEIGHBOUR",
    "ACTIVE",
    "PLACE_KIND",
    "OrgNode",
    "Collaboration",
    "Place",
    "municipality_node",
    "reference_places",
    "build_graph",
    "collaboration_graph",
]

#: Node layers.
ORGANISATION = "organisation"
MUNICIPALITY = "municipality"
#: Edge layers.
COLLABORATION = "collaboration"
LOCATED_IN = "located_in"
NEIGHBOUR = "neighbour"
#: The collaboration status the analyses count.
ACTIVE = "active"
#: The ``kind`` of municipality nodes (organisations of kind ``municipality`` are actors, these
#: nodes are territories).
PLACE_KIND = "place"

_EARTH_RADIUS_KM = 6371.0088


def _lookup(vocabulary: Mapping[str, Term]) -> dict[str, str]:
    """Codes and their German and English labels (case-folded) -> code."""
    table: dict[str, str] = {}
    for code, term in vocabulary.items():
        table[term.de.casefold()] = code
        table[term.en.casefold()] = code
    table.update({code: code for code in vocabulary})
    return table


_ORG_KINDS = _lookup(ORGANISATION_KINDS)
_COLLAB_KINDS = _lookup(COLLABORATION_KINDS)
_STATUSES = _lookup(COLLABORATION_STATUSES)
# A few common short forms used in spreadsheets and by coordinators.
_COLLAB_KINDS.update({"kooperation": "cooperation", "ausbildungsverbund": "training"})


def _code(value: Any, table: Mapping[str, str], field: str) -> str:
    if isinstance(value, str):
        code = table.get(value)
        if code is not None:
            return code
        code = table.get(value.strip().casefold())
        if code is not None:
            return code
    raise InvalidInputError(f"unknown {field} {value!r}", field=field, value=value)


def _ags(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:08d}"
    text = str(value).strip()
    return text.zfill(8) if text.isdigit() else text


def _coordinate(value: Any, field: str) -> float | None:
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError) as err:
        raise InvalidInputError(
            f"{field} is not a number: {value!r}", field=field, value=value
        ) from err
    return None if math.isnan(number) else number


def _tags(value: Any, field: str) -> frozenset[str]:
    if value is None:
        return frozenset()
    if isinstance(value, frozenset):
        return value
    if isinstance(value, str):  # "a;b" as written by the GraphML/GEXF export
        return frozenset(part.strip() for part in value.split(";") if part.strip())
    try:
        return frozenset(str(tag) for tag in value)
    except TypeError as err:
        raise InvalidInputError(
            f"{field} is not a collection of tags", field=field, value=value
        ) from err


def _since(value: Any) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip()[:10])
        except ValueError as err:
            raise InvalidInputError(
                f"since is not a date: {value!r}", field="since", value=value
            ) from err
    raise InvalidInputError(f"since is not a date: {value!r}", field="since", value=value)


def _node_id(value: Any, field: str) -> Hashable:
    if value is None:
        raise InvalidInputError(f"{field} is missing", field=field, value=value)
    try:
        hash(value)
    except TypeError as err:
        raise InvalidInputError(
            f"{field} is not hashable: {value!r}", field=field, value=value
        ) from err
    return value


@dataclass(frozen=True, slots=True)
class OrgNode:
    """An organisation: one node of the stakeholder graph.

    ``kind`` is an ``ORGANISATION_KINDS`` code (a German or English label is accepted and turned
    into the code); ``offers`` and ``needs`` are ``TAGS`` codes; ``ags`` is the 8-digit official
    municipality key. Coordinates may be ``None``; :func:`build_graph` then uses the centre of
    the municipality.

    Examples
    --------
    >>> OrgNode(1, "Krankenhaus", "Klinikum", "05566076", 52.28, 7.44).kind
    'hospital'
    """

    id: Hashable
    kind: str
    name: str
    ags: str | None
    lat: float | None
    lon: float | None
    offers: frozenset[str] = frozenset()
    needs: frozenset[str] = frozenset()
    synthetic: bool = False

    def __post_init__(self) -> None:
        setter = object.__setattr__
        setter(self, "id", _node_id(self.id, "id"))
        setter(self, "kind", _code(self.kind, _ORG_KINDS, "kind"))
        setter(self, "name", "" if self.name is None else str(self.name))
        setter(self, "ags", _ags(self.ags))
        setter(self, "lat", _coordinate(self.lat, "lat"))
        setter(self, "lon", _coordinate(self.lon, "lon"))
        setter(self, "offers", _tags(self.offers, "offers"))
        setter(self, "needs", _tags(self.needs, "needs"))
        setter(self, "synthetic", bool(self.synthetic))


@dataclass(frozen=True, slots=True)
class Collaboration:
    """A collaboration between two organisations (undirected; ``source``/``target`` are ids).

    ``kind`` is a ``COLLABORATION_KINDS`` code and ``status`` one of ``proposed``, ``active``
    or ``ended`` (labels such as ``"Kooperation"`` are accepted and turned into codes).

    Examples
    --------
    >>> Collaboration(1, 2, "Kooperation").kind
    'cooperation'
    >>> Collaboration(1, 2, "training", since="2021-04-01").since
    datetime.date(2021, 4, 1)
    """

    source: Hashable
    target: Hashable
    kind: str
    status: str = ACTIVE
    since: date | None = None

    def __post_init__(self) -> None:
        setter = object.__setattr__
        setter(self, "source", _node_id(self.source, "source"))
        setter(self, "target", _node_id(self.target, "target"))
        setter(self, "kind", _code(self.kind, _COLLAB_KINDS, "kind"))
        setter(
            self,
            "status",
            _code(ACTIVE if self.status is None else self.status, _STATUSES, "status"),
        )
        setter(self, "since", _since(self.since))


@dataclass(frozen=True, slots=True)
class Place:
    """A municipality: AGS, name, Kreis, centre coordinates, population and model region.

    Examples
    --------
    >>> rheine = [p for p in reference_places() if p.name == "Rheine"][0]
    >>> rheine.ags, rheine.kreis, rheine.model_region
    ('05566076', 'Kreis Steinfurt', 'rheine')
    """

    ags: str
    name: str
    kreis: str | None
    lat: float | None
    lon: float | None
    population: int | None
    model_region: str | None

    def __post_init__(self) -> None:
        setter = object.__setattr__
        ags = _ags(self.ags)
        if ags is None:
            raise InvalidInputError("a place needs an AGS", field="ags", value=self.ags)
        setter(self, "ags", ags)
        setter(self, "lat", _coordinate(self.lat, "lat"))
        setter(self, "lon", _coordinate(self.lon, "lon"))
        if self.population is not None:
            try:
                setter(self, "population", int(self.population))
            except (TypeError, ValueError) as err:
                raise InvalidInputError(
                    f"population is not a number: {self.population!r}",
                    field="population",
                    value=self.population,
                ) from err


_MISSING = object()


def _reader(item: Any) -> Any:
    """A ``get(name, default)`` for a mapping or an object with attributes."""
    if isinstance(item, Mapping):
        return item.get
    return lambda name, default=_MISSING: getattr(item, name, default)


def _required(get: Any, name: str, what: str, *fallbacks: str) -> Any:
    for key in (name, *fallbacks):
        value = get(key, _MISSING)
        if value is not _MISSING:
            return value
    raise InvalidInputError(f"{what} without {name!r}", field=name, value=None)


def _as_org(item: Any) -> OrgNode:
    """An :class:`OrgNode` from an OrgNode, a dict or an object with the same attributes."""
    if isinstance(item, OrgNode):
        return item
    get = _reader(item)
    return OrgNode(
        id=_required(get, "id", "organisation"),
        kind=_required(get, "kind", "organisation"),
        name=get("name", ""),
        ags=get("ags", None),
        lat=get("lat", get("latitude", None)),
        lon=get("lon", get("longitude", None)),
        offers=get("offers", None),
        needs=get("needs", None),
        synthetic=get("synthetic", False),
    )


def _edge_fields(item: Any) -> tuple[Hashable, Hashable, str, str, date | None]:
    """``(source, target, kind, status, since)`` normalised, from a Collaboration, a mapping or
    an object with those attributes (status defaults to ``active``, since to ``None``).

    The hot path of :func:`build_graph` (hundreds of thousands of collaborations), so it builds
    no :class:`Collaboration` and checks the common cases first.
    """
    if type(item) is Collaboration:
        return item.source, item.target, item.kind, item.status, item.since
    try:
        if isinstance(item, dict | Mapping):
            source, target, kind = item["source"], item["target"], item["kind"]
            status, since = item.get("status", ACTIVE), item.get("since")
        else:
            source, target, kind = item.source, item.target, item.kind
            status, since = getattr(item, "status", ACTIVE), getattr(item, "since", None)
    except (KeyError, AttributeError) as err:
        name = err.args[0] if isinstance(err, KeyError) else getattr(err, "name", str(err))
        raise InvalidInputError(
            f"collaboration without {name!r}", field=str(name), value=None
        ) from err
    code = _COLLAB_KINDS.get(kind) if isinstance(kind, str) else None
    if code is None:
        code = _code(kind, _COLLAB_KINDS, "kind")
    state = _STATUSES.get(status) if isinstance(status, str) else None
    if state is None:
        state = ACTIVE if status is None else _code(status, _STATUSES, "status")
    if since is not None and type(since) is not date:
        since = _since(since)
    return source, target, code, state, since


def _as_edge(item: Any) -> Collaboration:
    """A :class:`Collaboration` from a Collaboration, a dict or an object (status defaults to
    ``active``, since to ``None``)."""
    if isinstance(item, Collaboration):
        return item
    return Collaboration(*_edge_fields(item))


def _as_place(item: Any) -> Place:
    """A :class:`Place` from a Place, a dict, or a ``network.reference.Municipality``."""
    if isinstance(item, Place):
        return item
    get = _reader(item)
    ags = _required(get, "ags", "place")
    model_region = get("model_region", _MISSING)
    return Place(
        ags=ags,
        name=str(get("name", "")),
        kreis=get("kreis", None),
        lat=get("lat", get("latitude", None)),
        lon=get("lon", get("longitude", None)),
        population=get("population", None),
        model_region=model_region_of(_ags(ags) or "") if model_region is _MISSING else model_region,
    )


def municipality_node(ags: str) -> str:
    """The node key of a municipality in the stakeholder graph.

    Examples
    --------
    >>> municipality_node("05566040")
    'ags:05566040'
    """
    return f"ags:{ags}"


def reference_places() -> tuple[Place, ...]:
    """The 66 real municipalities of the Münsterland as :class:`Place` (the default places).

    Examples
    --------
    >>> places = reference_places()
    >>> len(places), places[0].name
    (66, 'Münster')
    """
    return tuple(_as_place(m) for m in load_municipalities())


def _haversine_km(lat1: Any, lon1: Any, lat2: Any, lon2: Any) -> Any:
    """Great-circle distance in km between points in degrees (numpy broadcasting)."""
    lat1, lon1, lat2, lon2 = (np.radians(x) for x in (lat1, lon1, lat2, lon2))
    a = (
        np.sin((lat2 - lat1) / 2) ** 2
        + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * _EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.minimum(1.0, a)))


def build_graph(
    organisations: Iterable[Any],
    collaborations: Iterable[Any],
    places: Iterable[Any] | None = None,
    *,
    include_locations: bool = True,
    neighbour_km: float = 15.0,
) -> nx.MultiGraph:
    """Build the stakeholder graph: organisations, municipalities and their relations.

    Parameters
    ----------
    organisations : iterable
        :class:`OrgNode`, dicts with the same keys, or objects with those attributes (such as
        ``network.synthetic.SyntheticOrganisation``).
    collaborations : iterable
        :class:`Collaboration`, dicts or objects with ``source``, ``target``, ``kind`` and
        optionally ``status`` (default ``"active"``) and ``since``.
    places : iterable, optional (default=None)
        :class:`Place`, dicts or ``network.reference.Municipality``; ``None`` means the 66
        municipalities of the Münsterland (:func:`reference_places`).
    include_locations : bool, optional (default=True)
        Add the municipality nodes, the ``located_in`` edges from each organisation to its
        municipality and the ``neighbour`` edges between municipalities. Without them the graph
        holds the organisations and collaborations only (Kreis and model region stay node
        attributes either way).
    neighbour_km : float, optional (default=15.0)
        Municipalities whose centres lie at most this far apart are neighbours.

    Returns
    -------
    networkx.MultiGraph
        ``G.graph["graph_type"] == "stakeholder"``; layers and attributes as in the module
        docstring. Organisations keep their input order. An organisation without coordinates
        gets the centre of its municipality and ``approximate_location=True``; one whose AGS is
        not among ``places`` gets no ``located_in`` edge, ``kreis=None`` and the model region of
        its AGS.

    Raises
    ------
    UnknownOrganisationError
        If a collaboration names an id that is not among the organisations.
    DuplicateOrganisationError
        If two organisations share an id, or an id equals a municipality node key.
    InvalidInputError
        For an unknown kind or status, a collaboration of an organisation with itself, a
        malformed value or a negative ``neighbour_km``.

    See Also
    --------
    collaboration_graph : the graph the analyses run on.

    Examples
    --------
    >>> orgs = [
    ...     OrgNode(1, "hospital", "Klinikum", "05566076", 52.28, 7.44),
    ...     {"id": 2, "kind": "care_home", "name": "Haus Ems", "ags": "05566076",
    ...      "lat": 52.29, "lon": 7.45},
    ...     OrgNode(3, "school", "Pflegeschule", "05566040", 52.17, 7.86),
    ... ]
    >>> edges = [Collaboration(1, 2, "training"), {"source": 2, "target": 3, "kind": "Kooperation"}]
    >>> G = build_graph(orgs, edges)
    >>> G.nodes[2]["kreis"], G.nodes[3]["model_region"]
    ('Kreis Steinfurt', 'ladbergen-lengerich-lienen-tecklenburg')
    >>> sorted(d["kind"] for _, _, d in G.edges(data=True) if d["layer"] == "collaboration")
    ['cooperation', 'training']
    >>> G.has_edge(1, "ags:05566076")
    True
    >>> build_graph(orgs, [Collaboration(1, 9, "training")])
    Traceback (most recent call last):
    ...
    network.graph.exceptions.UnknownOrganisationError: collaboration names unknown organisation 9 (target)
    """
    if neighbour_km is None or not neighbour_km >= 0:
        raise InvalidInputError(
            f"neighbour_km must be >= 0, got {neighbour_km!r}",
            field="neighbour_km",
            value=neighbour_km,
        )
    with gc_paused():
        place_list = reference_places() if places is None else tuple(_as_place(p) for p in places)
        by_ags: dict[str, Place] = {}
        for place in place_list:
            if place.ags in by_ags:
                raise InvalidInputError(
                    f"municipality {place.ags} given twice", field="ags", value=place.ags
                )
            by_ags[place.ags] = place

        G = nx.MultiGraph(
            graph_type="stakeholder", include_locations=include_locations, neighbour_km=neighbour_km
        )
        place_keys = {municipality_node(ags) for ags in by_ags} if include_locations else set()

        nodes: list[tuple[Hashable, dict[str, Any]]] = []
        located: list[tuple[Hashable, str, dict[str, Any]]] = []
        org_ids: set[Hashable] = set()
        for item in organisations:
            org = _as_org(item)
            if org.id in org_ids or org.id in place_keys:
                raise DuplicateOrganisationError(
                    f"organisation id {org.id!r} is used twice", id=org.id
                )
            org_ids.add(org.id)
            place = by_ags.get(org.ags) if org.ags is not None else None
            lat, lon, approximate = org.lat, org.lon, False
            if (lat is None or lon is None) and place is not None:
                lat, lon, approximate = place.lat, place.lon, True
            nodes.append(
                (
                    org.id,
                    {
                        "layer": ORGANISATION,
                        "kind": org.kind,
                        "name": org.name,
                        "ags": org.ags,
                        "kreis": place.kreis if place is not None else None,
                        "model_region": (
                            place.model_region
                            if place is not None
                            else model_region_of(org.ags or "")
                        ),
                        "lat": lat,
                        "lon": lon,
                        "offers": org.offers,
                        "needs": org.needs,
                        "synthetic": org.synthetic,
                        "approximate_location": approximate,
                    },
                )
            )
            if include_locations and place is not None:
                located.append(
                    (
                        org.id,
                        municipality_node(place.ags),
                        {"layer": LOCATED_IN, "kind": LOCATED_IN},
                    )
                )
        G.add_nodes_from(nodes)

        edges: list[tuple[Hashable, Hashable, dict[str, Any]]] = []
        for item in collaborations:
            source, target, kind, status, since = _edge_fields(item)
            for role, node in (("source", source), ("target", target)):
                try:
                    known = node in org_ids
                except TypeError as err:
                    raise InvalidInputError(
                        f"{role} is not hashable: {node!r}", field=role, value=node
                    ) from err
                if not known:
                    raise UnknownOrganisationError(
                        f"collaboration names unknown organisation {node!r} ({role})",
                        id=node,
                        role=role,
                    )
            if source == target:
                raise InvalidInputError(
                    f"organisation {source!r} cannot collaborate with itself",
                    field="target",
                    value=target,
                )
            edges.append(
                (
                    source,
                    target,
                    {"layer": COLLABORATION, "kind": kind, "status": status, "since": since},
                )
            )
        G.add_edges_from(edges)

        if include_locations:
            G.add_nodes_from(
                (
                    municipality_node(p.ags),
                    {
                        "layer": MUNICIPALITY,
                        "kind": PLACE_KIND,
                        "name": p.name,
                        "ags": p.ags,
                        "kreis": p.kreis,
                        "model_region": p.model_region,
                        "lat": p.lat,
                        "lon": p.lon,
                        "population": p.population,
                    },
                )
                for p in place_list
            )
            G.add_edges_from(located)
            G.add_edges_from(_neighbour_edges(place_list, neighbour_km))
        return G


def _neighbour_edges(
    places: tuple[Place, ...], neighbour_km: float
) -> list[tuple[str, str, dict[str, Any]]]:
    located = [p for p in places if p.lat is not None and p.lon is not None]
    if len(located) < 2:
        return []
    lat = np.array([p.lat for p in located])
    lon = np.array([p.lon for p in located])
    distance = _haversine_km(lat[:, None], lon[:, None], lat[None, :], lon[None, :])
    first, second = np.nonzero(np.triu(distance <= neighbour_km, k=1))
    return [
        (
            municipality_node(located[i].ags),
            municipality_node(located[j].ags),
            {"layer": NEIGHBOUR, "kind": NEIGHBOUR, "distance_km": round(float(distance[i, j]), 3)},
        )
        for i, j in zip(first.tolist(), second.tolist(), strict=True)
    ]


@not_implemented_for("directed")
def collaboration_graph(G: nx.Graph, *, statuses: Collection[str] = (ACTIVE,)) -> nx.Graph:
    """The simple graph of the organisations and their active collaborations.

    All organisations stay, including those without any collaboration (they matter as isolated
    providers); municipality nodes and ``located_in``/``neighbour`` edges are dropped. Several
    collaborations between the same two organisations become one edge.

    Parameters
    ----------
    G : networkx.MultiGraph or networkx.Graph
        A stakeholder graph from :func:`build_graph`. Any undirected graph works: nodes without
        a ``layer`` count as organisations, edges without ``layer`` as collaborations and edges
        without ``status`` as active.
    statuses : collection of str, optional (default=("active",))
        The collaboration statuses to keep; pass ``("active", "proposed")`` to include proposals.

    Returns
    -------
    networkx.Graph
        ``graph_type == "collaboration"``; node attributes copied from ``G``; each edge has
        ``kinds`` (sorted tuple of the distinct collaboration kinds), ``weight`` (the number of
        kept collaborations between the two) and ``since`` (the earliest start date or ``None``).
        ``G`` is not changed.

    Examples
    --------
    >>> orgs = [OrgNode(i, "gp_practice", f"Praxis {i}", "05566076", 52.28, 7.44) for i in (1, 2, 3)]
    >>> edges = [
    ...     Collaboration(1, 2, "referral"),
    ...     Collaboration(1, 2, "telemedicine", since="2020-01-01"),
    ...     Collaboration(2, 3, "cooperation", status="ended"),
    ... ]
    >>> H = collaboration_graph(build_graph(orgs, edges))
    >>> H.number_of_nodes(), H.number_of_edges()
    (3, 1)
    >>> H.edges[1, 2]["kinds"], H.edges[1, 2]["weight"]
    (('referral', 'telemedicine'), 2)
    """
    with gc_paused():
        return _collaboration_graph(G, frozenset(statuses))


def _collaboration_graph(G: nx.Graph, wanted: frozenset[str]) -> nx.Graph:
    H = nx.Graph(graph_type="collaboration", statuses=tuple(sorted(wanted)))
    organisations = [
        (n, d) for n, d in G.nodes(data=True) if d.get("layer", ORGANISATION) == ORGANISATION
    ]
    H.add_nodes_from(organisations)
    keep = {n for n, _ in organisations}
    multigraph = G.is_multigraph()
    edges: list[tuple[Hashable, Hashable, dict[str, Any]]] = []
    seen: set[Hashable] = set()
    for u, neighbours in G.adjacency():  # the plain dicts, much faster than G.adj's views
        seen.add(u)
        if u not in keep:
            continue
        for v, data in neighbours.items():
            if v in seen or v not in keep:  # each pair once; self-loops and places dropped
                continue
            kinds: tuple[str, ...] = ()
            weight = 0
            since: date | None = None
            for d in data.values() if multigraph else (data,):
                if (
                    d.get("layer", COLLABORATION) != COLLABORATION
                    or d.get("status", ACTIVE) not in wanted
                ):
                    continue
                kind = d.get("kind")
                kinds += (kind,) if kind is not None else tuple(d.get("kinds", ()))
                weight += 1 if multigraph else d.get("weight", 1)
                start = d.get("since")
                if start is not None and (since is None or start < since):
                    since = start
            if weight:
                if len(kinds) > 1:
                    kinds = tuple(sorted(set(kinds)))
                edges.append((u, v, {"kinds": kinds, "weight": weight, "since": since}))
    H.add_edges_from(edges)
    return H


def _analysis_graph(G: nx.Graph) -> nx.Graph:
    """The graph an analysis runs on: a stakeholder (multi)graph is reduced to its collaboration
    graph, any other undirected graph is used as it is."""
    if G.is_multigraph() or G.graph.get("graph_type") == "stakeholder":
        return collaboration_graph(G)
    return G
