"""Benchmark: build the stakeholder graph and run every coordinator analysis.

``python -m benchmarks graph --size N`` generates the synthetic network of ``N`` organisations
(``network.synthetic.generate_network(N, mean_degree=8)``, outside the timing), then measures in
a forked child: :func:`network.graph.build_graph` plus :func:`network.graph.run_all_analyses`
(collaboration graph, centralities and brokers, Louvain communities, cross-municipal shares,
gaps, components, the municipality table and the nursing placement coverage).

Lines: one ``graph`` line per size with ``seconds``, ``cpu_seconds`` (CPU time tells a slow
machine from a busy one) and ``peak_mb`` of the whole run, ``nodes`` and ``edges`` of the
stakeholder graph and some result figures; one line per step (``step`` key; its ``peak_mb`` is
the whole run's); and up to ``BASELINE_MAX_SIZE`` a ``graph-baseline`` line comparing
betweenness and Louvain with networkx's own functions on the same graph and pivots.
Target: 100,000 organisations in under 60 s and 4 GB on two cores.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import networkx as nx

from benchmarks.harness import measure_in_child
from network.graph import build_graph, collaboration_graph, run_all_analyses
from network.graph.analysis import _pivots
from network.synthetic import generate_network

DEFAULT_SIZES = (10_000, 100_000)
#: The networkx baseline runs only up to this size (it needs minutes above it).
BASELINE_MAX_SIZE = 20_000


def _pipeline(organisations: list[Any], collaborations: list[Any]) -> dict[str, Any]:
    cpu = time.process_time()
    start = time.perf_counter()
    G = build_graph(organisations, collaborations)
    build_seconds = time.perf_counter() - start
    result = run_all_analyses(G)
    return {
        "nodes": G.number_of_nodes(),
        "edges": G.number_of_edges(),
        "build_seconds": round(build_seconds, 3),
        "summary": result["summary"],
        "communities": result["communities"]["count"],
        "modularity": round(result["communities"]["modularity"], 4),
        "giant_share": round(result["components"]["giant_share"], 4),
        "isolated": len(result["isolated"]),
        "providers": result["placements"]["providers"],
        "complete_coverage": result["placements"]["complete"],
        "timings": result["timings"],
        "cpu_seconds": round(time.process_time() - cpu, 3),
    }


def _ours(organisations: list[Any], collaborations: list[Any]) -> dict[str, Any]:
    from network.graph import betweenness_centrality, communities

    H = collaboration_graph(build_graph(organisations, collaborations))
    start = time.perf_counter()
    betweenness_centrality(H, seed=42)
    communities(H, seed=42)
    return {"seconds": time.perf_counter() - start}


def _networkx(organisations: list[Any], collaborations: list[Any]) -> dict[str, Any]:
    H = collaboration_graph(build_graph(organisations, collaborations))
    start = time.perf_counter()
    nx.betweenness_centrality(H, k=_pivots(H.number_of_nodes(), None), seed=42)
    nx.community.louvain_communities(H, seed=42)
    return {"seconds": time.perf_counter() - start}


def run(size: int) -> Iterator[dict[str, Any]]:
    organisations, collaborations = generate_network(size, mean_degree=8)
    measured = measure_in_child(lambda: _pipeline(organisations, collaborations))
    r = measured.result
    yield {
        "bench": "graph",
        "size": size,
        "seconds": round(measured.seconds, 3),
        "peak_mb": measured.peak_mb,
        "cpu_seconds": r["cpu_seconds"],
        "nodes": r["nodes"],
        "edges": r["edges"],
        "organisations": r["summary"]["organisations"],
        "collaborations": r["summary"]["collaborations"],
        "betweenness_pivots": r["summary"]["betweenness_pivots"],
        "communities": r["communities"],
        "modularity": r["modularity"],
        "giant_share": r["giant_share"],
        "isolated": r["isolated"],
        "placement_providers": r["providers"],
        "placement_complete": r["complete_coverage"],
    }
    for step, seconds in {"build": r["build_seconds"], **r["timings"]}.items():
        yield {
            "bench": "graph",
            "size": size,
            "step": step,
            "seconds": seconds,
            "peak_mb": measured.peak_mb,
        }
    if size <= BASELINE_MAX_SIZE:
        ours = measure_in_child(lambda: _ours(organisations, collaborations))
        baseline = measure_in_child(lambda: _networkx(organisations, collaborations))
        yield {
            "bench": "graph-baseline",
            "size": size,
            "step": "betweenness+louvain",
            "seconds": round(ours.result["seconds"], 3),
            "peak_mb": ours.peak_mb,
            "baseline": "networkx betweenness_centrality(k, seed) + louvain_communities(seed)",
            "baseline_seconds": round(baseline.result["seconds"], 3),
            "baseline_peak_mb": baseline.peak_mb,
            "ratio": round(baseline.result["seconds"] / ours.result["seconds"], 2),
        }
