"""GraphML, GEXF and Cytoscape.js exports, read back with networkx."""

from __future__ import annotations

import copy
import io
import json
from datetime import date

import networkx as nx
import pytest

from network.graph import (
    Collaboration,
    GraphError,
    OrgNode,
    Place,
    UnsupportedFormatError,
    betweenness_centrality,
    build_graph,
    collaboration_graph,
    to_cytoscape,
    to_gexf,
    to_graphml,
    write_graph,
)

PLACES = [
    Place("00000001", "Nullstadt", "Kreis A", 52.0, 7.0, 10_000, "demo"),
    Place("00000002", "Zehndorf", "Kreis A", 52.09, 7.0, 5_000, None),
]


def stakeholder_graph() -> nx.MultiGraph:
    organisations = [
        OrgNode(
            1,
            "hospital",
            "Klinikum Nullstadt",
            "00000001",
            52.0,
            7.0,
            offers={"telemedicine", "training:nursing"},
        ),
        OrgNode(2, "care_home", "Haus am Park", "00000001", 52.01, 7.01, needs={"childcare"}),
        OrgNode(3, "gp_practice", "Praxis Dr. Vogel", "00000002", 52.09, 7.0),
    ]
    collaborations = [
        Collaboration(1, 2, "training", since=date(2019, 9, 1)),
        Collaboration(1, 2, "telemedicine"),
        Collaboration(1, 3, "referral", status="ended"),
    ]
    return build_graph(organisations, collaborations, PLACES)


def snapshot(G):
    return copy.deepcopy((list(G.nodes(data=True)), list(G.edges(data=True)), dict(G.graph)))


class TestGraphML:
    def test_round_trip(self, tmp_path):
        G = stakeholder_graph()
        before = snapshot(G)
        path = tmp_path / "network.graphml"
        to_graphml(G, path)
        assert snapshot(G) == before
        back = nx.read_graphml(path)
        assert back.is_multigraph()
        assert back.number_of_nodes() == G.number_of_nodes() == 5
        assert back.number_of_edges() == G.number_of_edges()
        hospital = back.nodes["1"]
        assert hospital["kind"] == "hospital"
        assert hospital["name"] == "Klinikum Nullstadt"
        assert hospital["offers"] == "telemedicine;training:nursing"
        assert hospital["lat"] == pytest.approx(52.0)
        assert hospital["synthetic"] is False
        assert back.nodes["ags:00000001"]["population"] == 10_000
        assert "model_region" not in back.nodes["ags:00000002"]  # None is left out
        kinds = sorted(
            (d["kind"], d.get("status"), d.get("since"))
            for _, _, d in back.edges(data=True)
            if d["layer"] == "collaboration"
        )
        assert kinds == [
            ("referral", "ended", None),
            ("telemedicine", "active", None),
            ("training", "active", "2019-09-01"),
        ]
        assert back.graph["graph_type"] == "stakeholder"

    def test_collaboration_graph_to_buffer(self):
        H = collaboration_graph(stakeholder_graph())
        buffer = io.BytesIO()
        to_graphml(H, buffer)
        back = nx.read_graphml(io.BytesIO(buffer.getvalue()))
        assert not back.is_multigraph()
        assert back.number_of_edges() == 1
        assert back.edges["1", "2"]["kinds"] == "telemedicine;training"
        assert back.edges["1", "2"]["weight"] == 2


class TestGEXF:
    def test_round_trip(self, tmp_path):
        G = stakeholder_graph()
        before = snapshot(G)
        path = tmp_path / "network.gexf"
        to_gexf(G, path)
        assert snapshot(G) == before
        back = nx.read_gexf(path)
        assert back.number_of_nodes() == G.number_of_nodes()
        assert back.number_of_edges() == G.number_of_edges()
        assert back.nodes["1"]["label"] == "Klinikum Nullstadt"
        assert back.nodes["1"]["kind"] == "hospital"
        assert back.nodes["2"]["needs"] == "childcare"
        assert back.nodes["ags:00000002"]["population"] == 5_000
        since = sorted(d.get("since", "") for _, _, d in back.edges(data=True))
        assert "2019-09-01" in since


class TestCytoscape:
    def test_elements(self):
        G = stakeholder_graph()
        data = to_cytoscape(G)
        json.dumps(data)
        assert data["multigraph"] is True and data["directed"] is False
        nodes = {n["data"]["id"]: n["data"] for n in data["elements"]["nodes"]}
        assert set(nodes) == {"1", "2", "3", "ags:00000001", "ags:00000002"}
        assert nodes["1"] == {
            "id": "1",
            "label": "Klinikum Nullstadt",
            "layer": "organisation",
            "kind": "hospital",
            "ags": "00000001",
            "kreis": "Kreis A",
            "model_region": "demo",
            "lat": 52.0,
            "lon": 7.0,
            "size": 2,  # two active collaborations; the ended one does not count
        }
        assert nodes["3"]["size"] == 0
        edges = [e["data"] for e in data["elements"]["edges"]]
        assert len(edges) == G.number_of_edges()
        assert len({e["id"] for e in edges}) == len(edges)
        training = next(e for e in edges if e.get("kind") == "training")
        assert training == {
            "id": training["id"],
            "source": "1",
            "target": "2",
            "layer": "collaboration",
            "kind": "training",
            "status": "active",
            "since": "2019-09-01",
        }

    def test_metrics_and_extra(self):
        H = collaboration_graph(stakeholder_graph())
        bc = betweenness_centrality(H)
        data = to_cytoscape(H, metrics=bc, extra={"community": {1: 0, 2: 0, 3: 1}})
        nodes = {n["data"]["id"]: n["data"] for n in data["elements"]["nodes"]}
        assert nodes["1"]["size"] == bc[1]
        assert nodes["3"]["community"] == 1
        (edge,) = data["elements"]["edges"]
        assert edge["data"]["kind"] == "multiple"
        assert edge["data"]["kinds"] == ["telemedicine", "training"]
        assert edge["data"]["weight"] == 2


class TestWriteGraph:
    @pytest.mark.parametrize("name", ["g.graphml", "g.GEXF", "g.json"])
    def test_formats(self, tmp_path, name):
        G = stakeholder_graph()
        path = write_graph(G, tmp_path / name)
        assert path.exists() and path.stat().st_size > 0
        if name.endswith("json"):
            data = json.loads(path.read_text(encoding="utf-8"))
            assert len(data["elements"]["nodes"]) == G.number_of_nodes()

    @pytest.mark.parametrize("name", ["g.csv", "graph"])
    def test_unknown_extension(self, tmp_path, name):
        with pytest.raises(UnsupportedFormatError) as info:
            write_graph(stakeholder_graph(), tmp_path / name)
        assert isinstance(info.value, GraphError)
        assert "nicht unterstützt" in info.value.text()
        assert not (tmp_path / name).exists()
