"""Network analyses for the coordinators: brokers, communities, cross-border work, gaps.

Every function takes the collaboration graph (:func:`~network.graph.build.collaboration_graph`)
first; a stakeholder graph from :func:`~network.graph.build.build_graph` is reduced to it, so
only *active* collaborations count. Functions never change their input and return plain data.

The expensive parts run on integer arrays: betweenness as Brandes' algorithm level by level in
numpy (sampled above 2,000 organisations), Louvain as a port of networkx's implementation on
integer ids that skips nodes whose decision cannot have changed (and returns exactly what
``nx.community.louvain_communities`` returns for the same seed), components with
``scipy.sparse.csgraph``. ``benchmarks/graph.py`` measures them on 100,000 organisations and
400,000 collaborations.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Hashable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, NamedTuple

import networkx as nx
import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from network.graph.build import _analysis_graph, _as_place, reference_places
from network.graph.decorators import not_implemented_for
from network.graph.exceptions import InvalidInputError

__all__ = [
    "EXACT_BETWEENNESS_MAX_NODES",
    "DEFAULT_BETWEENNESS_PIVOTS",
    "CommunityResult",
    "degree_centrality",
    "betweenness_centrality",
    "brokers",
    "communities",
    "cross_municipal_share",
    "isolated_organisations",
    "weakly_connected_organisations",
    "connected_components_summary",
    "municipality_figures",
    "run_all_analyses",
]

#: Betweenness is exact (every node a source) up to this many organisations ...
EXACT_BETWEENNESS_MAX_NODES = 2_000
#: ... and estimated from this many sampled source nodes ("pivots") above it.
DEFAULT_BETWEENNESS_PIVOTS = 256

_GROUPINGS = ("ags", "model_region", "kreis")


# --------------------------------------------------------------------------------------------
# Array form of a graph
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Edges:
    """A graph as integer arrays: node ``i`` is ``nodes[i]``; each edge once, in the order of
    ``G.edges()`` (which Louvain's tie-breaking depends on), self-loops included."""

    nodes: list[Hashable]
    src: np.ndarray
    dst: np.ndarray
    weights: list[Any] | None  # raw values of the weight attribute, or None (all 1)

    @property
    def n(self) -> int:
        return len(self.nodes)

    def adjacency(self) -> sp.csr_array:
        """Symmetric 0/1 adjacency without self-loops."""
        keep = self.src != self.dst
        rows = np.concatenate((self.src[keep], self.dst[keep]))
        cols = np.concatenate((self.dst[keep], self.src[keep]))
        A = sp.csr_array((np.ones(len(rows)), (rows, cols)), shape=(self.n, self.n))
        A.sum_duplicates()
        A.data[:] = 1.0
        return A


def _edges(G: nx.Graph, weight: str | None = None) -> _Edges:
    nodes = list(G)
    index = {u: i for i, u in enumerate(nodes)}
    src: list[int] = []
    dst: list[int] = []
    if weight is None:
        for u, v in G.edges():
            src.append(index[u])
            dst.append(index[v])
        weights = None
    else:
        weights = []
        for u, v, w in G.edges(data=weight, default=1):
            src.append(index[u])
            dst.append(index[v])
            weights.append(w)
    return _Edges(nodes, np.array(src, dtype=np.int64), np.array(dst, dtype=np.int64), weights)


def _degrees(e: _Edges) -> np.ndarray:
    """Number of distinct neighbours of each node (self-loops not counted)."""
    keep = e.src != e.dst
    return np.bincount(e.src[keep], minlength=e.n) + np.bincount(e.dst[keep], minlength=e.n)


# --------------------------------------------------------------------------------------------
# Centrality
# --------------------------------------------------------------------------------------------


@not_implemented_for("directed")
def degree_centrality(G: nx.Graph) -> dict[Hashable, float]:
    """Degree centrality: the share of the other organisations an organisation works with.

    .. math:: C_D(v) = \\frac{\\deg(v)}{n - 1}

    Parameters
    ----------
    G : networkx.Graph
        Collaboration graph (a stakeholder graph is reduced to it).

    Returns
    -------
    dict
        Node -> centrality in [0, 1]; for a graph of one node, that node gets 1.

    See Also
    --------
    networkx.degree_centrality

    Examples
    --------
    >>> degree_centrality(nx.star_graph(3))
    {0: 1.0, 1: 0.3333333333333333, 2: 0.3333333333333333, 3: 0.3333333333333333}
    """
    return dict(nx.degree_centrality(_analysis_graph(G)))


def _pivots(n: int, k: int | None) -> int | None:
    """Number of sampled sources for ``n`` nodes, or None for exact."""
    if k is None:
        return None if n <= EXACT_BETWEENNESS_MAX_NODES else min(n, DEFAULT_BETWEENNESS_PIVOTS)
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise InvalidInputError(
            f"k must be a positive integer or None, got {k!r}", field="k", value=k
        )
    return None if k >= n else k


def _brandes(A: sp.csr_array, sources: np.ndarray) -> np.ndarray:
    """Sum over ``sources`` of Brandes' dependencies ``delta_s(v)`` (``v != s``).

    Brandes' algorithm level by level on numpy arrays: the BFS frontier is expanded to all its
    neighbours at once (a gather on the CSR arrays), shortest-path counts ``sigma`` are added
    with ``np.add.at``, and the edges of the shortest-path DAG are kept per level, so that the
    dependencies ``delta(v) = sum_w sigma(v) / sigma(w) * (1 + delta(w))`` over successors ``w``
    flow back one level per step. Small graphs run several sources side by side (state arrays
    of ``b * n`` entries, a source's node ``v`` at ``j * n + v``); large ones one at a time, which
    keeps the state arrays in cache. Work per source is proportional to the edges, as in
    Brandes' algorithm.
    """
    n = A.shape[0]
    total = np.zeros(n)
    if n == 0 or len(sources) == 0:
        return total
    indptr = A.indptr.astype(np.int64)
    indices = A.indices.astype(np.int64)
    degree = np.diff(indptr)
    per_batch = int(max(1, min(256, (1 << 18) // n)))
    for start in range(0, len(sources), per_batch):
        src = np.asarray(sources[start : start + per_batch], dtype=np.int64)
        b = len(src)
        level = np.full(b * n, -1, dtype=np.int32)
        sigma = np.zeros(b * n)
        marker = np.empty(b * n, dtype=np.int64)
        roots = np.arange(b, dtype=np.int64) * n + src
        level[roots] = 0
        sigma[roots] = 1.0
        frontier, nodes = roots, src
        dag: list[tuple[np.ndarray, np.ndarray]] = []
        while True:
            fan = degree[nodes]
            count = int(fan.sum())
            if count == 0:
                break
            ends = np.cumsum(fan)
            position = np.repeat(indptr[nodes] - (ends - fan), fan) + np.arange(count)
            parent = np.repeat(frontier, fan)
            child = np.repeat(frontier - nodes, fan) + indices[position]
            new = level[child] < 0
            child, parent = child[new], parent[new]
            if len(child) == 0:
                break
            np.add.at(sigma, child, sigma[parent])
            order = np.arange(len(child))
            marker[child] = order
            frontier = child[marker[child] == order]  # each newly reached node once
            level[frontier] = len(dag) + 1
            nodes = frontier % n if b > 1 else frontier
            dag.append((child, parent))
        delta = np.zeros(b * n)
        for child, parent in reversed(dag):
            np.add.at(delta, parent, sigma[parent] * ((1.0 + delta[child]) / sigma[child]))
        delta[roots] = 0.0
        total += delta.reshape(b, n).sum(axis=0)
    return total


def _betweenness_values(
    e: _Edges, A: sp.csr_array, k: int | None, seed: int | None
) -> tuple[np.ndarray, int | None]:
    n = e.n
    pivots = _pivots(n, k)
    if pivots is None:
        sources = np.arange(n)
        sampled = None
    else:
        # The same sample networkx draws for betweenness_centrality(G, k, seed=seed).
        sampled = np.array(random.Random(seed).sample(range(n), pivots), dtype=np.int64)
        sources = sampled
    raw = _brandes(A, sources)
    # Rescale as networkx does (undirected, normalised, endpoints excluded).
    N = n - 1
    if N < 2:
        return raw, pivots
    if sampled is None:
        return raw * (1 / (N * (N - 1))), pivots
    scale = np.full(n, 1 / (pivots * (N - 1)))
    # networkx gives a sampled source NaN when k == 1 (no data); we give it 0.
    scale[sampled] = 1 / ((pivots - 1) * (N - 1)) if pivots > 1 else 0.0
    return raw * scale, pivots


@not_implemented_for("directed")
def betweenness_centrality(
    G: nx.Graph, k: int | None = None, seed: int | None = 42
) -> dict[Hashable, float]:
    """Betweenness centrality: how often an organisation lies on shortest paths between others.

    Organisations with high betweenness are *brokers*: they connect parts of the network that
    would otherwise be far apart or cut off.

    .. math:: c_B(v) = \\frac{2}{(n-1)(n-2)} \\sum_{s \\ne v \\ne t} \\frac{\\sigma(s, t|v)}{\\sigma(s, t)}

    where :math:`\\sigma(s, t)` is the number of shortest paths between ``s`` and ``t`` and
    :math:`\\sigma(s, t|v)` the number of those through ``v`` (unweighted: every collaboration
    is one step).

    Parameters
    ----------
    G : networkx.Graph
        Collaboration graph (a stakeholder graph is reduced to it).
    k : int or None, optional (default=None)
        Number of sampled source nodes (pivots). ``None`` applies the default rule: exact for
        up to ``EXACT_BETWEENNESS_MAX_NODES`` (2,000) nodes, otherwise
        ``DEFAULT_BETWEENNESS_PIVOTS`` (256) pivots. ``k >= n`` is exact. The cost grows with
        ``sources * edges``: exact on 2,000 organisations is about as much work as 256 pivots on
        16,000.
    seed : int or None, optional (default=42)
        Seed of the pivot sample; the same seed draws the same pivots as
        ``networkx.betweenness_centrality(G, k=k, seed=seed)``, so results agree with it.

    Returns
    -------
    dict
        Node -> normalised betweenness in [0, 1] (estimates when sampled, scaled as networkx
        does).

    Raises
    ------
    InvalidInputError
        If ``k`` is not a positive integer.

    Notes
    -----
    Brandes' algorithm [1]_, batched over sources as sparse matrix products. Estimates from
    pivots follow Brandes and Pich [2]_; the ranking of the strongest brokers is stable with a
    few hundred pivots.

    References
    ----------
    .. [1] Brandes, U. (2001). A faster algorithm for betweenness centrality. Journal of
       Mathematical Sociology 25(2), 163-177.
    .. [2] Brandes, U., Pich, C. (2007). Centrality estimation in large networks.
       International Journal of Bifurcation and Chaos 17(7), 2303-2318.

    Examples
    --------
    The centre of a star lies on every path between two leaves:

    >>> betweenness_centrality(nx.star_graph(3))
    {0: 1.0, 1: 0.0, 2: 0.0, 3: 0.0}
    >>> betweenness_centrality(nx.path_graph(4))
    {0: 0.0, 1: 0.6666666666666666, 2: 0.6666666666666666, 3: 0.0}
    """
    H = _analysis_graph(G)
    e = _edges(H)
    values, _ = _betweenness_values(e, e.adjacency(), k, seed)
    return dict(zip(e.nodes, values.tolist(), strict=True))


def _rank_brokers(
    H: nx.Graph, nodes: list[Hashable], betweenness: np.ndarray, degree: np.ndarray, top: int
) -> list[dict[str, Any]]:
    n = len(nodes)
    centrality = degree / (n - 1) if n > 1 else np.ones(n)
    # Highest betweenness first, then most partners, then input order.
    order = np.lexsort((np.arange(n), -degree, -betweenness))[:top]
    rows = []
    for i in order.tolist():
        data = H.nodes[nodes[i]]
        rows.append(
            {
                "id": nodes[i],
                "name": data.get("name"),
                "kind": data.get("kind"),
                "ags": data.get("ags"),
                "betweenness": float(betweenness[i]),
                "degree_centrality": float(centrality[i]),
                "degree": int(degree[i]),
            }
        )
    return rows


def _check_count(value: Any, field: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidInputError(
            f"{field} must be an integer >= {minimum}, got {value!r}", field=field, value=value
        )
    return value


@not_implemented_for("directed")
def brokers(
    G: nx.Graph, top: int = 20, *, k: int | None = None, seed: int | None = 42
) -> list[dict[str, Any]]:
    """The organisations that broker most between others, with both centralities.

    Parameters
    ----------
    G : networkx.Graph
        Collaboration graph (a stakeholder graph is reduced to it).
    top : int, optional (default=20)
        How many to return.
    k, seed : optional
        Passed to :func:`betweenness_centrality`.

    Returns
    -------
    list of dict
        ``id``, ``name``, ``kind``, ``ags``, ``betweenness``, ``degree_centrality`` and
        ``degree`` (number of partners), by falling betweenness, then degree, then input order.

    Examples
    --------
    Two triangles joined by the bridge 2 -- 3: its ends broker between the triangles.

    >>> G = nx.Graph([(0, 1), (1, 2), (0, 2), (3, 4), (4, 5), (3, 5), (2, 3)])
    >>> [(row["id"], round(row["betweenness"], 3), row["degree"]) for row in brokers(G, top=3)]
    [(2, 0.6, 3), (3, 0.6, 3), (0, 0.0, 2)]
    """
    _check_count(top, "top", 0)
    H = _analysis_graph(G)
    e = _edges(H)
    values, _ = _betweenness_values(e, e.adjacency(), k, seed)
    return _rank_brokers(H, e.nodes, values, _degrees(e), top)


# --------------------------------------------------------------------------------------------
# Communities (Louvain)
# --------------------------------------------------------------------------------------------


class CommunityResult(NamedTuple):
    """Result of :func:`communities`.

    ``membership`` maps each node to its community index; indices run from 0 by falling
    community size (ties: the community whose first node comes first in ``G``). ``sizes[i]`` is
    the size of community ``i``.
    """

    membership: dict[Hashable, int]
    modularity: float
    sizes: list[int]


@not_implemented_for("directed")
def communities(
    G: nx.Graph,
    seed: int | None = 42,
    resolution: float = 1.0,
    *,
    weight: str | None = "weight",
    threshold: float = 1e-7,
) -> CommunityResult:
    """Communities of organisations that work closely together (Louvain, fixed seed).

    Parameters
    ----------
    G : networkx.Graph
        Collaboration graph (a stakeholder graph is reduced to it). Its ``weight`` counts the
        active collaborations between two organisations.
    seed : int or None, optional (default=42)
        Seed of the node order; the same seed gives the same communities.
    resolution : float, optional (default=1.0)
        Below 1 favours larger communities, above 1 smaller ones.
    weight : str or None, optional (default="weight")
        Edge attribute used as weight; ``None`` counts every edge once.
    threshold : float, optional (default=1e-7)
        Stop when a level improves modularity by no more than this.

    Returns
    -------
    CommunityResult
        ``(membership, modularity, sizes)``, see :class:`CommunityResult`.

    Raises
    ------
    InvalidInputError
        If ``resolution`` is not positive.

    Notes
    -----
    The partition is the one of ``networkx.community.louvain_communities(G, weight=weight,
    resolution=resolution, threshold=threshold, seed=seed)`` [1]_: for non-negative integer
    weights the algorithm runs as an exact port on integer ids that revisits a node only when a
    change around it can alter its decision, several times faster on large graphs; for other
    weights networkx itself runs.

    References
    ----------
    .. [1] Blondel, V. D. et al. (2008). Fast unfolding of communities in large networks.
       J. Stat. Mech. 10008.

    Examples
    --------
    Two triangles joined by one bridge are two communities:

    >>> G = nx.Graph([(0, 1), (1, 2), (0, 2), (3, 4), (4, 5), (3, 5), (2, 3)])
    >>> result = communities(G)
    >>> result.membership
    {0: 0, 1: 0, 2: 0, 3: 1, 4: 1, 5: 1}
    >>> round(result.modularity, 4), result.sizes
    (0.3571, [3, 3])
    """
    if not resolution > 0:
        raise InvalidInputError(
            f"resolution must be > 0, got {resolution!r}", field="resolution", value=resolution
        )
    H = _analysis_graph(G)
    return _communities(H, _edges(H, weight), seed, resolution, weight, threshold)


def _communities(
    H: nx.Graph,
    e: _Edges,
    seed: int | None,
    resolution: float,
    weight: str | None,
    threshold: float,
) -> CommunityResult:
    labels = _louvain_labels(H, e, seed, resolution, weight, threshold)
    n = e.n
    if n == 0:
        return CommunityResult({}, 0.0, [])
    # Relabel: largest community first, ties by first appearance.
    sizes = np.bincount(labels)
    first = np.full(len(sizes), n, dtype=np.int64)
    np.minimum.at(first, labels, np.arange(n))
    present = np.flatnonzero(sizes)
    order = present[np.lexsort((first[present], -sizes[present]))]
    relabel = np.empty(len(sizes), dtype=np.int64)
    relabel[order] = np.arange(len(order))
    final = relabel[labels]
    q = _modularity(e, final, len(order), resolution)
    return CommunityResult(
        dict(zip(e.nodes, final.tolist(), strict=True)), q, sizes[order].tolist()
    )


def _modularity(e: _Edges, labels: np.ndarray, count: int, resolution: float) -> float:
    """Modularity of a partition, as ``nx.community.modularity`` (weighted if ``e`` is)."""
    w = np.ones(len(e.src)) if e.weights is None else np.asarray(e.weights, dtype=float)
    degree = np.bincount(e.src, weights=w, minlength=e.n) + np.bincount(
        e.dst, weights=w, minlength=e.n
    )
    deg_sum = float(degree.sum())
    if deg_sum == 0:
        return 0.0
    inside = labels[e.src] == labels[e.dst]
    internal = np.bincount(labels[e.src][inside], weights=w[inside], minlength=count)
    totals = np.bincount(labels, weights=degree, minlength=count)
    return float(
        sum((internal / (deg_sum / 2) - resolution * totals * totals / deg_sum**2).tolist())
    )


def _louvain_labels(
    H: nx.Graph,
    e: _Edges,
    seed: int | None,
    resolution: float,
    weight: str | None,
    threshold: float,
) -> np.ndarray:
    """Community label of each node, the partition of ``nx.community.louvain_communities``."""
    n = e.n
    if len(e.src) == 0:
        return np.arange(n)
    weights = [1] * len(e.src) if e.weights is None else e.weights
    # The port needs exact arithmetic (integers) and non-negative degrees (see _Louvain).
    integral = all(
        (
            (isinstance(w, int) and not isinstance(w, bool))
            or (isinstance(w, float) and w.is_integer())
        )
        and w >= 0
        for w in weights
    )
    if not integral:
        parts = nx.community.louvain_communities(
            H, weight=weight, resolution=resolution, threshold=threshold, seed=seed
        )
        index = {u: i for i, u in enumerate(e.nodes)}
        labels = np.empty(n, dtype=np.int64)
        for label, part in enumerate(parts):
            labels[[index[u] for u in part]] = label
        return labels
    return _Louvain(e.src, e.dst, [int(w) for w in weights], n, resolution, seed).run(threshold)


class _Louvain:
    """Exact port of networkx's Louvain (``louvain_partitions``/``_one_level``/``_gen_graph``)
    for non-negative integer weights on integer node ids.

    networkx's result depends on the order of its dicts: the node order, the order of each
    node's neighbours (as built by ``add_weighted_edges_from(G.edges())`` and by ``_gen_graph``)
    and the order in which neighbouring communities are first met. The level graphs here are CSR
    arrays that keep exactly those orders, and every floating-point expression is evaluated as in
    networkx, so the same seed gives the same partition.

    The speed-up: networkx re-evaluates every node in every pass until a pass moves nobody. A
    node's decision depends only on the communities it considered (those of its neighbours and
    its own), its edge weights to them and their total degrees ``stot``; with integer weights
    all of these are exact. A node that stayed re-decides only if

    - a community it considered lost a member (its gain for it rises; if the member was a
      neighbour, its edge weights changed too), or
    - its own community gained a member (its removal cost changed).

    A community it considered but does not belong to gaining a member (not a neighbour, since a
    neighbour leaves a considered community) only raises that community's ``stot``, which lowers
    (floating-point subtraction and multiplication are monotone) that one gain; the first
    maximal gain, and so the decision, stays. Each community keeps lists of the nodes that
    considered it, members and onlookers apart, and a move marks the affected ones.
    """

    def __init__(
        self,
        src: np.ndarray,
        dst: np.ndarray,
        weights: list[int],
        n: int,
        resolution: float,
        seed: int | None,
    ):
        self.resolution = resolution
        self.rng = random.Random(seed)
        w = np.array(weights, dtype=np.int64)
        loops = src == dst
        # Adjacency in networkx's insertion order: edge i adds v to u's dict, then u to v's.
        heads = np.empty(2 * len(src), dtype=np.int64)
        tails = np.empty_like(heads)
        heads[0::2], heads[1::2] = src, dst
        tails[0::2], tails[1::2] = dst, src
        both = np.repeat(w, 2)
        keep = np.ones(len(heads), dtype=bool)
        keep[1::2] = ~loops  # a self-loop is one dict entry
        heads, tails, both = heads[keep], tails[keep], both[keep]
        order = np.argsort(heads, kind="stable")
        self.n = n
        self.indptr = np.concatenate(([0], np.cumsum(np.bincount(heads, minlength=n))))
        self.indices = tails[order]
        self.data = both[order]

    # -- helpers on the current level graph (self.indptr/indices/data) --

    def _degrees(self) -> np.ndarray:
        heads = np.repeat(np.arange(self.n), np.diff(self.indptr))
        degree = np.bincount(heads, weights=self.data, minlength=self.n)
        loops = heads == self.indices
        degree += np.bincount(heads[loops], weights=self.data[loops], minlength=self.n)
        return degree.astype(np.int64)

    def _traversal(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Edges in the order of ``G.edges()``: rows in order, each edge at its smaller end."""
        heads = np.repeat(np.arange(self.n), np.diff(self.indptr))
        first = self.indices >= heads
        return heads[first], self.indices[first], self.data[first]

    def _modularity(self, labels: np.ndarray, count: int, degree: np.ndarray) -> float:
        u, v, w = self._traversal()
        inside = labels[u] == labels[v]
        internal = np.bincount(labels[u][inside], weights=w[inside], minlength=count)
        totals = np.bincount(labels, weights=degree, minlength=count)
        deg_sum = int(degree.sum())
        m = deg_sum / 2
        norm = 1 / deg_sum**2
        values = internal / m - self.resolution * totals * totals * norm
        return sum(values.tolist())  # sequential, as networkx sums community contributions

    def _aggregate(self, labels: np.ndarray, count: int) -> None:
        """Replace the level graph by its community graph, as ``_gen_graph`` builds it."""
        u, v, w = self._traversal()
        cu, cv = labels[u], labels[v]
        low, high = np.minimum(cu, cv), np.maximum(cu, cv)
        _, first, inverse = np.unique(low * count + high, return_index=True, return_inverse=True)
        total = np.bincount(inverse.ravel(), weights=w).astype(np.int64)
        a, b = cu[first], cv[first]
        other = a != b
        heads = np.concatenate((a, b[other]))
        tails = np.concatenate((b, a[other]))
        when = np.concatenate((first, first[other]))
        weights = np.concatenate((total, total[other]))
        order = np.lexsort((when, heads))
        self.n = count
        self.indptr = np.concatenate(([0], np.cumsum(np.bincount(heads, minlength=count))))
        self.indices = tails[order]
        self.data = weights[order]

    def _one_level(self, degree: np.ndarray, m: float) -> tuple[list[int], bool]:
        n = self.n
        indices = self.indices.tolist()
        data = self.data.tolist()
        bounds = self.indptr.tolist()
        nbrs: list[list[int]] = []
        wts: list[list[int]] = []
        for u in range(n):
            lo, hi = bounds[u], bounds[u + 1]
            row, row_w = indices[lo:hi], data[lo:hi]
            if u in row:
                pairs = [(x, y) for x, y in zip(row, row_w, strict=True) if x != u]
                row, row_w = [x for x, _ in pairs], [y for _, y in pairs]
            nbrs.append(row)
            wts.append(row_w)
        degrees = degree.tolist()
        node2com = list(range(n))
        stot = list(degrees)
        rand_nodes = list(range(n))
        self.rng.shuffle(rand_nodes)
        resolution = self.resolution
        two_m2 = 2 * m**2
        dirty = bytearray(b"\x01") * n
        # A node that stayed registers with the communities it considered, as a member (its
        # own) or an onlooker; a move marks the ones whose decision may change (see the class
        # docstring) and clears their lists, so each registration is visited at most once.
        members: list[list[int]] = [[] for _ in range(n)]
        onlookers: list[list[int]] = [[] for _ in range(n)]
        improvement = False
        nb_moves = 1
        while nb_moves > 0:
            nb_moves = 0
            for u in rand_nodes:
                if not dirty[u]:
                    continue
                dirty[u] = 0
                best_mod = 0
                best_com = own = node2com[u]
                weights2com: dict[int, float] = {}
                get = weights2com.get
                for v, wt in zip(nbrs[u], wts[u], strict=True):
                    c = node2com[v]
                    weights2com[c] = get(c, 0.0) + wt
                degree_u = degrees[u]
                stot[own] -= degree_u
                if own not in weights2com:
                    weights2com[own] = 0.0
                remove_cost = -weights2com[own] / m + resolution * (stot[own] * degree_u) / two_m2
                for nbr_com, wt in weights2com.items():
                    gain = remove_cost + wt / m - resolution * (stot[nbr_com] * degree_u) / two_m2
                    if gain > best_mod:
                        best_mod = gain
                        best_com = nbr_com
                stot[best_com] += degree_u
                if best_com == own:
                    for c in weights2com:
                        if c == own:
                            members[c].append(u)
                        else:
                            onlookers[c].append(u)
                    continue
                node2com[u] = best_com
                improvement = True
                nb_moves += 1
                dirty[u] = 1
                # ``own`` lost u: its members and onlookers may decide differently now (u's
                # neighbours are among them). ``best_com`` gained u: only its members' removal
                # cost changed; for its onlookers its gain can only fall.
                for watchers in (members[own], onlookers[own], members[best_com]):
                    for x in watchers:
                        dirty[x] = 1
                members[own] = []
                onlookers[own] = []
                members[best_com] = []
        return node2com, improvement

    def run(self, threshold: float) -> np.ndarray:
        n0 = self.n
        degree = self._degrees()
        m = int(degree.sum()) / 2
        mod = self._modularity(np.arange(n0), n0, degree)
        member = np.arange(n0)
        com, _ = self._one_level(degree, m)
        while True:
            labels = np.array(com, dtype=np.int64)
            used, labels = np.unique(labels, return_inverse=True)  # keep community order
            labels = labels.ravel()
            member = labels[member]
            new_mod = self._modularity(labels, len(used), degree)
            if new_mod - mod <= threshold:
                break
            mod = new_mod
            self._aggregate(labels, len(used))
            degree = self._degrees()
            com, improvement = self._one_level(degree, m)
            if not improvement:
                break
        return member


# --------------------------------------------------------------------------------------------
# Cross-municipal work, gaps and components
# --------------------------------------------------------------------------------------------


def _group_sort_key(value: Any) -> tuple[bool, str]:
    return (value is None, str(value))


def _cross_share(H: nx.Graph, e: _Edges, by: str) -> dict[Any, dict[str, Any]]:
    values = [H.nodes[u].get(by) for u in e.nodes]
    keys = sorted(set(values), key=_group_sort_key)
    code = {key: i for i, key in enumerate(keys)}
    group = np.array([code[v] for v in values], dtype=np.int64)
    count = len(keys)
    keep = e.src != e.dst
    gu, gv = group[e.src[keep]], group[e.dst[keep]]
    same = gu == gv
    organisations = np.bincount(group, minlength=count)
    internal = np.bincount(gu[same], minlength=count)
    cross = np.bincount(gu[~same], minlength=count) + np.bincount(gv[~same], minlength=count)
    result = {}
    for key, i in code.items():
        total = int(internal[i] + cross[i])
        result[key] = {
            "organisations": int(organisations[i]),
            "collaborations": total,
            "internal": int(internal[i]),
            "cross": int(cross[i]),
            "share": float(cross[i] / total) if total else None,
        }
    return result


@not_implemented_for("directed")
def cross_municipal_share(G: nx.Graph, by: str = "ags") -> dict[Any, dict[str, Any]]:
    """How much of each municipality's collaboration crosses its border.

    For a group ``g`` (a municipality, model region or Kreis) every active collaboration with at
    least one end in ``g`` counts once: it is *internal* if both ends are in ``g`` and *cross*
    otherwise.

    .. math:: \\text{share}(g) = \\frac{\\text{cross}(g)}{\\text{internal}(g) + \\text{cross}(g)}

    Parameters
    ----------
    G : networkx.Graph
        Collaboration graph (a stakeholder graph is reduced to it); nodes carry ``ags``,
        ``model_region`` and ``kreis``.
    by : {"ags", "model_region", "kreis"}, optional (default="ags")
        The node attribute that defines the groups.

    Returns
    -------
    dict
        Group value -> ``organisations``, ``collaborations`` (internal + cross), ``internal``,
        ``cross`` and ``share`` (``None`` without collaborations). Organisations without a value
        form the group ``None`` (for ``model_region``: everyone outside the model regions),
        listed last.

    Raises
    ------
    InvalidInputError
        For another ``by``.

    Examples
    --------
    Three organisations in municipality A, one in B; A works with B once:

    >>> G = nx.Graph([(1, 2), (2, 3), (3, 4)])
    >>> nx.set_node_attributes(G, {1: "A", 2: "A", 3: "A", 4: "B"}, "ags")
    >>> shares = cross_municipal_share(G)
    >>> shares["A"]
    {'organisations': 3, 'collaborations': 3, 'internal': 2, 'cross': 1, 'share': 0.3333333333333333}
    >>> shares["B"]["share"]
    1.0
    """
    if by not in _GROUPINGS:
        raise InvalidInputError(f"by must be one of {_GROUPINGS}, got {by!r}", field="by", value=by)
    H = _analysis_graph(G)
    return _cross_share(H, _edges(H), by)


@not_implemented_for("directed")
def isolated_organisations(G: nx.Graph) -> list[Hashable]:
    """Organisations without any active collaboration, in the order of ``G``.

    A self-loop is no collaboration.

    Examples
    --------
    >>> G = nx.Graph([(1, 2)])
    >>> G.add_node(3)
    >>> isolated_organisations(G)
    [3]
    """
    H = _analysis_graph(G)
    return [u for u in H if len(H[u]) - (u in H[u]) == 0]


@not_implemented_for("directed")
def weakly_connected_organisations(G: nx.Graph, max_degree: int = 1) -> list[Hashable]:
    """Organisations that hang on one thread: at least one but at most ``max_degree`` partners.

    Isolated organisations are not included (see :func:`isolated_organisations`), so the two
    lists never overlap. Self-loops are not partners.

    Parameters
    ----------
    G : networkx.Graph
        Collaboration graph (a stakeholder graph is reduced to it).
    max_degree : int, optional (default=1)
        Largest number of partners that still counts as weak.

    Raises
    ------
    InvalidInputError
        If ``max_degree`` is not an integer >= 1.

    Examples
    --------
    >>> G = nx.star_graph(3)
    >>> G.add_node(9)
    >>> weakly_connected_organisations(G)
    [1, 2, 3]
    """
    _check_count(max_degree, "max_degree", 1)
    H = _analysis_graph(G)
    return [u for u in H if 1 <= len(H[u]) - (u in H[u]) <= max_degree]


def _components(A: sp.csr_array, largest: int) -> dict[str, Any]:
    n = A.shape[0]
    if n == 0:
        return {"nodes": 0, "components": 0, "largest": [], "giant_share": 0.0, "singletons": 0}
    count, labels = connected_components(A, directed=False)
    sizes = np.sort(np.bincount(labels))[::-1]
    return {
        "nodes": int(n),
        "components": int(count),
        "largest": sizes[:largest].tolist(),
        "giant_share": float(sizes[0] / n),
        "singletons": int((sizes == 1).sum()),
    }


@not_implemented_for("directed")
def connected_components_summary(G: nx.Graph, largest: int = 5) -> dict[str, Any]:
    """How fragmented the network is: components, their sizes and the giant component's share.

    Parameters
    ----------
    G : networkx.Graph
        Collaboration graph (a stakeholder graph is reduced to it).
    largest : int, optional (default=5)
        How many of the largest component sizes to list.

    Returns
    -------
    dict
        ``nodes``, ``components`` (count), ``largest`` (sizes, largest first), ``giant_share``
        (share of the nodes in the largest component; 0.0 for an empty graph) and
        ``singletons`` (components of one organisation, i.e. isolated ones).

    Examples
    --------
    >>> G = nx.Graph([(0, 1), (1, 2), (3, 4)])
    >>> G.add_node(5)
    >>> connected_components_summary(G)
    {'nodes': 6, 'components': 3, 'largest': [3, 2, 1], 'giant_share': 0.5, 'singletons': 1}
    """
    _check_count(largest, "largest", 0)
    return _components(_edges(_analysis_graph(G)).adjacency(), largest)


# --------------------------------------------------------------------------------------------
# Dashboard table and the full run
# --------------------------------------------------------------------------------------------


def _municipality_rows(
    H: nx.Graph, e: _Edges, places: Iterable[Any] | None
) -> list[dict[str, Any]]:
    place_list = reference_places() if places is None else [_as_place(p) for p in places]
    shares = _cross_share(H, e, "ags")
    kinds: dict[Any, Counter[str]] = {}
    for u in e.nodes:
        data = H.nodes[u]
        kinds.setdefault(data.get("ags"), Counter())[data.get("kind")] += 1
    rows = []
    for place in place_list:
        share = shares.get(place.ags)
        organisations = share["organisations"] if share else 0
        population = place.population
        rows.append(
            {
                "ags": place.ags,
                "name": place.name,
                "kreis": place.kreis,
                "model_region": place.model_region,
                "population": population,
                "organisations": organisations,
                "by_kind": dict(
                    sorted(kinds.get(place.ags, Counter()).items(), key=lambda kv: str(kv[0]))
                ),
                "collaborations": share["collaborations"] if share else 0,
                "internal": share["internal"] if share else 0,
                "cross": share["cross"] if share else 0,
                "cross_share": share["share"] if share else None,
                "organisations_per_10k": (
                    round(organisations / population * 10_000, 2) if population else None
                ),
            }
        )
    return rows


@not_implemented_for("directed")
def municipality_figures(G: nx.Graph, places: Iterable[Any] | None = None) -> list[dict[str, Any]]:
    """The dashboard table: one row of figures per municipality.

    Parameters
    ----------
    G : networkx.Graph
        Collaboration graph (a stakeholder graph is reduced to it).
    places : iterable, optional (default=None)
        :class:`~network.graph.build.Place`, dicts or reference municipalities; ``None`` means
        the 66 municipalities of the Münsterland. Rows follow this order; organisations in
        other municipalities are not listed.

    Returns
    -------
    list of dict
        ``ags``, ``name``, ``kreis``, ``model_region``, ``population``, ``organisations``,
        ``by_kind`` (kind -> count), ``collaborations``, ``internal``, ``cross``,
        ``cross_share`` (see :func:`cross_municipal_share`) and ``organisations_per_10k``
        (organisations per 10,000 inhabitants, ``None`` without a population).

    Examples
    --------
    >>> from network.graph.build import Place
    >>> G = nx.Graph([(1, 2), (2, 3)])
    >>> nx.set_node_attributes(G, {1: "A", 2: "A", 3: "B"}, "ags")
    >>> nx.set_node_attributes(G, {1: "gp_practice", 2: "pharmacy", 3: "gp_practice"}, "kind")
    >>> places = [Place("A", "Aheim", "Kreis K", 52.0, 7.0, 20_000, None)]
    >>> row = municipality_figures(G, places)[0]
    >>> row["organisations"], row["by_kind"], row["cross_share"], row["organisations_per_10k"]
    (2, {'gp_practice': 1, 'pharmacy': 1}, 0.5, 1.0)
    """
    H = _analysis_graph(G)
    return _municipality_rows(H, _edges(H), places)


@contextmanager
def _timed(timings: dict[str, float], step: str) -> Iterator[None]:
    start = time.perf_counter()
    yield
    timings[step] = round(time.perf_counter() - start, 3)


@not_implemented_for("directed")
def run_all_analyses(
    G: nx.Graph,
    places: Iterable[Any] | None = None,
    *,
    k: int | None = None,
    seed: int | None = 42,
    resolution: float = 1.0,
    reach_km: float = 30.0,
    top: int = 20,
    largest: int = 5,
    max_degree: int = 1,
) -> dict[str, Any]:
    """Every analysis in one call, sharing one array form of the graph (dashboard, benchmark).

    Parameters
    ----------
    G : networkx.Graph
        Stakeholder or collaboration graph.
    places : iterable, optional (default=None)
        For :func:`municipality_figures`; ``None`` means the Münsterland municipalities.
    k, seed : optional
        Betweenness pivots and the seed of both betweenness and Louvain.
    resolution : float, optional (default=1.0)
        Louvain resolution.
    reach_km : float, optional (default=30.0)
        For :func:`~network.graph.placements.placement_coverage`.
    top, largest, max_degree : int, optional
        Brokers listed, component sizes listed, degree limit of weakly connected organisations.

    Returns
    -------
    dict
        ``summary`` (counts and parameters), ``degree_centrality``, ``betweenness``
        (node -> value), ``brokers``, ``communities`` (``membership``, ``modularity``, ``sizes``,
        ``count``), ``cross_municipal`` (by ``ags``, ``model_region`` and ``kreis``),
        ``isolated``, ``weakly_connected``, ``components``, ``municipalities`` (the dashboard
        table), ``placements`` (see :func:`~network.graph.placements.coverage_summary`, with a
        ``coverage`` entry per provider) and ``timings`` (seconds per step).

    Examples
    --------
    >>> G = nx.Graph([(0, 1), (1, 2), (0, 2), (3, 4), (4, 5), (3, 5), (2, 3)])
    >>> result = run_all_analyses(G, places=[])
    >>> result["summary"]["organisations"], result["communities"]["count"]
    (6, 2)
    >>> [row["id"] for row in result["brokers"][:2]]
    [2, 3]
    """
    from network.graph.placements import coverage_summary, placement_coverage

    _check_count(top, "top", 0)
    _check_count(largest, "largest", 0)
    _check_count(max_degree, "max_degree", 1)
    if not resolution > 0:
        raise InvalidInputError(
            f"resolution must be > 0, got {resolution!r}", field="resolution", value=resolution
        )
    timings: dict[str, float] = {}
    with _timed(timings, "collaboration_graph"):
        H = _analysis_graph(G)
    with _timed(timings, "arrays"):
        e = _edges(H, "weight")
        A = e.adjacency()
        degree = _degrees(e)
    n = e.n
    with _timed(timings, "degree_centrality"):
        centrality = dict(
            zip(e.nodes, (degree / (n - 1) if n > 1 else np.ones(n)).tolist(), strict=True)
        )
    with _timed(timings, "betweenness"):
        values, pivots = _betweenness_values(e, A, k, seed)
        betweenness = dict(zip(e.nodes, values.tolist(), strict=True))
        top_brokers = _rank_brokers(H, e.nodes, values, degree, top)
    with _timed(timings, "communities"):
        partition = _communities(H, e, seed, resolution, "weight", 1e-7)
    with _timed(timings, "cross_municipal"):
        cross = {by: _cross_share(H, e, by) for by in _GROUPINGS}
    with _timed(timings, "gaps"):
        isolated = [u for u, d in zip(e.nodes, degree.tolist(), strict=True) if d == 0]
        weak = [u for u, d in zip(e.nodes, degree.tolist(), strict=True) if 1 <= d <= max_degree]
        components = _components(A, largest)
    with _timed(timings, "municipalities"):
        rows = _municipality_rows(H, e, places)
    with _timed(timings, "placements"):
        coverage = placement_coverage(H, reach_km=reach_km)
        placements = coverage_summary(coverage)
        placements["coverage"] = {org: c.as_dict() for org, c in coverage.items()}
    return {
        "summary": {
            "organisations": n,
            "collaborations": H.number_of_edges(),
            "graph_nodes": G.number_of_nodes(),
            "graph_edges": G.number_of_edges(),
            "betweenness_pivots": pivots,
            "seed": seed,
            "resolution": resolution,
            "reach_km": reach_km,
        },
        "degree_centrality": centrality,
        "betweenness": betweenness,
        "brokers": top_brokers,
        "communities": {
            "membership": partition.membership,
            "modularity": partition.modularity,
            "sizes": partition.sizes,
            "count": len(partition.sizes),
        },
        "cross_municipal": cross,
        "isolated": isolated,
        "weakly_connected": weak,
        "components": components,
        "municipalities": rows,
        "placements": placements,
        "timings": timings,
    }
