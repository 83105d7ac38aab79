"""Refreshing everyone's top-10 collaboration suggestions, against bare Adamic–Adar.

``python -m benchmarks suggestions --size 100000``: a synthetic network of ``size``
organisations (:func:`network.synthetic.generate_network`, ``mean_degree=8``, seeded; built
before any timer starts), then, each in its own forked child
(:func:`benchmarks.harness.measure_in_child`, so ``peak_mb`` is that solver's own peak,
inputs included):

- ``method="suggest"``: :func:`network.matching.suggestions.suggest` with ``k=10`` for every
  organisation, the whole public call (encoding, calibration, candidates, scoring, the lists
  of :class:`Suggestion` objects; their reasons are built on first access). With
  ``baseline_seconds`` and ``ratio`` = ours / bare sparse Adamic–Adar.
- ``method="suggest_with_reasons"``: the same call, then every suggestion's reasons and
  signals read, as an app storing them would.
- ``method="sparse_adamic_adar"``: the bare baseline. ``S = A · diag(1/log deg) · A`` as a
  scipy CSR product, existing edges and the diagonal removed, the 10 highest per row (one
  ``argsort`` of ``row · span - value``). No geography, tags, kinds or reasons.
- ``method="networkx_adamic_adar"``: ``networkx.adamic_adar_index`` over all non-adjacent
  pairs and the 10 highest per node, against ``suggest`` at the same size (``ratio`` = ours /
  networkx). It takes quadratic time, so it runs at ``size`` when ``size <= 2000``, and
  otherwise once, at 2000, alongside the first of ``DEFAULT_SIZES``.

Every line also has ``cpu_seconds``: the solver's own CPU time, which other load on a shared
machine inflates far less than the wall-clock ``seconds``.

Targets: ``suggest`` at 100,000 under 10 s and 4 GB, within a few times bare Adamic–Adar.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable, Iterable
from typing import Any

import networkx as nx
import numpy as np
import scipy.sparse as sp

from benchmarks.harness import measure_in_child
from network.matching.suggestions import suggest
from network.synthetic import generate_network

__all__ = ["DEFAULT_SIZES", "NETWORKX_SIZE", "SEED", "sparse_adamic_adar_top", "run"]

DEFAULT_SIZES = (10000, 100000)
#: The size of the networkx comparison (its all-pairs index takes a few seconds there).
NETWORKX_SIZE = 2000
SEED = 20260501
K = 10


def _network(size: int) -> tuple[list[Any], list[tuple[int, int]]]:
    orgs, collaborations = generate_network(size, seed=SEED, mean_degree=8)
    return orgs, [(c.source, c.target) for c in collaborations]


def sparse_adamic_adar_top(n: int, pairs: np.ndarray, k: int = K) -> tuple[np.ndarray, np.ndarray]:
    """Top ``k`` Adamic–Adar partners per node from index pairs: ``(rows, cols)`` kept.

    ``A · diag(1/log deg) · A`` with scipy, the existing edges and the diagonal masked, then
    per row the ``k`` largest values (ties in any order).
    """
    rows = np.concatenate((pairs[:, 0], pairs[:, 1]))
    cols = np.concatenate((pairs[:, 1], pairs[:, 0]))
    adjacency = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    adjacency.data[:] = 1.0
    degree = np.asarray(adjacency.sum(axis=1)).ravel()
    weight = np.zeros(n)
    weight[degree > 1] = 1.0 / np.log(degree[degree > 1])
    scores = (adjacency @ sp.diags(weight) @ adjacency).tocsr()
    scores = scores - scores.multiply(adjacency)  # mask existing edges
    scores.setdiag(0)
    scores.eliminate_zeros()
    coo = scores.tocoo()
    if coo.nnz == 0:
        return coo.row, coo.col
    span = float(coo.data.max()) + 1.0
    order = np.argsort(coo.row * span - coo.data)
    row = coo.row[order]
    first = np.searchsorted(row, row, side="left")
    keep = order[(np.arange(len(order)) - first) < k]
    return coo.row[keep], coo.col[keep]


def _networkx_top(nodes: list[int], pairs: list[tuple[int, int]], k: int = K) -> int:
    graph = nx.Graph()
    graph.add_nodes_from(nodes)
    graph.add_edges_from(pairs)
    best: dict[int, list[tuple[float, int]]] = {v: [] for v in nodes}
    for u, v, value in nx.adamic_adar_index(graph):
        if value <= 0:
            continue
        for a, b in ((u, v), (v, u)):
            heap = best[a]
            if len(heap) < k:
                heapq.heappush(heap, (value, b))
            elif value > heap[0][0]:
                heapq.heapreplace(heap, (value, b))
    return sum(len(h) for h in best.values())


def _ours(orgs: list[Any], pairs: list[tuple[int, int]], explain: bool = False) -> int:
    result = suggest(orgs, pairs, k=K)
    if explain:
        for items in result.values():
            for s in items:
                _ = s.reasons
    return sum(len(items) for items in result.values())


def _cpu(fn: Callable[[], Any]) -> Callable[[], tuple[Any, float]]:
    """``fn`` returning also its CPU seconds (robust to other load on the machine)."""

    def timed() -> tuple[Any, float]:
        start = time.process_time()
        result = fn()
        return result, time.process_time() - start

    return timed


def run(size: int) -> Iterable[dict]:
    """The lines of one size (see the module docstring)."""
    orgs, pairs = _network(size)
    index = {o.id: i for i, o in enumerate(orgs)}
    index_pairs = np.array([(index[a], index[b]) for a, b in pairs], dtype=np.int64).reshape(-1, 2)
    ours = measure_in_child(_cpu(lambda: _ours(orgs, pairs)))
    explained = measure_in_child(_cpu(lambda: _ours(orgs, pairs, explain=True)))
    bare = measure_in_child(_cpu(lambda: len(sparse_adamic_adar_top(len(orgs), index_pairs)[0])))
    common = {"bench": "suggestions", "size": size, "links": len(pairs)}
    yield {
        **common,
        "method": "suggest",
        "seconds": round(ours.seconds, 3),
        "peak_mb": ours.peak_mb,
        "cpu_seconds": round(ours.result[1], 3),
        "suggestions": ours.result[0],
        "baseline_seconds": round(bare.seconds, 3),
        "ratio": round(ours.seconds / bare.seconds, 2),
    }
    yield {
        **common,
        "method": "suggest_with_reasons",
        "seconds": round(explained.seconds, 3),
        "peak_mb": explained.peak_mb,
        "cpu_seconds": round(explained.result[1], 3),
        "suggestions": explained.result[0],
        "baseline_seconds": round(bare.seconds, 3),
        "ratio": round(explained.seconds / bare.seconds, 2),
    }
    yield {
        **common,
        "method": "sparse_adamic_adar",
        "seconds": round(bare.seconds, 3),
        "peak_mb": bare.peak_mb,
        "cpu_seconds": round(bare.result[1], 3),
        "suggestions": bare.result[0],
    }
    if size <= NETWORKX_SIZE or size == DEFAULT_SIZES[0]:
        yield _networkx_line(min(size, NETWORKX_SIZE))


def _networkx_line(size: int) -> dict:
    orgs, pairs = _network(size)
    nodes = [o.id for o in orgs]
    ours = measure_in_child(_cpu(lambda: _ours(orgs, pairs)))
    peer = measure_in_child(_cpu(lambda: _networkx_top(nodes, pairs)))
    return {
        "bench": "suggestions",
        "size": size,
        "links": len(pairs),
        "method": "networkx_adamic_adar",
        "seconds": round(peer.seconds, 3),
        "peak_mb": peer.peak_mb,
        "cpu_seconds": round(peer.result[1], 3),
        "suggestions": peer.result[0],
        "ours_seconds": round(ours.seconds, 3),
        "ours_cpu_seconds": round(ours.result[1], 3),
        "baseline_seconds": round(peer.seconds, 3),
        "ratio": round(ours.seconds / peer.seconds, 3),
    }
