"""Offline quality of the collaboration suggestions: precision@10 and recall@10 on hidden links.

``python -m benchmarks suggestions-quality --size 3000``

Protocol (identical for every method and network):

1. Build a network of ``size`` organisations with a seeded generator (seeds ``SEEDS``).
2. Hide ``HIDDEN_SHARE`` = 20 % of the collaborations, drawn uniformly with a seeded generator;
   the remaining 80 % are the observed graph. Every method sees only the observed graph (and the
   organisations' attributes).
3. Each method makes up to 10 suggestions per organisation, never an observed partner or the
   organisation itself:

   - ``combined``: :func:`network.matching.suggestions.suggest` with ``DEFAULT_CONFIG``, ``k=10``;
   - ``adamic_adar``: ``networkx.adamic_adar_index`` over all non-adjacent pairs with a common
     neighbour (all other pairs score 0); per organisation its 10 highest with AA > 0, ties by
     id (fewer if it has fewer such pairs);
   - ``random``: 10 organisations drawn uniformly without replacement among the non-adjacent
     ones (seeded).

4. Evaluated organisations: those with at least one hidden link. For each, ``hits`` is the
   number of its suggestions that are hidden partners of it.
   ``precision_at_10 = sum hits / sum suggestions made`` (each list capped at 10) and
   ``recall_at_10 = sum hits / sum hidden partners``, both pooled over the evaluated
   organisations of all seeds. A hidden link counts once from each end.

Networks:

- ``network="synthetic"``: :func:`network.synthetic.generate_network` (``mean_degree=8``).
- ``network="latent_space"``: generated here, differently on purpose, to guard against tuning
  to our own generator: another region (a 120 km square around 50° N 10° E), towns of
  Pareto-distributed size as municipalities, a kind mix that includes 5 % of an unknown kind
  ``"other"`` without tags, per-kind tag profiles drawn at random, a random symmetric kind
  affinity (not our table), lognormal activity per organisation, and links drawn as
  Bernoulli with probability ``∝ activity_i · activity_j · affinity · (1 + d/4 km)^-2.2 ·
  2^complementary_tags`` (a power law in distance, not an exponential), followed by triadic
  closure through random wedges where the two ends share a town or affinity.
- ``network="block_model"``: also generated here: a spatial stochastic block model with kinds
  (blocks of ~100 around their own centres, random kind affinity, Gaussian distance kernel,
  ``1 + complementary tags``, no triadic closure); see :func:`block_model_network`.

Each line: ``bench``, ``size``, ``network``, ``method``, ``seconds`` (mean per seed),
``peak_mb`` (max over seeds, in a forked child), ``precision_at_10``, ``recall_at_10``,
``evaluated`` (organisations), ``per_seed`` precision; the combined line adds
``ratio_vs_adamic_adar`` (its precision / Adamic–Adar's).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Hashable, Iterable
from typing import Any

import networkx as nx
import numpy as np
from scipy.spatial import cKDTree

from benchmarks.harness import measure_in_child
from network.matching.suggestions import DEFAULT_CONFIG, SuggestionConfig, suggest
from network.synthetic import generate_network
from network.vocabulary import TAGS

__all__ = [
    "DEFAULT_SIZES",
    "SEEDS",
    "HIDDEN_SHARE",
    "latent_space_network",
    "block_model_network",
    "split",
    "adamic_adar_top",
    "random_top",
    "combined_top",
    "evaluate",
    "run",
]

DEFAULT_SIZES = (3000,)
SEEDS = (11, 23, 37)
HIDDEN_SHARE = 0.2
K = 10
#: ``combined`` without the relative cut-off: always up to 10 suggestions, for comparison.
FULL_LISTS = dataclasses.replace(DEFAULT_CONFIG, relative_cutoff=math.inf)

Org = dict[str, Any]
Edge = tuple[Hashable, Hashable]


def latent_space_network(
    n: int, seed: int, mean_degree: float = 8.0
) -> tuple[list[Org], list[Edge]]:
    """A differently generated network: latent space with power-law distance decay.

    See the module docstring. Returns plain dicts (the ``suggest`` input) and ``(id, id)``
    pairs; ids are strings ``"o<i>"``.
    """
    rng = np.random.default_rng(seed)
    kinds = [
        "hospital",
        "gp_practice",
        "specialist_practice",
        "care_home",
        "ambulatory_care",
        "therapy_practice",
        "pharmacy",
        "school",
        "sme",
        "municipality",
        "association",
        "other",
    ]
    share = np.array([0.02, 0.2, 0.12, 0.1, 0.1, 0.1, 0.08, 0.04, 0.09, 0.02, 0.08, 0.05])
    kind_of = rng.choice(len(kinds), size=n, p=share / share.sum())
    # Towns: Pareto sizes, uniform centres; organisations scatter around their town.
    towns = max(8, n // 60)
    town_size = rng.pareto(1.2, size=towns) + 1
    centre = rng.uniform(0, 120, size=(towns, 2))
    town_of = rng.choice(towns, size=n, p=town_size / town_size.sum())
    spread = 1.0 + 2.0 * np.sqrt(town_size / town_size.max())
    xy = centre[town_of] + rng.normal(0, 1, size=(n, 2)) * spread[town_of, None]
    lat = 50.0 + (xy[:, 1] - 60) / 111.2
    lon = 10.0 + (xy[:, 0] - 60) / (111.2 * math.cos(math.radians(50.0)))
    # Tag profiles per kind at random (the unknown kind "other" has none).
    tags = list(TAGS)
    offer_p = rng.beta(0.3, 2.0, size=(len(kinds), len(tags)))
    need_p = rng.beta(0.3, 2.0, size=(len(kinds), len(tags)))
    offer_p[kinds.index("other")] = 0
    need_p[kinds.index("other")] = 0
    offers = rng.random((n, len(tags))) < offer_p[kind_of]
    needs = (rng.random((n, len(tags))) < need_p[kind_of]) & ~offers
    affinity = rng.uniform(0.1, 1.0, size=(len(kinds), len(kinds))) ** 2
    affinity = (affinity + affinity.T) / 2
    activity = rng.lognormal(0, 0.7, size=n)

    # Bernoulli links among each organisation's 150 nearest, calibrated to the mean degree.
    tree = cKDTree(xy)
    _d, near = tree.query(xy, k=min(151, n))
    a = np.repeat(np.arange(n), near.shape[1] - 1)
    b = near[:, 1:].ravel()
    keep = a < b
    a, b = a[keep], b[keep]
    distance = np.linalg.norm(xy[a] - xy[b], axis=1)
    complementary = (needs[a] & offers[b]).sum(axis=1) + (needs[b] & offers[a]).sum(axis=1)
    weight = (
        activity[a]
        * activity[b]
        * affinity[kind_of[a], kind_of[b]]
        * (1 + distance / 4.0) ** -2.2
        * 2.0**complementary
    )
    chosen = rng.random(len(weight)) < _calibrated(weight, n * mean_degree / 2 * 0.75)
    edges = {(int(x), int(y)) for x, y in zip(a[chosen], b[chosen], strict=True)}

    # Triadic closure: random wedges close if the ends share a town or fit by kind.
    neighbours: list[list[int]] = [[] for _ in range(n)]
    for x, y in edges:
        neighbours[x].append(y)
        neighbours[y].append(x)
    wanted = int(n * mean_degree / 2 * 0.25)
    middles = [m for m in range(n) if len(neighbours[m]) >= 2]
    attempts = 0
    while wanted > 0 and middles and attempts < 50 * n:
        attempts += 1
        m = middles[int(rng.integers(len(middles)))]
        x, y = rng.choice(neighbours[m], size=2, replace=False)
        x, y = (int(x), int(y)) if x < y else (int(y), int(x))
        fit = affinity[kind_of[x], kind_of[y]] * (1.5 if town_of[x] == town_of[y] else 0.5)
        if (x, y) not in edges and rng.random() < fit:
            edges.add((x, y))
            wanted -= 1

    orgs = [
        {
            "id": f"o{i}",
            "kind": kinds[kind_of[i]],
            "ags": f"T{town_of[i]:04d}",
            "lat": float(lat[i]),
            "lon": float(lon[i]),
            "offers": {tags[t] for t in np.flatnonzero(offers[i])},
            "needs": {tags[t] for t in np.flatnonzero(needs[i])},
        }
        for i in range(n)
    ]
    return orgs, [(f"o{x}", f"o{y}") for x, y in sorted(edges)]


def block_model_network(
    n: int, seed: int, mean_degree: float = 8.0
) -> tuple[list[Org], list[Edge]]:
    """A differently generated network: a spatial stochastic block model with kinds.

    Blocks of about 100 organisations each sit around their own centre in a 120 km square
    (blocks are the municipalities); kinds are uniform over nine (one of them ``"other"``
    without tags), tags are independent draws. A pair within the 200 nearest is linked with
    probability ``∝ affinity(kinds) · (1 if same block else 0.1) · exp(-(d / 20 km)^2) ·
    (1 + complementary tags)``, a Gaussian kernel in distance, with no triadic closure.
    """
    rng = np.random.default_rng(seed)
    kinds = [
        "hospital",
        "gp_practice",
        "specialist_practice",
        "care_home",
        "ambulatory_care",
        "pharmacy",
        "school",
        "sme",
        "other",
    ]
    kind_of = rng.integers(len(kinds), size=n)
    blocks = max(2, n // 100)
    block_of = rng.integers(blocks, size=n)
    centre = rng.uniform(0, 120, size=(blocks, 2))
    xy = centre[block_of] + rng.normal(0, 3.0, size=(n, 2))
    tags = list(TAGS)
    offers = rng.random((n, len(tags))) < 0.08
    needs = (rng.random((n, len(tags))) < 0.08) & ~offers
    offers[kind_of == kinds.index("other")] = False
    needs[kind_of == kinds.index("other")] = False
    affinity = rng.uniform(0.2, 1.0, size=(len(kinds), len(kinds)))
    affinity = (affinity + affinity.T) / 2
    _d, near = cKDTree(xy).query(xy, k=min(201, n))
    a = np.repeat(np.arange(n), near.shape[1] - 1)
    b = near[:, 1:].ravel()
    a, b = a[a < b], b[a < b]
    distance = np.linalg.norm(xy[a] - xy[b], axis=1)
    complementary = (needs[a] & offers[b]).sum(axis=1) + (needs[b] & offers[a]).sum(axis=1)
    weight = (
        affinity[kind_of[a], kind_of[b]]
        * np.where(block_of[a] == block_of[b], 1.0, 0.1)
        * np.exp(-((distance / 20.0) ** 2))
        * (1.0 + complementary)
    )
    chosen = rng.random(len(weight)) < _calibrated(weight, n * mean_degree / 2)
    lat = 50.0 + (xy[:, 1] - 60) / 111.2
    lon = 10.0 + (xy[:, 0] - 60) / (111.2 * math.cos(math.radians(50.0)))
    orgs = [
        {
            "id": f"b{i}",
            "kind": kinds[kind_of[i]],
            "ags": f"B{block_of[i]:04d}",
            "lat": float(lat[i]),
            "lon": float(lon[i]),
            "offers": {tags[t] for t in np.flatnonzero(offers[i])},
            "needs": {tags[t] for t in np.flatnonzero(needs[i])},
        }
        for i in range(n)
    ]
    return orgs, [(f"b{x}", f"b{y}") for x, y in zip(a[chosen], b[chosen], strict=True)]


def _calibrated(weight: np.ndarray, expected_links: float) -> np.ndarray:
    """Link probabilities ``min(1, c · weight)`` with ``c`` such that they sum to the target."""
    scale = expected_links / weight.sum()
    for _ in range(20):  # capped probabilities: rescale until the expected count fits
        scale *= expected_links / max(float(np.minimum(1.0, scale * weight).sum()), 1e-9)
    return np.minimum(1.0, scale * weight)


def _synthetic(n: int, seed: int) -> tuple[list[Any], list[Edge]]:
    orgs, collaborations = generate_network(n, seed=seed, mean_degree=8)
    return orgs, [(c.source, c.target) for c in collaborations]


NETWORKS: dict[str, Callable[[int, int], tuple[list[Any], list[Edge]]]] = {
    "synthetic": _synthetic,
    "latent_space": latent_space_network,
    "block_model": block_model_network,
}


def split(
    edges: list[Edge], seed: int, share: float = HIDDEN_SHARE
) -> tuple[list[Edge], list[Edge]]:
    """``(observed, hidden)``: a seeded uniform ``share`` of the edges is hidden."""
    rng = np.random.default_rng(seed)
    hidden = rng.random(len(edges)) < share
    observed = [e for e, h in zip(edges, hidden, strict=True) if not h]
    return observed, [e for e, h in zip(edges, hidden, strict=True) if h]


def _id_of(org: Any) -> Hashable:
    return org["id"] if isinstance(org, dict) else org.id


def combined_top(
    orgs: list[Any], observed: list[Edge], k: int = K, config: SuggestionConfig = DEFAULT_CONFIG
) -> dict[Hashable, list]:
    """Our ``suggest``: the targets of each list."""
    result = suggest(orgs, observed, k=k, config=config)
    return {source: [s.target for s in items] for source, items in result.items()}


def adamic_adar_top(nodes: Iterable[Hashable], observed: list[Edge], k: int = K) -> dict:
    """networkx Adamic–Adar over all non-adjacent pairs with AA > 0; top ``k`` per node."""
    graph = nx.Graph()
    graph.add_nodes_from(nodes)
    graph.add_edges_from(observed)
    pairs = set()
    for z in graph:
        partners = sorted(graph[z])
        for x_pos, x in enumerate(partners):
            for y in partners[x_pos + 1 :]:
                if not graph.has_edge(x, y):
                    pairs.add((x, y))
    scores: dict[Hashable, list[tuple[float, Hashable]]] = {v: [] for v in graph}
    for u, v, value in nx.adamic_adar_index(graph, sorted(pairs)):
        if value > 0:
            scores[u].append((-value, v))
            scores[v].append((-value, u))
    return {v: [t for _, t in sorted(items)[:k]] for v, items in scores.items()}


def random_top(nodes: list[Hashable], observed: list[Edge], seed: int, k: int = K) -> dict:
    """``k`` uniform non-adjacent organisations per organisation (seeded)."""
    rng = np.random.default_rng(seed)
    adjacent: dict[Hashable, set] = {v: {v} for v in nodes}
    for u, v in observed:
        adjacent[u].add(v)
        adjacent[v].add(u)
    result = {}
    for v in nodes:
        picks: list[Hashable] = []
        seen = set(adjacent[v])
        while len(picks) < min(k, len(nodes) - len(adjacent[v])):
            candidate = nodes[int(rng.integers(len(nodes)))]
            if candidate not in seen:
                seen.add(candidate)
                picks.append(candidate)
        result[v] = picks
    return result


def evaluate(
    lists: dict[Hashable, list], hidden: list[Edge], k: int = K
) -> tuple[int, int, int, int]:
    """``(hits, suggestions made, hidden partners, evaluated organisations)`` of ``lists``."""
    truth: dict[Hashable, set] = {}
    for u, v in hidden:
        truth.setdefault(u, set()).add(v)
        truth.setdefault(v, set()).add(u)
    hits = made = relevant = 0
    for v, partners in truth.items():
        suggested = lists.get(v, [])[:k]
        hits += sum(1 for t in suggested if t in partners)
        made += len(suggested)
        relevant += len(partners)
    return hits, made, relevant, len(truth)


def run(size: int) -> Iterable[dict]:
    """One line per network and method, pooled over ``SEEDS``."""
    for network, generate in NETWORKS.items():
        totals: dict[str, dict[str, Any]] = {}
        for seed in SEEDS:
            orgs, edges = generate(size, seed)
            observed, hidden = split(edges, seed + 1000)
            nodes = [_id_of(o) for o in orgs]
            methods = {
                "combined": lambda orgs=orgs, observed=observed: combined_top(orgs, observed),
                "combined_full_lists": lambda orgs=orgs, observed=observed: combined_top(
                    orgs, observed, config=FULL_LISTS
                ),
                "adamic_adar": lambda nodes=nodes, observed=observed: adamic_adar_top(
                    nodes, observed
                ),
                "random": lambda nodes=nodes, observed=observed, seed=seed: random_top(
                    nodes, observed, seed + 2000
                ),
            }
            for method, fn in methods.items():
                m = measure_in_child(fn)
                hits, made, relevant, evaluated = evaluate(m.result, hidden)
                t = totals.setdefault(
                    method,
                    {
                        "hits": 0,
                        "made": 0,
                        "relevant": 0,
                        "evaluated": 0,
                        "seconds": [],
                        "peak": 0.0,
                        "per_seed": [],
                    },
                )
                t["hits"] += hits
                t["made"] += made
                t["relevant"] += relevant
                t["evaluated"] += evaluated
                t["seconds"].append(m.seconds)
                t["peak"] = max(t["peak"], m.peak_mb)
                t["per_seed"].append(round(hits / made, 4) if made else 0.0)
        precision = {m: t["hits"] / t["made"] if t["made"] else 0.0 for m, t in totals.items()}
        for method, t in totals.items():
            row = {
                "bench": "suggestions-quality",
                "size": size,
                "network": network,
                "method": method,
                "seconds": round(float(np.mean(t["seconds"])), 3),
                "peak_mb": t["peak"],
                "precision_at_10": round(precision[method], 4),
                "recall_at_10": round(t["hits"] / t["relevant"], 4) if t["relevant"] else 0.0,
                "evaluated": t["evaluated"],
                "suggestions_per_org": round(t["made"] / t["evaluated"], 2)
                if t["evaluated"]
                else 0,
                "seeds": list(SEEDS),
                "per_seed": t["per_seed"],
            }
            if method.startswith("combined") and precision["adamic_adar"] > 0:
                row["ratio_vs_adamic_adar"] = round(precision[method] / precision["adamic_adar"], 3)
            yield row
