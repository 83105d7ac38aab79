"""Analyses on tiny named graphs with values worked out by hand, and agreement with networkx."""

from __future__ import annotations

import copy
import json

import networkx as nx
import pytest

import network.graph.analysis as analysis
from network.graph import (
    Collaboration,
    GraphTypeError,
    InvalidInputError,
    OrgNode,
    Place,
    betweenness_centrality,
    brokers,
    build_graph,
    collaboration_graph,
    communities,
    connected_components_summary,
    cross_municipal_share,
    degree_centrality,
    isolated_organisations,
    municipality_figures,
    run_all_analyses,
    weakly_connected_organisations,
)
from network.synthetic import generate_network


def two_triangles() -> nx.Graph:
    """Triangles {0, 1, 2} and {3, 4, 5}, joined by the bridge 2 -- 3."""
    return nx.Graph([(0, 1), (1, 2), (0, 2), (3, 4), (4, 5), (3, 5), (2, 3)])


def synthetic_collaboration_graph(n: int = 400, seed: int = 11) -> nx.Graph:
    organisations, collaborations = generate_network(n, seed=seed)
    return collaboration_graph(build_graph(organisations, collaborations))


def snapshot(G: nx.Graph):
    return copy.deepcopy((list(G.nodes(data=True)), list(G.edges(data=True)), dict(G.graph)))


class TestDegreeCentrality:
    def test_star(self):
        # Centre 0 works with all 4 others: 4/4; each leaf with one of 4.
        assert degree_centrality(nx.star_graph(4)) == {0: 1.0, 1: 0.25, 2: 0.25, 3: 0.25, 4: 0.25}

    def test_single_node(self):
        G = nx.Graph()
        G.add_node("solo")
        assert degree_centrality(G) == {"solo": 1}


class TestBetweenness:
    def test_star_centre_is_the_broker(self):
        # Every pair of the 4 leaves (6 pairs) has its only shortest path through 0.
        bc = betweenness_centrality(nx.star_graph(4))
        assert bc[0] == pytest.approx(1.0)
        assert all(bc[leaf] == 0 for leaf in range(1, 5))

    def test_path(self):
        # Path 0-1-2-3-4, C(4,2) = 6 pairs without v: node 1 on 3 of them, node 2 on 4.
        bc = betweenness_centrality(nx.path_graph(5))
        assert bc == pytest.approx({0: 0.0, 1: 0.5, 2: 4 / 6, 3: 0.5, 4: 0.0})

    def test_bridge_nodes(self):
        # 2 lies on the paths between {0, 1} and {3, 4, 5}: 6 of the C(5,2) = 10 pairs.
        bc = betweenness_centrality(two_triangles())
        assert bc == pytest.approx({0: 0, 1: 0, 2: 0.6, 3: 0.6, 4: 0, 5: 0})

    @pytest.mark.parametrize(
        "G",
        [
            nx.karate_club_graph(),
            nx.gnm_random_graph(120, 300, seed=3),
            nx.barbell_graph(5, 3),
            nx.disjoint_union(nx.cycle_graph(7), nx.path_graph(4)),
        ],
        ids=["karate", "gnm", "barbell", "disconnected"],
    )
    def test_exact_matches_networkx(self, G):
        assert betweenness_centrality(G) == pytest.approx(nx.betweenness_centrality(G), abs=1e-12)

    @pytest.mark.parametrize("k, seed", [(10, 1), (25, 42), (1, 7)])
    def test_sampled_matches_networkx_with_the_same_pivots(self, k, seed):
        G = nx.gnm_random_graph(80, 200, seed=5)
        expected = nx.betweenness_centrality(G, k=k, seed=seed)
        expected = {v: 0.0 if x != x else x for v, x in expected.items()}  # NaN when k == 1
        assert betweenness_centrality(G, k=k, seed=seed) == pytest.approx(expected, abs=1e-12)

    def test_default_rule_samples_above_the_exact_limit(self, monkeypatch):
        monkeypatch.setattr(analysis, "EXACT_BETWEENNESS_MAX_NODES", 10)
        monkeypatch.setattr(analysis, "DEFAULT_BETWEENNESS_PIVOTS", 6)
        G = nx.gnm_random_graph(30, 70, seed=2)
        expected = nx.betweenness_centrality(G, k=6, seed=42)
        assert betweenness_centrality(G) == pytest.approx(expected, abs=1e-12)

    def test_k_at_least_n_is_exact(self):
        G = nx.karate_club_graph()
        assert betweenness_centrality(G, k=1000) == pytest.approx(nx.betweenness_centrality(G))

    @pytest.mark.parametrize("k", [0, -3, 2.5, True])
    def test_bad_k(self, k):
        with pytest.raises(InvalidInputError):
            betweenness_centrality(nx.path_graph(4), k=k)

    def test_empty_and_tiny_graphs(self):
        assert betweenness_centrality(nx.Graph()) == {}
        assert betweenness_centrality(nx.path_graph(2)) == {0: 0.0, 1: 0.0}


class TestBrokers:
    def test_star(self):
        G = nx.star_graph(3)
        nx.set_node_attributes(G, {0: "Netzwerk"}, "name")
        top = brokers(G, top=2)
        assert top[0] == {
            "id": 0,
            "name": "Netzwerk",
            "kind": None,
            "ags": None,
            "betweenness": pytest.approx(1.0),
            "degree_centrality": 1.0,
            "degree": 3,
        }
        assert [row["id"] for row in top] == [0, 1]

    def test_bridge_nodes_first(self):
        assert [row["id"] for row in brokers(two_triangles(), top=2)] == [2, 3]

    def test_top_zero_and_bad_top(self):
        assert brokers(two_triangles(), top=0) == []
        with pytest.raises(InvalidInputError):
            brokers(two_triangles(), top=-1)


class TestCommunities:
    def test_two_triangles(self):
        result = communities(two_triangles())
        assert result.membership == {0: 0, 1: 0, 2: 0, 3: 1, 4: 1, 5: 1}
        assert result.sizes == [3, 3]
        # m = 7; each triangle: 3 internal edges, degree sum 7 -> 2 * (3/7 - (7/14)^2).
        assert result.modularity == pytest.approx(2 * (3 / 7 - 0.25))

    def test_deterministic_with_the_seed(self):
        G = synthetic_collaboration_graph()
        assert communities(G, seed=3) == communities(G, seed=3)

    @pytest.mark.parametrize("seed", [1, 42])
    @pytest.mark.parametrize("weight", ["weight", None])
    @pytest.mark.parametrize("resolution", [1.0, 0.5, 2.0])
    def test_same_partition_as_networkx_louvain(self, seed, weight, resolution):
        for G in (
            nx.karate_club_graph(),  # float-valued integer weights
            nx.les_miserables_graph(),
            nx.relaxed_caveman_graph(12, 6, 0.2, seed=4),
            synthetic_collaboration_graph(),
        ):
            result = communities(G, seed=seed, resolution=resolution, weight=weight)
            expected = nx.community.louvain_communities(
                G, seed=seed, resolution=resolution, weight=weight
            )
            groups = {}
            for node, label in result.membership.items():
                groups.setdefault(label, set()).add(node)
            assert sorted(map(sorted, groups.values())) == sorted(map(sorted, expected))
            assert result.modularity == pytest.approx(
                nx.community.modularity(G, expected, weight=weight, resolution=resolution)
            )
            assert result.sizes == sorted(result.sizes, reverse=True)

    @pytest.mark.parametrize("odd", [0.1, -1], ids=["fraction", "negative"])
    def test_other_weights_use_networkx(self, odd):
        G = nx.Graph()
        G.add_weighted_edges_from(
            [(0, 1, 1), (1, 2, 3), (2, 0, 2), (2, 3, odd), (3, 4, 4), (4, 5, 1)]
        )
        expected = nx.community.louvain_communities(G, seed=42)
        groups = {}
        for node, label in communities(G).membership.items():
            groups.setdefault(label, set()).add(node)
        assert sorted(map(sorted, groups.values())) == sorted(map(sorted, expected))

    def test_graph_without_edges(self):
        G = nx.empty_graph(3)
        assert communities(G) == ({0: 0, 1: 1, 2: 2}, 0.0, [1, 1, 1])
        assert communities(nx.Graph()) == ({}, 0.0, [])

    def test_bad_resolution(self):
        with pytest.raises(InvalidInputError):
            communities(two_triangles(), resolution=0)


def four_organisations() -> nx.Graph:
    """1, 2, 3 in municipality A (model region "mr", Kreis K), 4 in B (no region, Kreis K);
    collaborations 1-2, 2-3 (inside A) and 3-4, 1-4 (across)."""
    G = nx.Graph([(1, 2), (2, 3), (3, 4), (1, 4)])
    nx.set_node_attributes(G, {1: "A", 2: "A", 3: "A", 4: "B"}, "ags")
    nx.set_node_attributes(G, {1: "mr", 2: "mr", 3: "mr", 4: None}, "model_region")
    nx.set_node_attributes(G, dict.fromkeys(G, "K"), "kreis")
    return G


class TestCrossMunicipalShare:
    def test_by_municipality(self):
        assert cross_municipal_share(four_organisations()) == {
            "A": {"organisations": 3, "collaborations": 4, "internal": 2, "cross": 2, "share": 0.5},
            "B": {"organisations": 1, "collaborations": 2, "internal": 0, "cross": 2, "share": 1.0},
        }

    def test_by_model_region_and_kreis(self):
        G = four_organisations()
        by_region = cross_municipal_share(G, by="model_region")
        assert list(by_region) == ["mr", None]
        assert by_region["mr"]["share"] == 0.5
        by_kreis = cross_municipal_share(G, by="kreis")
        assert by_kreis == {
            "K": {"organisations": 4, "collaborations": 4, "internal": 4, "cross": 0, "share": 0.0}
        }

    def test_only_active_collaborations_of_a_stakeholder_graph_count(self):
        places = [
            Place("00000001", "A", "K", 52.0, 7.0, 100, None),
            Place("00000002", "B", "K", 52.1, 7.0, 100, None),
        ]
        organisations = [
            OrgNode(1, "gp_practice", "", "00000001", 52.0, 7.0),
            OrgNode(2, "gp_practice", "", "00000001", 52.0, 7.0),
            OrgNode(3, "pharmacy", "", "00000002", 52.1, 7.0),
        ]
        collaborations = [
            Collaboration(1, 2, "cooperation"),
            Collaboration(2, 3, "referral", status="ended"),
            Collaboration(1, 3, "referral", status="proposed"),
        ]
        shares = cross_municipal_share(build_graph(organisations, collaborations, places))
        assert shares["00000001"]["collaborations"] == 1
        assert shares["00000001"]["share"] == 0.0
        assert shares["00000002"] == {
            "organisations": 1,
            "collaborations": 0,
            "internal": 0,
            "cross": 0,
            "share": None,
        }

    def test_bad_grouping(self):
        with pytest.raises(InvalidInputError):
            cross_municipal_share(four_organisations(), by="postcode")


class TestGaps:
    def graph(self) -> nx.Graph:
        G = nx.star_graph(3)  # 0 in the centre, leaves 1, 2, 3
        G.add_edge(3, 4)
        G.add_nodes_from([8, 9])
        return G

    def test_isolated(self):
        assert isolated_organisations(self.graph()) == [8, 9]

    def test_weakly_connected(self):
        assert weakly_connected_organisations(self.graph()) == [1, 2, 4]
        assert weakly_connected_organisations(self.graph(), max_degree=2) == [1, 2, 3, 4]

    def test_lists_are_disjoint(self):
        G = self.graph()
        assert not set(isolated_organisations(G)) & set(weakly_connected_organisations(G, 5))

    @pytest.mark.parametrize("bad", [0, -1, 1.5])
    def test_bad_max_degree(self, bad):
        with pytest.raises(InvalidInputError):
            weakly_connected_organisations(self.graph(), max_degree=bad)


class TestComponents:
    def test_summary(self):
        G = nx.Graph([(0, 1), (1, 2), (2, 3), (5, 6)])
        G.add_nodes_from([7, 8])
        assert connected_components_summary(G, largest=2) == {
            "nodes": 8,
            "components": 4,
            "largest": [4, 2],
            "giant_share": 0.5,
            "singletons": 2,
        }

    def test_empty(self):
        assert connected_components_summary(nx.Graph())["components"] == 0


class TestMunicipalityFigures:
    def test_rows(self):
        G = four_organisations()
        nx.set_node_attributes(
            G, {1: "gp_practice", 2: "pharmacy", 3: "gp_practice", 4: "sme"}, "kind"
        )
        places = [
            Place("A", "Aheim", "K", 52.0, 7.0, 30_000, "mr"),
            Place("B", "Bedorf", "K", 52.1, 7.0, None, None),
            Place("C", "Cestadt", "K", 52.2, 7.0, 1_000, None),
        ]
        rows = municipality_figures(G, places)
        assert [row["ags"] for row in rows] == ["A", "B", "C"]
        assert rows[0] == {
            "ags": "A",
            "name": "Aheim",
            "kreis": "K",
            "model_region": "mr",
            "population": 30_000,
            "organisations": 3,
            "by_kind": {"gp_practice": 2, "pharmacy": 1},
            "collaborations": 4,
            "internal": 2,
            "cross": 2,
            "cross_share": 0.5,
            "organisations_per_10k": 1.0,
        }
        assert rows[1]["organisations_per_10k"] is None
        assert rows[2]["organisations"] == 0 and rows[2]["cross_share"] is None

    def test_default_places_are_the_muensterland(self):
        rows = municipality_figures(synthetic_collaboration_graph())
        assert len(rows) == 66
        assert sum(row["organisations"] for row in rows) == 400


class TestRunAll:
    def test_consistent_with_the_single_functions_and_json_ready(self):
        organisations, collaborations = generate_network(400, seed=11)
        G = build_graph(organisations, collaborations)
        before = snapshot(G)
        result = run_all_analyses(G, top=5)
        assert snapshot(G) == before
        H = collaboration_graph(G)
        assert result["summary"]["organisations"] == 400
        assert result["summary"]["collaborations"] == H.number_of_edges()
        assert result["brokers"] == brokers(H, top=5)
        assert result["communities"]["membership"] == communities(H).membership
        assert result["cross_municipal"]["kreis"] == cross_municipal_share(H, by="kreis")
        assert result["isolated"] == isolated_organisations(H)
        assert result["weakly_connected"] == weakly_connected_organisations(H)
        assert result["components"] == connected_components_summary(H)
        assert result["municipalities"] == municipality_figures(H)
        assert result["placements"]["providers"] == len(result["placements"]["coverage"])
        assert set(result["timings"]) >= {"betweenness", "communities", "placements"}
        json.dumps(result)


ANALYSES = [
    degree_centrality,
    betweenness_centrality,
    brokers,
    communities,
    cross_municipal_share,
    isolated_organisations,
    weakly_connected_organisations,
    connected_components_summary,
    municipality_figures,
    run_all_analyses,
]


@pytest.mark.parametrize("fn", ANALYSES, ids=lambda fn: fn.__name__)
def test_rejects_directed_graphs(fn):
    with pytest.raises(GraphTypeError):
        fn(nx.DiGraph([(1, 2)]))


@pytest.mark.parametrize("fn", ANALYSES, ids=lambda fn: fn.__name__)
def test_does_not_mutate_the_graph(fn):
    G = four_organisations()
    nx.set_node_attributes(G, dict.fromkeys(G, "sme"), "kind")
    before = snapshot(G)
    if fn is municipality_figures or fn is run_all_analyses:
        fn(G, [Place("A", "Aheim", "K", 52.0, 7.0, 10, None)])
    else:
        fn(G)
    assert snapshot(G) == before
