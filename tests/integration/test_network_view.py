"""The coordinators' network view: graph JSON filters, aggregation, analyses, cache, exports, CLI."""

from __future__ import annotations

import csv
import io
import json
import time
from datetime import date

import networkx as nx
import pytest
import sqlalchemy as sa

from network.extensions import db
from network.models import Collaboration, Job
from network.network_view import dashboard
from network.network_view.adapter import NetworkFilters, load_network
from tests.conftest import TEST_PASSWORD

LENGERICH = "05566040"
TECKLENBURG = "05566088"
RHEINE = "05566076"
MUENSTER = "05515000"
OELDE = "05570028"
LLLT = "ladbergen-lengerich-lienen-tecklenburg"


@pytest.fixture(autouse=True)
def _fresh_cache():
    dashboard.clear_cache()
    yield
    dashboard.clear_cache()


@pytest.fixture
def network(app, make_org):
    """A small hand-made network of six organisations in five municipalities.

    Active: L1–L2 (referral), L1–T1 (training), T1–R1 (telemedicine), R1–M1 (training).
    Not active: L2–T1 (ended), L1–M1 (proposed). O1 in Oelde has no partner.
    """
    orgs = {
        "L1": make_org(
            "Klinikum Lengerich",
            kind="hospital",
            ags=LENGERICH,
            offers=["placement:acute_inpatient"],
        ),
        "L2": make_org(
            "Kinderarztpraxis Lengerich",
            kind="gp_practice",
            ags=LENGERICH,
            offers=["placement:paediatric"],
        ),
        "T1": make_org(
            "Haus am Teuto",
            kind="care_home",
            ags=TECKLENBURG,
            offers=["placement:longterm_inpatient"],
        ),
        "R1": make_org("Hausarztpraxis Rheine", kind="gp_practice", ags=RHEINE),
        "M1": make_org("Pflegeschule Münster", kind="school", ags=MUENSTER),
        "O1": make_org("Apotheke Oelde", kind="pharmacy", ags=OELDE),
    }
    edges = [
        ("L1", "L2", "referral", "active"),
        ("L1", "T1", "training", "active"),
        ("T1", "R1", "telemedicine", "active"),
        ("R1", "M1", "training", "active"),
        ("L2", "T1", "cooperation", "ended"),
        ("L1", "M1", "training", "proposed"),
    ]
    for u, v, kind, status in edges:
        a, b = sorted((orgs[u].id, orgs[v].id))
        db.session.add(
            Collaboration(
                org_a_id=a,
                org_b_id=b,
                kind=kind,
                status=status,
                confirmed_a=True,
                confirmed_b=status != "proposed",
                since=date(2023, 1, 1),
                ended_on=date(2024, 1, 1) if status == "ended" else None,
            )
        )
    db.session.commit()
    return {name: org.id for name, org in orgs.items()}


@pytest.fixture
def coordinator(app, make_user):
    user = make_user("coordinator")
    client = app.test_client()
    client.post("/konto/anmelden", data={"email": user.email, "password": TEST_PASSWORD})
    return client


def graph(client, **args):
    response = client.get("/netzwerk/graph.json", query_string=args)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def names(payload, ids):
    by_id = {str(v): k for k, v in ids.items()}
    nodes = {by_id[n["data"]["id"]] for n in payload["elements"]["nodes"]}
    edges = {
        tuple(sorted((by_id[e["data"]["source"]], by_id[e["data"]["target"]])))
        for e in payload["elements"]["edges"]
    }
    return nodes, edges


@pytest.mark.parametrize(
    ("args", "nodes", "edges"),
    [
        ({}, "L1 L2 T1 R1 M1 O1", "L1-L2 L1-T1 R1-T1 M1-R1"),
        ({"kreis": "05566"}, "L1 L2 T1 R1", "L1-L2 L1-T1 R1-T1"),
        ({"model_region": LLLT}, "L1 L2 T1", "L1-L2 L1-T1"),
        ({"kind": ["gp_practice", "school"]}, "L2 R1 M1", "M1-R1"),
        ({"edge_kind": "training"}, "L1 L2 T1 R1 M1 O1", "L1-T1 M1-R1"),
        (
            {"kreis": "05566", "edge_kind": ["training", "telemedicine"]},
            "L1 L2 T1 R1",
            "L1-T1 R1-T1",
        ),
        ({"model_region": ["rheine", "oelde"]}, "R1 O1", ""),
        ({"model_region": LLLT, "partners": "1"}, "L1 L2 T1 R1", "L1-L2 L1-T1 R1-T1"),
        ({"kind": "school", "partners": "1"}, "M1 R1", "M1-R1"),
        ({"edge_kind": "training", "partners": "1"}, "L1 L2 T1 R1 M1 O1", "L1-T1 M1-R1"),
    ],
)
def test_graph_json_filters_return_exactly_the_expected_nodes(
    coordinator, network, args, nodes, edges
):
    payload = graph(coordinator, **args)
    assert payload["view"] == "organisations" and payload["too_large"] is False
    found_nodes, found_edges = names(payload, network)
    assert found_nodes == set(nodes.split())
    assert found_edges == {tuple(sorted(pair.split("-"))) for pair in edges.split()}


def test_graph_json_nodes_carry_kind_metrics_and_profile_links(coordinator, network):
    payload = graph(coordinator, model_region=LLLT)
    node = next(
        n["data"] for n in payload["elements"]["nodes"] if n["data"]["id"] == str(network["L1"])
    )
    assert node["label"] == "Klinikum Lengerich" and node["kind"] == "hospital"
    assert node["url"] == f"/verzeichnis/{network['L1']}"
    assert node["partners"] == 2 and node["betweenness"] == pytest.approx(1.0)
    assert node["model_region"] == LLLT and node["kreis"] == "Kreis Steinfurt"


def test_graph_json_refuses_unknown_filters(coordinator, network):
    response = coordinator.get("/netzwerk/graph.json?kreis=99999&view=alles")
    assert response.status_code == 400
    errors = response.get_json()["errors"]
    assert "Unbekannter Kreis" in errors["kreis"] and "view" in errors


def test_large_selections_are_drawn_as_municipalities_or_communities(
    app, coordinator, network, monkeypatch
):
    monkeypatch.setitem(app.config, "NETWORK_VIEW_MAX_DRAWN_NODES", 5)
    payload = graph(coordinator)
    assert payload["view"] == "municipalities" and payload["too_large"] is True
    assert payload["organisations"] == 6 and payload["max_nodes"] == 5
    nodes = {n["data"]["id"]: n["data"] for n in payload["elements"]["nodes"]}
    assert set(nodes) == {f"m:{ags}" for ags in (LENGERICH, TECKLENBURG, RHEINE, MUENSTER, OELDE)}
    assert nodes[f"m:{LENGERICH}"]["size"] == 2 and nodes[f"m:{LENGERICH}"]["internal"] == 1
    assert nodes[f"m:{LENGERICH}"]["url"] == f"/verzeichnis/?ags={LENGERICH}"
    weights = {
        tuple(sorted((e["data"]["source"], e["data"]["target"]))): e["data"]["weight"]
        for e in payload["elements"]["edges"]
    }
    assert weights == {
        (f"m:{LENGERICH}", f"m:{TECKLENBURG}"): 1,
        (f"m:{RHEINE}", f"m:{TECKLENBURG}"): 1,
        (f"m:{MUENSTER}", f"m:{RHEINE}"): 1,
    }
    communities = graph(coordinator, view="communities")
    assert communities["view"] == "communities"
    sizes = sorted(n["data"]["size"] for n in communities["elements"]["nodes"])
    assert sum(sizes) == 5  # the isolated pharmacy forms no community of its own
    # A filtered selection under the limit is drawn organisation by organisation again.
    assert graph(coordinator, model_region=LLLT)["view"] == "organisations"


def test_dashboard_shows_figures_brokers_gaps_and_placements(coordinator, network):
    response = coordinator.get("/netzwerk/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    for text in (
        "Netzwerk der Gesundheitsregion",
        'id="table-brokers"',
        'id="table-municipalities"',
        'id="table-model-regions"',
        'id="table-isolated"',
        "Apotheke Oelde",
        'id="table-placement-gaps"',
        'data-graph-url="/netzwerk/graph.json"',
        "vendor/cytoscape/cytoscape.min.js",
    ):
        assert text in page, text
    filtered = coordinator.get(f"/netzwerk/?model_region={LLLT}&kind=hospital&kind=care_home")
    assert filtered.status_code == 200
    text = filtered.get_data(as_text=True)
    assert f"model_region={LLLT}" in text and "Hausarztpraxis Rheine" not in text
    # The cross-border share of a selection says that it counts only pairs inside it, and offers
    # the same view with the partners outside.
    assert "nur innerhalb der Auswahl" in text and "partners=1" in text
    joined = coordinator.get(f"/netzwerk/?model_region={LLLT}&partners=1").get_data(as_text=True)
    assert "nur innerhalb der Auswahl" not in joined
    bad = coordinator.get("/netzwerk/?kind=unbekannt")
    assert bad.status_code == 400
    assert "Unbekannte Art der Organisation: unbekannt." in bad.get_data(as_text=True)


def test_analysis_finds_brokers_gaps_and_placement_candidates(app, network):
    with app.test_request_context():
        analysis = dashboard.compute_analysis(NetworkFilters())
    assert analysis.summary["organisations"] == 6 and analysis.summary["collaborations"] == 4
    assert [row["id"] for row in analysis.brokers[:2]] == [network["T1"], network["L1"]]
    assert (
        analysis.isolated["count"] == 1 and analysis.isolated["rows"][0]["name"] == "Apotheke Oelde"
    )
    assert {row["id"] for row in analysis.weakly_connected["rows"]} == {
        network["L2"],
        network["M1"],
    }
    lengerich = next(r for r in analysis.municipalities if r["ags"] == LENGERICH)
    assert (lengerich["organisations"], lengerich["internal"], lengerich["cross"]) == (2, 1, 1)
    assert lengerich["weak"] == 1 and lengerich["isolated"] == 0
    region = next(r for r in analysis.model_regions if r["key"] == LLLT)
    assert (region["organisations"], region["internal"], region["cross"]) == (3, 2, 1)
    # The care home covers long-term care itself and acute care via the hospital; paediatrics
    # is missing, but the paediatric practice in Lengerich (not a partner) is within reach.
    care = next(r for r in analysis.placements["rows"] if r["id"] == network["T1"])
    assert care["own"] == ["placement:longterm_inpatient"]
    assert [p["id"] for p in care["via_partners"]["placement:acute_inpatient"]] == [network["L1"]]
    assert "placement:paediatric" in care["missing"]
    [candidate] = care["candidates"]["placement:paediatric"]
    assert candidate["id"] == network["L2"] and 0 < candidate["distance_km"] < 30


def test_partners_outside_the_selection_count_across_the_border_but_are_not_listed(app, network):
    with app.test_request_context():
        alone = dashboard.compute_analysis(NetworkFilters(model_regions=[LLLT]))
        joined = dashboard.compute_analysis(
            NetworkFilters(model_regions=[LLLT], with_partners=True)
        )
    region = next(r for r in alone.model_regions if r["key"] == LLLT)
    assert (region["internal"], region["cross"]) == (2, 0)
    region = next(r for r in joined.model_regions if r["key"] == LLLT)
    assert (region["internal"], region["cross"], region["organisations"]) == (2, 1, 3)
    assert [r["key"] for r in joined.model_regions] == [LLLT]  # Rheine holds only a partner
    assert joined.summary["outside_partners"] == 1 and joined.summary["organisations"] == 4
    assert {r["name"] for r in joined.municipalities} == {
        "Ladbergen",
        "Lengerich",
        "Lienen",
        "Tecklenburg",
    }
    # The partner in Rheine hangs on one thread only because its other links were not loaded.
    assert network["R1"] not in {r["id"] for r in joined.weakly_connected["rows"]}
    assert network["R1"] not in {r["id"] for r in joined.brokers}
    assert network["R1"] not in {r["id"] for r in joined.placements["rows"]}
    nodes = {n["data"]["id"]: n["data"] for n in joined.views["organisations"]["elements"]["nodes"]}
    assert (
        nodes[str(network["R1"])]["outside"] is True
        and nodes[str(network["T1"])]["outside"] is False
    )


def test_analysis_is_cached_until_the_network_changes(app, network, make_user):
    filters = NetworkFilters(model_regions=[LLLT])
    with app.test_request_context():
        first = dashboard.analysis_state(filters).analysis
        assert dashboard.analysis_state(filters).analysis is first
        assert dashboard.analysis_state(NetworkFilters(kreise=["05566"])).analysis is not first
        a, b = sorted((network["L2"], network["T1"]))
        db.session.add(
            Collaboration(org_a_id=a, org_b_id=b, kind="staff_exchange", status="active")
        )
        db.session.commit()
        changed = dashboard.analysis_state(filters).analysis
    assert changed is not first
    assert changed.summary["collaborations"] == first.summary["collaborations"] + 1


def test_large_selections_are_analysed_in_a_background_job(app, coordinator, network, monkeypatch):
    monkeypatch.setitem(app.config, "NETWORK_VIEW_SYNC_MAX_ORGS", 2)
    page = coordinator.get("/netzwerk/").get_data(as_text=True)
    assert "Analyse läuft" in page and 'hx-trigger="every 1s"' in page
    job = db.session.scalar(sa.select(Job).where(Job.kind == dashboard.JOB_KIND))
    pending = coordinator.get("/netzwerk/graph.json")
    if pending.status_code == 202:  # unless the (tiny) job already finished
        assert pending.get_json()["progress"] == f"/netzwerk/analyse/{job.id}"
    deadline = time.monotonic() + 60
    while True:
        response = coordinator.get(f"/netzwerk/analyse/{job.id}", headers={"HX-Request": "true"})
        assert response.status_code == 200
        if "HX-Redirect" in response.headers:
            break
        assert time.monotonic() < deadline, response.get_data(as_text=True)
        time.sleep(0.2)
    assert response.headers["HX-Redirect"] == "/netzwerk/"
    db.session.refresh(job)
    assert job.status == "done" and job.payload and job.result["organisations"] == 6
    # Another web process (here: an empty in-process cache) finds the result in the job row.
    dashboard.clear_cache()
    page = coordinator.get("/netzwerk/").get_data(as_text=True)
    assert 'id="table-brokers"' in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Job)) == 1
    assert coordinator.get("/netzwerk/analyse/999999").status_code == 404


def test_a_job_that_died_does_not_block_the_dashboard(app, coordinator, network, monkeypatch):
    from datetime import timedelta

    from network.models.base import utcnow
    from network.network_view.adapter import data_version

    monkeypatch.setitem(app.config, "NETWORK_VIEW_SYNC_MAX_ORGS", 2)
    with app.test_request_context():
        key = dashboard._cache_key(NetworkFilters(), data_version())
    dead = Job(
        kind=dashboard.JOB_KIND,
        status="running",
        message=key,
        created_at=utcnow() - timedelta(hours=2),
        result={"filters": {}},
    )
    db.session.add(dead)
    db.session.commit()
    coordinator.get("/netzwerk/")
    db.session.refresh(dead)
    assert dead.status == "failed"
    fresh = db.session.scalar(sa.select(Job).where(Job.id != dead.id))
    deadline = time.monotonic() + 60
    while fresh.status in ("queued", "running"):  # let the new job finish before the next test
        assert time.monotonic() < deadline
        time.sleep(0.2)
        db.session.refresh(fresh)
    assert fresh.status == "done"


def test_graph_downloads_parse_back_with_networkx(coordinator, network):
    response = coordinator.get("/netzwerk/export.graphml?kreis=05566")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    G = nx.read_graphml(io.BytesIO(response.data))
    assert set(G.nodes) == {str(network[n]) for n in ("L1", "L2", "T1", "R1")}
    assert G.number_of_edges() == 3
    l1 = G.nodes[str(network["L1"])]
    assert l1["name"] == "Klinikum Lengerich" and l1["kind"] == "hospital"
    assert l1["partners"] == 2 and "betweenness" in l1 and "community" in l1

    response = coordinator.get("/netzwerk/export.gexf")
    assert response.status_code == 200
    G = nx.read_gexf(io.BytesIO(response.data))
    assert G.number_of_nodes() == 6 and G.number_of_edges() == 4
    assert G.nodes[str(network["O1"])]["label"] == "Apotheke Oelde"

    response = coordinator.get("/netzwerk/export.gexf?with_places=1")
    G = nx.read_gexf(io.BytesIO(response.data))
    assert f"ags:{LENGERICH}" in G  # municipalities are nodes too
    assert G.number_of_nodes() == 6 + 66


def test_browser_downloads_are_limited_the_cli_is_not(
    app, coordinator, network, monkeypatch, tmp_path
):
    monkeypatch.setitem(app.config, "NETWORK_VIEW_MAX_EXPORT_ORGS", 5)
    response = coordinator.get("/netzwerk/export.gexf")
    assert response.status_code == 302 and response.headers["Location"].endswith("#export-heading")
    page = coordinator.get("/netzwerk/").get_data(as_text=True)
    assert "zu groß (6 Organisationen, höchstens 5)" in page
    assert coordinator.get("/netzwerk/export.gexf?kreis=05566").status_code == 200
    result = app.test_cli_runner().invoke(args=["graph", "export", str(tmp_path / "all.gexf")])
    assert result.exit_code == 0, result.output


def test_municipality_csv(coordinator, network):
    response = coordinator.get(f"/netzwerk/gemeinden.csv?model_region={LLLT}")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:3] == ["AGS", "Gemeinde", "Kreis"]
    by_name = {row[1]: row for row in rows[1:]}
    assert set(by_name) == {"Ladbergen", "Lengerich", "Lienen", "Tecklenburg"}
    header = rows[0]
    lengerich = dict(zip(header, by_name["Lengerich"], strict=True))
    assert lengerich["Organisationen"] == "2" and lengerich["Kooperationen"] == "2"
    assert lengerich["Anteil gemeindeübergreifend (%)"] == "50.0"


def test_only_coordinators_see_the_network_view(app, make_user, network):
    for role in ("provider", "trainee"):
        user = make_user(role)
        client = app.test_client()
        client.post("/konto/anmelden", data={"email": user.email, "password": TEST_PASSWORD})
        for url in (
            "/netzwerk/",
            "/netzwerk/graph.json",
            "/netzwerk/export.gexf",
            "/netzwerk/gemeinden.csv",
        ):
            assert client.get(url).status_code == 403, (role, url)
    assert app.test_client().get("/netzwerk/").status_code == 302


@pytest.mark.parametrize("suffix", [".graphml", ".gexf", ".json"])
def test_cli_export_writes_each_format(app, network, tmp_path, suffix):
    target = tmp_path / f"netz{suffix}"
    result = app.test_cli_runner().invoke(args=["graph", "export", str(target)])
    assert result.exit_code == 0, result.output
    assert "Wrote 6 organisations and 4 collaborations" in result.output
    if suffix == ".graphml":
        G = nx.read_graphml(target)
        assert G.number_of_nodes() == 6 and "betweenness" in G.nodes[str(network["T1"])]
    elif suffix == ".gexf":
        G = nx.read_gexf(target)
        assert G.number_of_edges() == 4
    else:
        data = json.loads(target.read_text(encoding="utf-8"))
        assert len(data["elements"]["nodes"]) == 6 and len(data["elements"]["edges"]) == 4


def test_cli_export_filters_and_refuses_bad_input(app, network, tmp_path):
    runner = app.test_cli_runner()
    target = tmp_path / "region.graphml"
    result = runner.invoke(
        args=[
            "graph",
            "export",
            str(target),
            "--model-region",
            LLLT,
            "--with-places",
            "--no-metrics",
        ]
    )
    assert result.exit_code == 0, result.output
    G = nx.read_graphml(target)
    organisations = [n for n, d in G.nodes(data=True) if d.get("layer") == "organisation"]
    assert sorted(organisations) == sorted(str(network[n]) for n in ("L1", "L2", "T1"))
    assert f"ags:{LENGERICH}" in G and "betweenness" not in G.nodes[str(network["L1"])]
    assert runner.invoke(args=["graph", "export", str(tmp_path / "x.csv")]).exit_code != 0
    result = runner.invoke(args=["graph", "export", str(tmp_path / "x.gexf"), "--kreis", "99999"])
    assert result.exit_code != 0 and "Unbekannter Kreis" in result.output


def test_adapter_loads_plain_inputs(app, network):
    organisations, collaborations, places = load_network(NetworkFilters(kinds=["gp_practice"]))
    assert [o.name for o in organisations] == [
        "Kinderarztpraxis Lengerich",
        "Hausarztpraxis Rheine",
    ]
    assert organisations[0].offers == frozenset({"placement:paediatric"})
    assert collaborations == [] and len(places) == 66
    organisations, collaborations, _ = load_network(statuses=("active", "proposed", "ended"))
    assert len(collaborations) == 6
    assert all(c.source < c.target for c in collaborations)


def test_aggregation_examples_hold():
    import doctest

    from network.network_view import aggregate

    assert doctest.testmod(aggregate).failed == 0
