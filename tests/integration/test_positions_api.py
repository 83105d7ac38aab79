"""``/api/v1/positions``: filters, pagination, errors, and conformance with the OpenAPI document."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from network.extensions import db
from network.models import Position

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
LADBERGEN = "05566032"
LENGERICH = "05566040"
BOCHOLT = "05554008"


@pytest.fixture
def offers(make_org):
    lengerich = make_org("Pflegeheim am Teuto", kind="care_home", ags=LENGERICH)
    bocholt = make_org("Klinik Bocholt", kind="hospital", ags=BOCHOLT)
    rows = []
    for org, title, kind, benefits, start in (
        (lengerich, "Ausbildung Pflege Lengerich", "apprenticeship", ["housing"], 100),
        (lengerich, "Praktikum Lengerich", "placement", [], 10),
        (bocholt, "Ausbildung Pflege Bocholt", "apprenticeship", [], 50),
    ):
        rows.append(
            Position(
                organisation_id=org.id,
                position_type=kind,
                profession="pflegefachperson",
                title=title,
                benefits=benefits,
                start_date=date.today() + timedelta(days=start),
                deadline=date.today() + timedelta(days=30),
                ags=org.ags,
                latitude=org.latitude,
                longitude=org.longitude,
            )
        )
    rows.append(
        Position(
            organisation_id=lengerich.id,
            position_type="apprenticeship",
            profession="pflegefachperson",
            title="Frist abgelaufen",
            deadline=date.today() - timedelta(days=1),
            ags=lengerich.ags,
            latitude=lengerich.latitude,
            longitude=lengerich.longitude,
        )
    )
    db.session.add_all(rows)
    db.session.commit()
    return rows


def titles(response) -> list[str]:
    return [item["title"] for item in response.get_json()["items"]]


def test_lists_open_positions_by_start_without_a_centre(client, offers):
    response = client.get("/api/v1/positions")
    assert response.status_code == 200
    data = response.get_json()
    assert data["order"] == "date" and data["total"] == 3
    assert titles(response) == [
        "Praktikum Lengerich",
        "Ausbildung Pflege Bocholt",
        "Ausbildung Pflege Lengerich",
    ]
    item = data["items"][0]
    assert item["municipality"]["ags"] == LENGERICH and item["url"].endswith(
        f"/stellen/{item['id']}"
    )
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_filters_and_radius(client, offers):
    response = client.get(f"/api/v1/positions?type=apprenticeship&near={LADBERGEN}&radius_km=25")
    assert titles(response) == ["Ausbildung Pflege Lengerich"]
    assert response.get_json()["order"] == "distance"
    assert 5 < response.get_json()["items"][0]["distance_km"] < 20
    assert titles(client.get("/api/v1/positions?benefit=housing")) == [
        "Ausbildung Pflege Lengerich"
    ]
    later = (date.today() + timedelta(days=60)).isoformat()
    assert titles(client.get(f"/api/v1/positions?start_from={later}")) == [
        "Ausbildung Pflege Lengerich"
    ]
    response = client.get("/api/v1/positions?lat=51.84&lon=6.61&radius_km=10")  # Bocholt
    assert titles(response) == ["Ausbildung Pflege Bocholt"]


def test_pagination_links(client, offers):
    data = client.get("/api/v1/positions?per_page=2").get_json()
    assert (data["pages"], len(data["items"])) == (2, 2)
    assert data["links"]["prev"] is None and "page=2" in data["links"]["next"]
    second = client.get(data["links"]["next"]).get_json()
    assert [i["title"] for i in second["items"]] == ["Ausbildung Pflege Lengerich"]


@pytest.mark.parametrize(
    ("query", "bad"),
    [
        ("type=spaceship", "type"),
        ("profession=astronaut", "profession"),
        ("near=12345678", "near"),
        ("radius_km=10", "radius_km"),
        ("near=05566032&radius_km=-3", "radius_km"),
        ("lat=52", "lon"),
        ("start_from=morgen", "start_from"),
        ("per_page=1000", "per_page"),
        ("page=0", "page"),
    ],
)
def test_bad_parameters_are_a_400_naming_each(client, offers, query, bad):
    response = client.get(f"/api/v1/positions?{query}")
    assert response.status_code == 400
    assert bad in response.get_json()["details"]


def test_single_position_and_404_for_expired(client, offers):
    assert (
        client.get(f"/api/v1/positions/{offers[0].id}").get_json()["title"]
        == "Ausbildung Pflege Lengerich"
    )
    assert client.get(f"/api/v1/positions/{offers[3].id}").status_code == 404
    assert client.get("/api/v1/positions/999999").status_code == 404


def test_operations_are_in_the_openapi_document(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "get" in spec["paths"]["/api/v1/positions"]
    assert "Position" in spec["components"]["schemas"]
    names = {p.get("name") for p in spec["paths"]["/api/v1/positions"]["get"]["parameters"]}
    assert {"type", "profession", "near", "radius_km", "start_from", "benefit"} <= names


@pytest.mark.parametrize(
    "mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"]
)
def test_conforms_to_its_openapi_document(app, offers, mode):
    """Generated requests, valid and invalid, never meet a server error and get documented answers.

    Parameter dependencies (lat needs lon, a radius needs a centre) cannot be written in OpenAPI 3.0,
    so a schema-valid combination may rightly get a 400 naming them: the checks below allow that.
    """
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app).include(
        path_regex=r"^/api/v1/positions"
    )
    checked = 0
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None
        )
        def check(case):
            case.call_and_validate(checks=CHECKS)

        check()
        checked += 1
    assert checked == 2
