"""Summarised views of a collaboration graph for the browser: municipalities or communities as nodes.

Pure (networkx only, no Flask): the coordinators' network view draws organisations one by one
only up to a limit (see :mod:`network.network_view.dashboard`); beyond it, these functions
collapse the organisations of one municipality, or of one Louvain community, into a single node
whose size is the number of organisations, and the collaborations between two groups into a
single edge whose weight is their number. The output has the shape of
:func:`network.graph.to_cytoscape`, so the same script draws both.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import Any

import networkx as nx

__all__ = ["quotient_elements", "municipality_elements", "community_elements"]


def quotient_elements(
    H: nx.Graph,
    group_of: Callable[[Hashable, Mapping[str, Any]], Hashable | None],
    describe: Callable[[Hashable, list[Hashable]], dict[str, Any]],
    *,
    keep: Callable[[Hashable, list[Hashable]], bool] | None = None,
) -> dict[str, Any]:
    """Collapse ``H`` into one node per group (Cytoscape.js JSON).

    Parameters
    ----------
    H : networkx.Graph
        Collaboration graph (edges may carry ``weight``, the number of collaborations).
    group_of : callable
        ``(node, data) -> group`` or ``None`` to leave the node out.
    describe : callable
        ``(group, members) -> dict`` of node data (``id`` and ``label`` at least).
    keep : callable, optional
        ``(group, members) -> bool``; groups it rejects are left out with their edges.

    Returns
    -------
    dict
        ``{"elements": {"nodes": [...], "edges": [...]}}``; a node's ``size`` is its number of
        organisations, an edge's ``weight`` the number of collaborations between two groups
        (collaborations inside a group count in the node's ``internal``).

    Examples
    --------
    >>> H = nx.Graph([(1, 2), (2, 3), (3, 4)])
    >>> nx.set_node_attributes(H, {1: "A", 2: "A", 3: "B", 4: "B"}, "ags")
    >>> data = quotient_elements(H, lambda n, d: d["ags"], lambda g, m: {"id": g, "label": g})
    >>> [(n["data"]["id"], n["data"]["size"], n["data"]["internal"]) for n in data["elements"]["nodes"]]
    [('A', 2, 1), ('B', 2, 1)]
    >>> data["elements"]["edges"][0]["data"]
    {'id': 'e0', 'source': 'A', 'target': 'B', 'weight': 1}
    """
    members: dict[Hashable, list[Hashable]] = {}
    group: dict[Hashable, Hashable] = {}
    for node, data in H.nodes(data=True):
        g = group_of(node, data)
        if g is None:
            continue
        group[node] = g
        members.setdefault(g, []).append(node)
    if keep is not None:
        members = {g: m for g, m in members.items() if keep(g, m)}
        group = {node: g for node, g in group.items() if g in members}
    internal: Counter[Hashable] = Counter()
    between: Counter[tuple[Hashable, Hashable]] = Counter()
    seen: set[Hashable] = set()
    # The plain adjacency dicts: several times faster than the edge view on large graphs.
    for u, neighbours in H.adjacency():
        seen.add(u)
        gu = group.get(u)
        if gu is None:
            continue
        for v, data in neighbours.items():
            if v in seen:
                continue
            gv = group.get(v)
            if gv is None:
                continue
            weight = data.get("weight", 1)
            if gu == gv:
                internal[gu] += weight
            else:
                between[(gu, gv) if str(gu) <= str(gv) else (gv, gu)] += weight
    nodes = []
    ids: dict[Hashable, str] = {}
    for g, nodes_of_group in members.items():
        data = dict(describe(g, nodes_of_group))
        data["size"] = len(nodes_of_group)
        data["internal"] = internal.get(g, 0)
        ids[g] = str(data["id"])
        nodes.append({"data": data})
    edges = [
        {"data": {"id": f"e{i}", "source": ids[a], "target": ids[b], "weight": weight}}
        for i, ((a, b), weight) in enumerate(sorted(between.items(), key=lambda kv: str(kv[0])))
    ]
    return {"elements": {"nodes": nodes, "edges": edges}}


def _centre(H: nx.Graph, nodes: Iterable[Hashable]) -> tuple[float | None, float | None]:
    attributes = H.nodes
    points = [
        (data["lat"], data["lon"])
        for data in (attributes[n] for n in nodes)
        if data.get("lat") is not None and data.get("lon") is not None
    ]
    if not points:
        return None, None
    return (
        round(sum(p[0] for p in points) / len(points), 5),
        round(sum(p[1] for p in points) / len(points), 5),
    )


def municipality_elements(H: nx.Graph, places: Iterable[Any]) -> dict[str, Any]:
    """One node per municipality (id ``"m:<AGS>"``) at its centre, sized by organisations.

    ``places`` are :class:`network.graph.Place` (or objects with ``ags``, ``name``, ``kreis``,
    ``model_region``, ``lat``, ``lon``); organisations elsewhere are grouped under their AGS.

    Examples
    --------
    >>> from network.graph import Place
    >>> H = nx.Graph([(1, 2)])
    >>> nx.set_node_attributes(H, {1: "05566040", 2: "05566088"}, "ags")
    >>> places = [Place("05566040", "Lengerich", "Kreis Steinfurt", 52.18, 7.87, 22000, None)]
    >>> nodes = municipality_elements(H, places)["elements"]["nodes"]
    >>> [(n["data"]["id"], n["data"]["label"]) for n in nodes]
    [('m:05566040', 'Lengerich'), ('m:05566088', '05566088')]
    """
    by_ags = {p.ags: p for p in places}

    def describe(ags: Hashable, nodes: list[Hashable]) -> dict[str, Any]:
        place = by_ags.get(ags)
        lat, lon = (place.lat, place.lon) if place is not None else _centre(H, nodes)
        return {
            "id": f"m:{ags}",
            "label": place.name if place is not None else str(ags),
            "layer": "municipality",
            "kind": "place",
            "ags": ags,
            "kreis": place.kreis if place is not None else None,
            "model_region": place.model_region if place is not None else None,
            "lat": lat,
            "lon": lon,
        }

    return quotient_elements(H, lambda n, d: d.get("ags"), describe)


def community_elements(
    H: nx.Graph,
    membership: Mapping[Hashable, int],
    place_names: Mapping[str, str],
    *,
    largest: int = 150,
) -> dict[str, Any]:
    """One node per community of at least two organisations (the ``largest`` biggest).

    A node's data carries ``community`` (its index), ``top_place`` (the municipality most of its
    members are in) and the mean position of its members. Single organisations are their own
    community only because they have no partner; they appear in the list of isolated ones.

    Examples
    --------
    >>> H = nx.Graph([(1, 2), (3, 4)])
    >>> H.add_node(5)
    >>> nx.set_node_attributes(H, "05566040", "ags")
    >>> data = community_elements(H, {1: 0, 2: 0, 3: 1, 4: 1, 5: 2}, {"05566040": "Lengerich"})
    >>> [(n["data"]["id"], n["data"]["size"], n["data"]["top_place"]) for n in data["elements"]["nodes"]]
    [('c:0', 2, 'Lengerich'), ('c:1', 2, 'Lengerich')]
    """
    sizes = Counter(membership.values())
    chosen = {c for c, size in sizes.most_common() if size >= 2}
    if len(chosen) > largest:
        chosen = {c for c, _ in sorted(sizes.items(), key=lambda kv: (-kv[1], kv[0]))[:largest]}

    def describe(community: Hashable, nodes: list[Hashable]) -> dict[str, Any]:
        attributes = H.nodes
        places = Counter(attributes[n].get("ags") for n in nodes)
        top = places.most_common(1)[0][0] if places else None
        lat, lon = _centre(H, nodes)
        return {
            "id": f"c:{community}",
            "label": str(community),
            "layer": "community",
            "kind": "community",
            "community": community,
            "top_place": place_names.get(top, top) if top is not None else None,
            "lat": lat,
            "lon": lon,
        }

    return quotient_elements(
        H,
        lambda n, d: membership.get(n),
        describe,
        keep=lambda community, nodes: community in chosen,
    )
