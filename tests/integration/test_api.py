"""JSON read API: organisations, municipalities, errors, visibility, the OpenAPI document."""

from __future__ import annotations

import pytest

from network.api import spec as api_spec
from tests.conftest import TEST_PASSWORD

TECKLENBURG = "05566088"


@pytest.fixture
def orgs(make_org):
    return [
        make_org(name="Praxis Lengerich", ags="05566040", offers=["shuttle"], external_id="E-1"),
        make_org(name="Pflegedienst Tecklenburg", kind="ambulatory_care", ags=TECKLENBURG),
        make_org(name="Klinik Münster", kind="hospital", ags="05515000", needs=["childcare"]),
        make_org(name="Interne Praxis", ags="05566040", visibility="members"),
    ]


def test_organisations_list_with_pagination_and_links(client, orgs):
    response = client.get("/api/v1/organisations?per_page=2")
    assert response.status_code == 200 and response.is_json
    body = response.get_json()
    assert (body["total"], body["pages"], body["page"], body["per_page"]) == (3, 2, 1, 2)
    assert [item["name"] for item in body["items"]] == [
        "Klinik Münster",
        "Pflegedienst Tecklenburg",
    ]
    assert body["links"]["prev"] is None and "page=2" in body["links"]["next"]
    second = client.get(body["links"]["next"]).get_json()
    assert [item["name"] for item in second["items"]] == ["Praxis Lengerich"]
    item = second["items"][0]
    assert (
        item["external_id"] == "E-1"
        and item["offers"] == ["shuttle"]
        and item["synthetic"] is False
    )
    assert item["municipality"]["ags"] == "05566040" and item["location"]["exact"] is False
    assert item["url"].endswith(f"/verzeichnis/{item['id']}")
    assert "Cookie" in response.headers["Vary"]


def test_organisations_radius_and_filters(client, orgs):
    body = client.get(f"/api/v1/organisations?near={TECKLENBURG}&radius_km=10").get_json()
    assert [i["name"] for i in body["items"]] == ["Pflegedienst Tecklenburg", "Praxis Lengerich"]
    assert body["items"][0]["distance_km"] == 0.0 and 0 < body["items"][1]["distance_km"] < 10
    assert (
        client.get("/api/v1/organisations?kind=hospital,ambulatory_care").get_json()["total"] == 2
    )
    assert (
        client.get("/api/v1/organisations?needs=childcare").get_json()["items"][0]["name"]
        == "Klinik Münster"
    )
    assert client.get("/api/v1/organisations?q=tecklenburg").get_json()["total"] == 1


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("per_page=101", "per_page"),
        ("page=0", "page"),
        ("page=abc", "page"),
        ("lat=52", "lon"),
        ("lat=1e999&lon=7", "lat"),
        ("kind=castle", "kind"),
        ("near=99999999", "near"),
        ("radius_km=-5&near=05566088", "radius_km"),
        ("sort=distance", "sort"),
        ("q=%00", "q"),
        ("offers=nope", "offers"),
    ],
)
def test_bad_parameters_are_a_json_400(client, orgs, query, parameter):
    response = client.get(f"/api/v1/organisations?{query}")
    assert response.status_code == 400 and response.is_json
    body = response.get_json()
    assert body["status"] == 400 and parameter in body["details"]


def test_members_only_organisations_need_a_session(app, client, orgs, make_user):
    hidden = orgs[3]
    assert client.get(f"/api/v1/organisations/{hidden.id}").status_code == 404
    assert (
        client.get(f"/api/v1/organisations/{orgs[0].id}").get_json()["name"] == "Praxis Lengerich"
    )
    assert client.get("/api/v1/organisations/999999").get_json()["status"] == 404
    member = app.test_client()
    user = make_user("trainee")
    member.post("/konto/anmelden", data={"email": user.email, "password": TEST_PASSWORD})
    assert member.get("/api/v1/organisations").get_json()["total"] == 4
    assert member.get(f"/api/v1/organisations/{hidden.id}").status_code == 200


def test_municipalities(client, orgs):
    body = client.get("/api/v1/municipalities?per_page=100").get_json()
    assert body["total"] == 66 and len(body["items"]) == 66
    lengerich = next(m for m in body["items"] if m["ags"] == "05566040")
    assert lengerich["organisation_count"] == 1 and lengerich["kreis"] == "Kreis Steinfurt"
    assert lengerich["model_region"] == "ladbergen-lengerich-lienen-tecklenburg"
    assert client.get("/api/v1/municipalities?kreis=05515").get_json()["total"] == 1
    assert client.get("/api/v1/municipalities?q=eng").get_json()["items"][0]["name"] == "Lengerich"
    region = client.get(
        "/api/v1/municipalities?model_region=ladbergen-lengerich-lienen-tecklenburg"
    ).get_json()
    assert region["total"] == 4
    assert client.get("/api/v1/municipalities?per_page=0").status_code == 400
    assert client.get("/api/v1/municipalities?kreis=99999").get_json()["details"]["kreis"]


def test_openapi_document(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    assert document["openapi"].startswith("3.0")
    assert {
        "/api/v1/organisations",
        "/api/v1/organisations/{org_id}",
        "/api/v1/municipalities",
    } <= set(document["paths"])
    names = {
        p.get("name") or p["$ref"]
        for p in document["paths"]["/api/v1/organisations"]["get"]["parameters"]
    }
    assert {
        "q",
        "kind",
        "ags",
        "kreis",
        "model_region",
        "offers",
        "needs",
        "near",
        "lat",
        "lon",
        "radius_km",
        "sort",
    } <= names
    assert document["components"]["parameters"]["per_page"]["schema"]["maximum"] == 100
    docs = client.get("/api/v1/docs").get_data(as_text=True)
    assert "GET /api/v1/organisations" in docs and "radius_km" in docs


def test_other_areas_can_register_paths(monkeypatch):
    monkeypatch.setattr(api_spec, "_paths", dict(api_spec._paths))
    monkeypatch.setattr(api_spec, "_schemas", dict(api_spec._schemas))
    operation = {"get": {"summary": "Stellen", "responses": {"200": {"description": "ok"}}}}
    api_spec.register_paths({"/api/v1/test-only": operation}, {"TestOnly": {"type": "object"}})
    api_spec.register_paths({"/api/v1/test-only": operation})  # the same again is fine
    document = api_spec.build_spec()
    assert (
        "/api/v1/test-only" in document["paths"] and "TestOnly" in document["components"]["schemas"]
    )
    with pytest.raises(ValueError):
        api_spec.register_paths({"/api/v1/test-only": {"get": {"summary": "anders"}}})
