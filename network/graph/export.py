"""Export the stakeholder graph: GraphML and GEXF for Gephi/yEd, Cytoscape.js JSON for the browser."""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Hashable, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

import networkx as nx
import numpy as np

from network.graph.build import ACTIVE, COLLABORATION
from network.graph.decorators import not_implemented_for
from network.graph.exceptions import UnsupportedFormatError

__all__ = [
    "WRITERS",
    "plain_value",
    "sanitised",
    "to_graphml",
    "to_gexf",
    "to_cytoscape",
    "write_graph",
]

#: File extensions :func:`write_graph` understands.
WRITERS = (".graphml", ".gexf", ".json")


def plain_value(value: Any) -> str | int | float | bool | None:
    """A value GraphML and GEXF can store: sets and sequences become ``"a;b"`` (sets sorted),
    dates ISO strings, mappings JSON, numpy scalars Python scalars; ``None`` stays ``None``
    (the attribute is left out).

    Examples
    --------
    >>> plain_value(frozenset({"telemedicine", "childcare"}))
    'childcare;telemedicine'
    >>> plain_value(date(2021, 4, 1)), plain_value(np.float64(1.5)), plain_value(None)
    ('2021-04-01', 1.5, None)
    """
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, set | frozenset):
        return ";".join(sorted(str(item) for item in value))
    if isinstance(value, list | tuple):
        return ";".join(str(item) for item in value)
    if isinstance(value, Mapping):
        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return str(value)


def _clean(data: Mapping[str, Any]) -> dict[str, Any]:
    result = {}
    for key, value in data.items():
        converted = plain_value(value)
        if converted is not None:
            result[str(key)] = converted
    return result


def sanitised(G: nx.Graph) -> nx.Graph:
    """A copy of ``G`` whose graph, node and edge attributes are all :func:`plain_value`.

    ``None`` attributes are left out, which both formats read back as absent. ``G`` is not
    changed.

    Examples
    --------
    >>> G = nx.Graph()
    >>> G.add_node(1, offers=frozenset({"therapy"}), ags=None)
    >>> sanitised(G).nodes[1]
    {'offers': 'therapy'}
    """
    H = G.__class__()
    H.graph.update(_clean(G.graph))
    H.add_nodes_from((n, _clean(d)) for n, d in G.nodes(data=True))
    if G.is_multigraph():
        H.add_edges_from((u, v, k, _clean(d)) for u, v, k, d in G.edges(keys=True, data=True))
    else:
        H.add_edges_from((u, v, _clean(d)) for u, v, d in G.edges(data=True))
    return H


def to_graphml(
    G: nx.Graph, path_or_buffer: str | os.PathLike[str] | IO[bytes], *, prettyprint: bool = True
) -> None:
    """Write ``G`` as GraphML (for yEd, Gephi, Cytoscape desktop).

    Parameters
    ----------
    G : networkx.Graph
        Stakeholder or collaboration graph (any networkx graph).
    path_or_buffer : path or binary file object
        Where to write.
    prettyprint : bool, optional (default=True)
        Indent the XML.

    Notes
    -----
    Node ids are written as strings; sets become ``"a;b"``, dates ISO strings and ``None``
    attributes are left out (see :func:`sanitised`).

    Examples
    --------
    >>> import io
    >>> G = nx.Graph([(1, 2)])
    >>> G.nodes[1]["offers"] = frozenset({"therapy", "shuttle"})
    >>> buffer = io.BytesIO()
    >>> to_graphml(G, buffer)
    >>> back = nx.read_graphml(io.BytesIO(buffer.getvalue()))
    >>> back.nodes["1"]["offers"], back.number_of_edges()
    ('shuttle;therapy', 1)
    """
    nx.write_graphml(sanitised(G), path_or_buffer, prettyprint=prettyprint)


def to_gexf(
    G: nx.Graph, path_or_buffer: str | os.PathLike[str] | IO[bytes], *, prettyprint: bool = True
) -> None:
    """Write ``G`` as GEXF 1.2 (for Gephi); node labels are the organisation names.

    Parameters
    ----------
    G : networkx.Graph
        Stakeholder or collaboration graph (any networkx graph).
    path_or_buffer : path or binary file object
        Where to write.
    prettyprint : bool, optional (default=True)
        Indent the XML.

    Examples
    --------
    >>> import io
    >>> G = nx.Graph([(1, 2)])
    >>> G.nodes[1]["name"] = "Klinikum"
    >>> buffer = io.BytesIO()
    >>> to_gexf(G, buffer)
    >>> back = nx.read_gexf(io.BytesIO(buffer.getvalue()))
    >>> back.nodes["1"]["label"], back.number_of_nodes()
    ('Klinikum', 2)
    """
    H = sanitised(G)
    for node, data in H.nodes(data=True):
        if "label" not in data:
            data["label"] = str(data.get("name") or node)
    nx.write_gexf(H, path_or_buffer, prettyprint=prettyprint)


def _collaboration_counts(G: nx.Graph) -> Counter[Hashable]:
    """Number of active collaborations per node (edge ``weight`` counts in a collaboration
    graph, parallel edges in a stakeholder graph)."""
    counts: Counter[Hashable] = Counter()
    for u, v, d in G.edges(data=True):
        if d.get("layer", COLLABORATION) != COLLABORATION or d.get("status", ACTIVE) != ACTIVE:
            continue
        weight = d.get("weight", 1)
        counts[u] += weight
        if v != u:
            counts[v] += weight
    return counts


def _json_value(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, set | frozenset):
        return sorted(str(item) for item in value)
    if isinstance(value, list | tuple):
        return [_json_value(item) for item in value]
    return plain_value(value)


_NODE_FIELDS = ("layer", "kind", "ags", "kreis", "model_region", "lat", "lon", "population")


@not_implemented_for("directed")
def to_cytoscape(
    G: nx.Graph,
    *,
    metrics: Mapping[Hashable, float] | None = None,
    extra: Mapping[str, Mapping[Hashable, Any]] | None = None,
) -> dict[str, Any]:
    """The graph as Cytoscape.js JSON (``cytoscape({elements: result["elements"], ...})``).

    Parameters
    ----------
    G : networkx.Graph or networkx.MultiGraph
        Stakeholder or collaboration graph.
    metrics : mapping, optional (default=None)
        Node -> number for the node ``size`` (e.g. betweenness); nodes not in it get 0. By
        default the size is the node's number of active collaborations.
    extra : mapping, optional (default=None)
        Further per-node data, name -> (node -> value), e.g. ``{"community": membership}``.

    Returns
    -------
    dict
        ``{"data": graph attributes, "directed": False, "multigraph": bool,
        "elements": {"nodes": [...], "edges": [...]}}`` (the shape of
        ``networkx.cytoscape_data``). A node's ``data`` has ``id`` (the node as a string),
        ``label`` (its name), ``layer``, ``kind``, ``ags``, ``kreis``, ``model_region``,
        ``lat``, ``lon``, ``population`` (municipalities) and ``size``; an edge's ``data`` has
        ``id``, ``source``, ``target``, ``layer``, ``kind`` (``"multiple"`` if a collaboration
        graph edge joins several kinds, listed in ``kinds``), ``status``, ``since`` and
        ``weight`` where present. Everything is JSON-serialisable.

    Examples
    --------
    >>> G = nx.Graph()
    >>> G.add_node(1, name="Klinikum", kind="hospital", ags="05566076")
    >>> G.add_node(2, name="Haus Ems", kind="care_home", ags="05566076")
    >>> G.add_edge(1, 2, kinds=("training",), weight=1)
    >>> data = to_cytoscape(G)
    >>> data["elements"]["nodes"][0]["data"]["label"], data["elements"]["nodes"][0]["data"]["size"]
    ('Klinikum', 1)
    >>> data["elements"]["edges"][0]["data"]
    {'id': 'e0', 'source': '1', 'target': '2', 'kind': 'training', 'kinds': ['training'], 'weight': 1}
    """
    sizes: Mapping[Hashable, Any] = _collaboration_counts(G) if metrics is None else metrics
    extra = extra or {}
    nodes = []
    for node, d in G.nodes(data=True):
        data: dict[str, Any] = {"id": str(node), "label": str(d.get("name") or node)}
        for key in _NODE_FIELDS:
            if key in d:
                data[key] = _json_value(d[key])
        size = sizes.get(node, 0)
        data["size"] = float(size) if isinstance(size, float | np.floating) else _json_value(size)
        for name, values in extra.items():
            data[name] = _json_value(values.get(node))
        nodes.append({"data": data})
    edges = []
    triples = G.edges(data=True)
    for i, (u, v, d) in enumerate(triples):
        data = {"id": f"e{i}", "source": str(u), "target": str(v)}
        if "layer" in d:
            data["layer"] = d["layer"]
        if "kind" in d:
            data["kind"] = d["kind"]
        elif "kinds" in d:
            kinds = list(d["kinds"])
            data["kind"] = kinds[0] if len(kinds) == 1 else "multiple"
            data["kinds"] = [str(k) for k in kinds]
        for key in ("status", "since", "weight", "distance_km"):
            if key in d and d[key] is not None:
                data[key] = _json_value(d[key])
        edges.append({"data": data})
    return {
        "data": {key: _json_value(value) for key, value in G.graph.items()},
        "directed": False,
        "multigraph": G.is_multigraph(),
        "elements": {"nodes": nodes, "edges": edges},
    }


def write_graph(G: nx.Graph, path: str | os.PathLike[str]) -> Path:
    """Write ``G`` in the format its file extension names.

    Parameters
    ----------
    G : networkx.Graph
        Stakeholder or collaboration graph.
    path : path
        Ends in ``.graphml``, ``.gexf`` or ``.json`` (Cytoscape.js, UTF-8); case does not matter.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    UnsupportedFormatError
        For any other extension.

    Examples
    --------
    >>> write_graph(nx.path_graph(2), "graph.csv")
    Traceback (most recent call last):
    ...
    network.graph.exceptions.UnsupportedFormatError: cannot write '.csv' files; use .graphml, .gexf or .json
    """
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix == ".graphml":
        to_graphml(G, target)
    elif suffix == ".gexf":
        to_gexf(G, target)
    elif suffix == ".json":
        with target.open("w", encoding="utf-8") as handle:
            json.dump(to_cytoscape(G), handle, ensure_ascii=False)
    else:
        raise UnsupportedFormatError(
            f"cannot write {suffix or target.name!r} files; use .graphml, .gexf or .json",
            suffix=suffix or target.name,
            supported=", ".join(WRITERS),
        )
    return target
