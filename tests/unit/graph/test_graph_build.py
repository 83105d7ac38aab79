"""Building the stakeholder graph and the collaboration graph from plain inputs."""

from __future__ import annotations

import copy
from datetime import date

import networkx as nx
import pytest

from network.graph import (
    Collaboration,
    DuplicateOrganisationError,
    GraphError,
    GraphTypeError,
    InvalidInputError,
    OrgNode,
    Place,
    UnknownOrganisationError,
    build_graph,
    collaboration_graph,
    municipality_node,
    reference_places,
)
from network.synthetic import generate_network

RHEINE = "05566076"
LENGERICH = "05566040"

# Three made-up places on one meridian: 0 km, 10 km and 40 km north of the first.
PLACES = [
    Place("00000001", "Nullstadt", "Kreis A", 52.0, 7.0, 10_000, None),
    {
        "ags": "00000002",
        "name": "Zehndorf",
        "kreis": "Kreis A",
        "lat": 52.0 + 10 / 111.2,
        "lon": 7.0,
        "population": 5_000,
        "model_region": "demo",
    },
    Place("00000003", "Vierzighausen", "Kreis B", 52.0 + 40 / 111.2, 7.0, 2_000, None),
]


def orgs():
    return [
        OrgNode(1, "hospital", "Klinikum", RHEINE, 52.28, 7.44, offers={"telemedicine"}),
        {
            "id": 2,
            "kind": "care_home",
            "name": "Haus Ems",
            "ags": RHEINE,
            "lat": 52.29,
            "lon": 7.45,
        },
        OrgNode(3, "school", "Pflegeschule", LENGERICH, 52.17, 7.86),
        OrgNode(4, "pharmacy", "Apotheke", LENGERICH, None, None),
    ]


def edges():
    return [
        Collaboration(1, 2, "training", since=date(2020, 1, 1)),
        {"source": 1, "target": 2, "kind": "Telemedizin", "since": "2022-03-01"},
        {"source": 2, "target": 3, "kind": "Kooperation"},
        Collaboration(3, 4, "referral", status="ended"),
    ]


class TestBuildGraph:
    def test_layers_and_counts(self):
        G = build_graph(orgs(), edges())
        assert isinstance(G, nx.MultiGraph)
        assert G.graph["graph_type"] == "stakeholder"
        layers = nx.get_node_attributes(G, "layer")
        assert sum(1 for v in layers.values() if v == "organisation") == 4
        assert sum(1 for v in layers.values() if v == "municipality") == 66
        by_layer = {}
        for _, _, d in G.edges(data=True):
            by_layer[d["layer"]] = by_layer.get(d["layer"], 0) + 1
        assert by_layer["collaboration"] == 4
        assert by_layer["located_in"] == 4
        assert by_layer["neighbour"] > 0

    def test_organisation_attributes(self):
        G = build_graph(orgs(), edges())
        assert G.nodes[1] == {
            "layer": "organisation",
            "kind": "hospital",
            "name": "Klinikum",
            "ags": RHEINE,
            "kreis": "Kreis Steinfurt",
            "model_region": "rheine",
            "lat": 52.28,
            "lon": 7.44,
            "offers": frozenset({"telemedicine"}),
            "needs": frozenset(),
            "synthetic": False,
            "approximate_location": False,
        }
        assert G.nodes[3]["model_region"] == "ladbergen-lengerich-lienen-tecklenburg"

    def test_missing_coordinates_fall_back_to_municipality_centre(self):
        G = build_graph(orgs(), edges())
        lengerich = G.nodes[municipality_node(LENGERICH)]
        assert (G.nodes[4]["lat"], G.nodes[4]["lon"]) == (lengerich["lat"], lengerich["lon"])
        assert G.nodes[4]["approximate_location"] is True

    def test_municipality_nodes(self):
        G = build_graph(orgs(), edges())
        node = G.nodes["ags:05566076"]
        assert node["layer"] == "municipality"
        assert node["kind"] == "place"
        assert node["name"] == "Rheine"
        assert node["population"] > 70_000
        assert G.has_edge(1, "ags:05566076")
        assert G.edges[1, "ags:05566076", 0]["layer"] == "located_in"

    def test_collaboration_edges_are_typed_with_labels_turned_into_codes(self):
        G = build_graph(orgs(), edges())
        found = sorted(
            (u, v, d["kind"], d["status"], d["since"])
            for u, v, d in G.edges(data=True)
            if d["layer"] == "collaboration"
        )
        assert found == [
            (1, 2, "telemedicine", "active", date(2022, 3, 1)),
            (1, 2, "training", "active", date(2020, 1, 1)),
            (2, 3, "cooperation", "active", None),
            (3, 4, "referral", "ended", None),
        ]

    def test_neighbour_edges_within_neighbour_km(self):
        G = build_graph([], [], PLACES, neighbour_km=15.0)
        neighbours = [
            (u, v, d["distance_km"]) for u, v, d in G.edges(data=True) if d["layer"] == "neighbour"
        ]
        assert len(neighbours) == 1
        u, v, distance = neighbours[0]
        assert {u, v} == {"ags:00000001", "ags:00000002"}
        assert distance == pytest.approx(10.0, abs=0.05)
        assert G.nodes["ags:00000002"]["model_region"] == "demo"
        assert len(build_graph([], [], PLACES, neighbour_km=45.0).edges()) == 3

    def test_without_locations(self):
        G = build_graph(orgs(), edges(), include_locations=False)
        assert set(G) == {1, 2, 3, 4}
        assert G.nodes[2]["kreis"] == "Kreis Steinfurt"
        assert all(d["layer"] == "collaboration" for _, _, d in G.edges(data=True))

    def test_organisation_outside_places(self):
        G = build_graph([OrgNode(1, "sme", "Firma", "09162000", 48.1, 11.6)], [], PLACES)
        assert G.nodes[1]["kreis"] is None
        assert G.nodes[1]["model_region"] is None
        assert list(G.edges(1)) == []

    def test_accepts_synthetic_dataclasses(self):
        organisations, collaborations = generate_network(300, seed=7)
        G = build_graph(organisations, collaborations)
        organisation_nodes = [n for n, d in G.nodes(data=True) if d["layer"] == "organisation"]
        assert organisation_nodes == [o.id for o in organisations]
        collab = [d for _, _, d in G.edges(data=True) if d["layer"] == "collaboration"]
        assert len(collab) == len(collaborations)
        assert all(d["status"] == "active" for d in collab)
        assert G.nodes[1]["synthetic"] is False and G.nodes[300]["synthetic"] is True

    def test_integer_ags_is_zero_padded(self):
        G = build_graph(
            [{"id": "x", "kind": "sme", "name": "", "ags": 5566076, "lat": 1, "lon": 2}], []
        )
        assert G.nodes["x"]["ags"] == RHEINE

    def test_inputs_not_mutated(self):
        organisations, collaborations, places = orgs(), edges(), copy.deepcopy(PLACES)
        before = copy.deepcopy((organisations, collaborations, places))
        build_graph(organisations, collaborations, places)
        assert (organisations, collaborations, places) == before


class TestBuildGraphErrors:
    @pytest.mark.parametrize("role, edge", [("source", (99, 1)), ("target", (1, "ghost"))])
    def test_unknown_node_id_names_the_id(self, role, edge):
        collaboration = Collaboration(edge[0], edge[1], "cooperation")
        with pytest.raises(UnknownOrganisationError) as info:
            build_graph(orgs(), [collaboration])
        unknown = edge[0] if role == "source" else edge[1]
        assert info.value.params == {"id": unknown, "role": role}
        assert repr(unknown) in str(info.value)
        assert isinstance(info.value, GraphError)
        assert "unbekannte Organisation" in info.value.text()

    def test_municipality_key_is_no_organisation(self):
        with pytest.raises(UnknownOrganisationError):
            build_graph(orgs(), [Collaboration(1, "ags:05566076", "cooperation")])

    def test_duplicate_id(self):
        with pytest.raises(DuplicateOrganisationError):
            build_graph(orgs() + [OrgNode(1, "sme", "Zweite", RHEINE, 52.0, 7.0)], [])

    def test_id_colliding_with_municipality_key(self):
        with pytest.raises(DuplicateOrganisationError):
            build_graph([OrgNode("ags:05566076", "sme", "Firma", RHEINE, 52.0, 7.0)], [])

    def test_self_collaboration(self):
        with pytest.raises(InvalidInputError):
            build_graph(orgs(), [Collaboration(1, 1, "cooperation")])

    @pytest.mark.parametrize(
        "bad",
        [
            {"source": 1, "target": 2, "kind": "friendship"},
            {"source": 1, "target": 2, "kind": "cooperation", "status": "maybe"},
            {"source": 1, "target": 2, "kind": "cooperation", "since": "last spring"},
            {"source": 1, "kind": "cooperation"},
        ],
    )
    def test_malformed_collaboration(self, bad):
        with pytest.raises(InvalidInputError):
            build_graph(orgs(), [bad])

    def test_unknown_organisation_kind(self):
        with pytest.raises(InvalidInputError) as info:
            build_graph([OrgNode(1, "castle", "Burg", RHEINE, 52.0, 7.0)], [])
        assert info.value.params["field"] == "kind"

    def test_negative_neighbour_km(self):
        with pytest.raises(InvalidInputError):
            build_graph([], [], neighbour_km=-1)


class TestCollaborationGraph:
    def test_active_only_merged_and_isolated_kept(self):
        G = build_graph(orgs(), edges())
        H = collaboration_graph(G)
        assert type(H) is nx.Graph
        assert H.graph["graph_type"] == "collaboration"
        assert list(H) == [1, 2, 3, 4]
        assert sorted(H.edges()) == [(1, 2), (2, 3)]
        assert H.edges[1, 2] == {
            "kinds": ("telemedicine", "training"),
            "weight": 2,
            "since": date(2020, 1, 1),
        }
        assert H.degree(4) == 0
        assert H.nodes[1]["kind"] == "hospital"

    def test_statuses(self):
        H = collaboration_graph(build_graph(orgs(), edges()), statuses=("active", "ended"))
        assert H.has_edge(3, 4)

    def test_stakeholder_graph_not_mutated(self):
        G = build_graph(orgs(), edges())
        nodes, edge_list = (
            copy.deepcopy(dict(G.nodes(data=True))),
            list(G.edges(keys=True, data=True)),
        )
        snapshot = copy.deepcopy(edge_list)
        H = collaboration_graph(G)
        H.nodes[1]["name"] = "changed"
        assert dict(G.nodes(data=True)) == nodes
        assert list(G.edges(keys=True, data=True)) == snapshot

    def test_rejects_directed(self):
        with pytest.raises(GraphTypeError):
            collaboration_graph(nx.DiGraph([(1, 2)]))


def test_reference_places():
    places = reference_places()
    assert len(places) == 66
    assert {p.kreis for p in places} >= {"Kreis Steinfurt", "Kreis Borken"}
    assert sum(p.model_region is not None for p in places) == 10


class TestAdapters:
    def test_synthetic_organisation_and_collaboration(self):
        from network.graph.build import _as_edge, _as_org

        organisations, collaborations = generate_network(80, seed=3)
        synthetic = organisations[-1]
        org = _as_org(synthetic)
        assert (org.id, org.kind, org.ags, org.offers) == (
            synthetic.id,
            synthetic.kind,
            synthetic.ags,
            synthetic.offers,
        )
        edge = _as_edge(collaborations[0])
        assert edge == Collaboration(
            collaborations[0].source,
            collaborations[0].target,
            collaborations[0].kind,
            "active",
            collaborations[0].since,
        )

    def test_place_from_reference_municipality(self):
        from network.graph.build import _as_place
        from network.reference import load_municipalities

        rheine = next(m for m in load_municipalities() if m.ags == RHEINE)
        place = _as_place(rheine)
        assert (place.lat, place.lon) == (rheine.latitude, rheine.longitude)
        assert place.model_region == "rheine"
        assert _as_place({"ags": RHEINE, "name": "Rheine"}).model_region == "rheine"

    def test_dataclasses_validate(self):
        assert (
            Collaboration(1, 2, "Ausbildungsverbund/Praxiseinsatz", status="Aktiv").status
            == "active"
        )
        with pytest.raises(InvalidInputError):
            OrgNode(1, "hospital", "X", RHEINE, "north", 7.0)
        with pytest.raises(InvalidInputError):
            Place(None, "Nowhere", None, None, None, None, None)
