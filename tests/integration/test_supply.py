"""Supply area: public figures and facts, planning-figure upload and CLI, municipality pages with
suggested recommendations, and the recommendation library."""

from __future__ import annotations

import io
import json
import re

import pytest
import sqlalchemy as sa

from network.extensions import db
from network.models import (
    AuditLog,
    Municipality,
    PlanningFigure,
    Position,
    Recommendation,
    TraineeProfile,
)

OELDE = "05570028"
LENGERICH = "05566040"
HEADER = "planning_area,specialty,physicians_fte,inhabitants,as_of,source,ags,ratio\n"


def upload(client, text: str | bytes, filename: str = "planung.csv"):
    data = text.encode("utf-8") if isinstance(text, str) else text
    return client.post(
        "/versorgung/planungszahlen",
        data={"file": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
    )


def map_data(body: str) -> dict:
    raw = re.search(
        r'<script type="application/json" id="supply-map-data">(.*?)</script>', body, re.S
    ).group(1)
    return json.loads(raw)


def add_recommendation(title: str, topics: list[str], effort: str = "medium") -> Recommendation:
    rec = Recommendation(
        title=title, summary=f"Kurz: {title}", topics=topics, effort=effort, actors="Kommune"
    )
    db.session.add(rec)
    db.session.commit()
    return rec


# --------------------------------------------------------------------------- public view


@pytest.fixture
def facts(app):
    """The real published GP-supply facts (the ``app`` fixture empties every table but one)."""
    from network.demo import load_reference_data

    load_reference_data()


def test_index_shows_real_facts_and_keeps_pre_2019_figures_apart(client, facts):
    response = client.get("/versorgung/")
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Versorgung im Münsterland" in body
    pre = body.split('data-facts="pre_2019"')[1].split("</table>")[0]
    # The 2019-05 degrees (e.g. Greven 131.2) and Oelde's 1:1,671 figure are in the old-rules table …
    assert "131,2" in pre and "Greven" in pre and "1,671" in pre
    dated = body.split('data-facts="dated"')[1].split("</table>")[0]
    # … and not among the dated current ones.
    assert "131,2" not in dated and "73,7" in dated and "&gt;100" in body
    assert "nicht mit heutigen Werten vergleichbar" in body
    assert "azonline.de" in body  # every fact names its source
    # Published facts are per Mittelbereich and never coloured onto municipalities.
    assert map_data(body)["figures"].get("gp_degree", {}).get("values", {}) == {}


def test_index_figures_per_municipality_region_and_kreis(client, make_org, make_user):
    org = make_org(
        "Praxis Oelde", kind="gp_practice", ags=OELDE, staff_count=8, offers=("training:nursing",)
    )
    make_org("Firma Oelde", kind="sme", ags=OELDE, staff_count=100)
    db.session.add_all(
        [
            Position(
                organisation_id=org.id,
                position_type="apprenticeship",
                profession="pflegefachfrau",
                title="Ausbildung",
                seats=3,
                ags=OELDE,
                latitude=1,
                longitude=1,
            ),
            Position(
                organisation_id=org.id,
                position_type="job",
                profession="mfa",
                title="MFA",
                ags=OELDE,
                latitude=1,
                longitude=1,
            ),
            Position(
                organisation_id=org.id,
                position_type="job",
                profession="mfa",
                title="Alt",
                status="filled",
                ags=OELDE,
                latitude=1,
                longitude=1,
            ),
        ]
    )
    trainee = make_user("trainee")
    db.session.add(TraineeProfile(user_id=trainee.id, home_ags=OELDE))
    db.session.commit()

    body = client.get("/versorgung/?kennzahl=providers_per_10k").get_data(as_text=True)
    data = map_data(body)
    inhabitants = db.session.get(Municipality, OELDE).population
    assert data["selected"] == "providers_per_10k"
    # 1 provider (the company does not count) per Zensus-2022 inhabitants; its staff only.
    assert data["figures"]["providers_per_10k"]["values"][OELDE] == pytest.approx(
        10_000 / inhabitants, abs=1e-3
    )
    assert data["figures"]["open_positions_per_10k"]["values"][OELDE] == pytest.approx(
        2 * 10_000 / inhabitants, abs=1e-3
    )
    assert data["figures"]["staff_per_10k"]["values"][OELDE] == pytest.approx(
        8 * 10_000 / inhabitants, abs=1e-2
    )
    assert "Zensus 2022" in data["figures"]["providers_per_10k"]["source"]
    # Trainee figures are for coordinators only.
    assert "trainees_per_10k" not in data["figures"]
    row = body.split(f'data-key="{OELDE}"')[1].split("</tr>")[0]
    assert ">3<" in row  # training places: seats of the open apprenticeship
    assert 'data-key="oelde"' in body  # model region table
    assert 'data-key="05570"' in body  # Kreis Warendorf


def test_coordinator_sees_trainee_figures(client, login_as, make_user):
    trainee = make_user("trainee")
    db.session.add(TraineeProfile(user_id=trainee.id, home_ags=LENGERICH))
    db.session.commit()
    login_as("coordinator")
    data = map_data(client.get("/versorgung/").get_data(as_text=True))
    assert data["figures"]["trainees_per_10k"]["values"][LENGERICH] > 0


# --------------------------------------------------------------------------- planning figures


def test_upload_keeps_good_rows_and_explains_bad_ones(client, login_as):
    coordinator = login_as("coordinator")
    text = HEADER + (
        "Mittelbereich Oelde,hausaerzte,10,20000,2024-07-01,KVWL Bedarfsplan 2024,05570028,\n"
        "Mittelbereich Lengerich,hausaerzte,zehn,25000,2024-07-01,KVWL,05566040,\n"
        "Mittelbereich X,augenaerzte,2,60000,2024-07-01,KVWL,05566040 05566032,\n"
        "Mittelbereich Y,hausaerzte,20,20000,2024-07-01,KVWL,99999999,\n"
    )
    response = upload(client, text)
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "1 Zeile(n) übernommen, 3 Zeile(n) abgelehnt" in body
    problems = body.split("data-import-problems")[1].split("</table>")[0]
    assert re.search(
        r">3</td>\s*<td><code>physicians_fte</code></td>\s*<td>„physicians_fte“ ist keine Zahl: „zehn“",
        problems,
    )
    assert re.search(r">4</td>\s*<td><code>ratio</code></td>", problems)
    assert "Keine Gemeinde im Münsterland hat den Schlüssel 99999999" in problems

    [figure] = db.session.scalars(sa.select(PlanningFigure)).all()
    assert (
        figure.planning_area,
        figure.specialty,
        figure.municipalities,
        figure.uploaded_by_id,
    ) == (
        "Mittelbereich Oelde",
        "hausaerzte",
        [OELDE],
        coordinator.id,
    )
    audit = db.session.scalar(
        sa.select(AuditLog).where(AuditLog.action == "supply.planning_import")
    )
    assert audit.details == {"created": 1, "updated": 0, "rejected_lines": 3}

    # The same key again replaces the values.
    response = upload(
        client, HEADER + "Mittelbereich Oelde,hausaerzte,12,20000,2024-07-01,KVWL neu,05570028,\n"
    )
    assert "1 Zeile(n) übernommen" in response.get_data(as_text=True)
    db.session.refresh(figure)
    assert (figure.physicians_fte, figure.source) == (12.0, "KVWL neu")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PlanningFigure)) == 1


def test_upload_with_no_good_row_is_422(client, login_as):
    login_as("coordinator")
    response = upload(client, "a,b\n1,2\n")
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Es fehlen Spalten" in body and "Keine Zeile konnte übernommen werden" in body


@pytest.mark.parametrize(
    ("content", "filename", "message"),
    [
        (b"MZ\x90\x00\x03" + bytes(200), "planung.csv", "keine Textdatei"),
        (b"x", "planung.xlsx", "Endung .csv"),
        (b"", "planung.csv", "Die Datei enthält keine Zeilen."),
    ],
)
def test_upload_refuses_what_is_not_a_csv(client, login_as, content, filename, message):
    login_as("coordinator")
    response = upload(client, content, filename)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PlanningFigure)) == 0


def test_windows_1252_csv_is_read(client, login_as):
    login_as("coordinator")
    text = (
        HEADER.replace(",", ";")
        + "Mittelbereich Lüdinghausen;Hausärzte;9,5;25000;01.01.2025;KVWL;05558024;\n"
    )
    response = upload(client, text.encode("cp1252"))
    assert response.status_code == 200
    assert (
        db.session.scalar(sa.select(PlanningFigure.planning_area)) == "Mittelbereich Lüdinghausen"
    )


def test_under_supplied_municipality_on_map_table_and_page(client, login_as):
    login_as("coordinator")
    add_recommendation("Nachfolge begleiten", ["gp_succession"], "medium")
    add_recommendation("Telemedizin im Heim", ["telemedicine"], "high")
    add_recommendation("Kita für Schichtdienst", ["childcare"], "low")
    upload(client, HEADER + "MB Oelde,hausaerzte,10,20000,2024-07-01,KVWL Bedarfsplan,05570028,\n")

    body = client.get("/versorgung/").get_data(as_text=True)
    data = map_data(body)
    assert data["selected"] == "gp_degree"
    assert data["figures"]["gp_degree"]["values"] == {OELDE: pytest.approx(80.45)}
    upload(client, HEADER + "MB Oelde,hausaerzte,7,20000,2024-10-01,KVWL Bedarfsplan,05570028,\n")
    body = client.get("/versorgung/").get_data(as_text=True)
    assert map_data(body)["figures"]["gp_degree"]["values"][OELDE] == pytest.approx(56.315)
    row = body.split(f'data-key="{OELDE}"')[1].split("</tr>")[0]
    assert 'data-status="under"' in body.split(f'data-key="{OELDE}"')[1][:40]
    assert "unterversorgt" in row and "56,3" in row and "2024-10-01" in row
    # The chart carries both dates of the area.
    chart = json.loads(re.search(r'id="supply-chart-data">(.*?)</script>', body, re.S).group(1))
    assert chart["labels"] == ["2024-07-01", "2024-10-01"]
    assert chart["datasets"][0]["data"] == [80.5, 56.3]

    page = client.get(f"/versorgung/gemeinde/{OELDE}").get_data(as_text=True)
    assert (
        "Hausärztlicher Versorgungsgrad 56,3 % im Planungsbereich MB Oelde (Stand 2024-10-01)"
        in page
    )
    suggestions = page.split("data-suggestions")[1]
    titles = re.findall(r'<a href="/versorgung/empfehlungen/\d+">([^<]+)</a>', suggestions)
    assert titles[:2] == ["Nachfolge begleiten", "Telemedizin im Heim"]
    assert "Kita für Schichtdienst" not in titles


def test_municipality_page_unknown_ags_is_404(client):
    assert client.get("/versorgung/gemeinde/00000000").status_code == 404


def test_planning_figure_can_be_deleted(client, login_as):
    login_as("coordinator")
    upload(client, HEADER + "MB Oelde,hausaerzte,10,20000,2024-07-01,KVWL,05570028,\n")
    figure_id = db.session.scalar(sa.select(PlanningFigure.id))
    response = client.post(f"/versorgung/planungszahlen/{figure_id}/loeschen")
    assert response.status_code == 302
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PlanningFigure)) == 0


def test_template_and_documentation(client, login_as):
    login_as("coordinator")
    page = client.get("/versorgung/planungszahlen").get_data(as_text=True)
    assert "1.609" in page and "physicians_fte" in page and "in der CSV angeben" in page
    response = client.get("/versorgung/planungszahlen/vorlage.csv")
    assert response.headers["Content-Type"].startswith("text/csv")
    assert response.get_data(as_text=True).startswith("planning_area,specialty,physicians_fte")


def test_provider_cannot_upload(client, login_as):
    login_as("provider")
    assert client.get("/versorgung/planungszahlen").status_code == 403
    assert upload(client, HEADER).status_code == 403


def test_cli_import(app, tmp_path):
    path = tmp_path / "planung.csv"
    path.write_text(
        HEADER
        + "MB Oelde,hausaerzte,10,20000,2024-07-01,KVWL,05570028,\nMB Z,hausaerzte,x,1,2024-07-01,KVWL,05570028,\n",
        encoding="utf-8",
    )
    result = app.test_cli_runner().invoke(args=["supply", "import-planning", str(path)])
    assert result.exit_code == 1
    assert "1 neu, 0 aktualisiert, 1 Zeile(n) abgelehnt." in result.output
    assert "planung.csv:3: physicians_fte:" in result.output
    assert db.session.scalar(sa.select(PlanningFigure.planning_area)) == "MB Oelde"


# --------------------------------------------------------------------------- recommendations


def test_recommendation_crud(client, login_as):
    login_as("coordinator")
    response = client.post(
        "/versorgung/handlungsempfehlungen/neu",
        data={"title": "Rufbus", "summary": "", "effort": "low"},
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'value="Rufbus"' in body and "mindestens ein Thema" in body

    response = client.post(
        "/versorgung/handlungsempfehlungen/neu",
        data={
            "title": "Rufbus",
            "summary": "Fahrten zu Einsätzen",
            "topics": ["mobility", "nursing_recruitment"],
            "effort": "low",
            "actors": "Kommune",
        },
    )
    assert response.status_code == 302
    rec = db.session.scalar(sa.select(Recommendation))
    assert (rec.topics, rec.effort) == (["mobility", "nursing_recruitment"], "low")

    response = client.post(
        f"/versorgung/handlungsempfehlungen/{rec.id}/bearbeiten",
        data={
            "title": "Rufbus für Azubis",
            "summary": "Fahrten",
            "topics": ["mobility"],
            "effort": "medium",
        },
    )
    assert response.status_code == 302
    db.session.refresh(rec)
    assert (rec.title, rec.topics, rec.effort) == ("Rufbus für Azubis", ["mobility"], "medium")

    assert "Rufbus für Azubis" in client.get("/versorgung/handlungsempfehlungen").get_data(
        as_text=True
    )
    assert client.post(f"/versorgung/handlungsempfehlungen/{rec.id}/loeschen").status_code == 302
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Recommendation)) == 0
    actions = set(db.session.scalars(sa.select(AuditLog.action)))
    assert {
        "supply.recommendation_create",
        "supply.recommendation_update",
        "supply.recommendation_delete",
    } <= actions


def test_public_library_filters_and_detail(client):
    mobility = add_recommendation("Rufbus", ["mobility"], "low")
    add_recommendation("Kita", ["childcare"], "medium")
    body = client.get("/versorgung/empfehlungen?topic=mobility").get_data(as_text=True)
    assert "Rufbus" in body and "Kita</a>" not in body
    body = client.get("/versorgung/empfehlungen?effort=medium").get_data(as_text=True)
    assert "Kita" in body and "Rufbus</a>" not in body
    assert "gp_under_supply" in body  # the documented rules
    detail = client.get(f"/versorgung/empfehlungen/{mobility.id}")
    assert detail.status_code == 200 and "Rufbus" in detail.get_data(as_text=True)
    assert client.get("/versorgung/empfehlungen/999").status_code == 404


def test_english_interface(client):
    client.get("/sprache/en")
    body = client.get("/versorgung/").get_data(as_text=True)
    assert "Supply in the Münsterland" in body


def test_demo_load_is_idempotent(app):
    from network.demo import DemoSummary
    from network.models import CampaignPage, ToolboxItem
    from network.supply import demo

    summary = DemoSummary()
    demo.load(summary, 42, lambda *args: None)
    assert summary.extra == {
        "Handlungsempfehlungen": 11,
        "Kampagnenseiten": 5,
        "Toolbox-Dateien": 3,
    }
    demo.load(DemoSummary(), 42, lambda *args: None)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Recommendation)) == 11
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CampaignPage)) == 5
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ToolboxItem)) == 3
    for item in db.session.scalars(sa.select(ToolboxItem)):
        assert "Demomaterial" in item.description
    for rec in db.session.scalars(sa.select(Recommendation)):
        assert rec.examples.startswith("Beispielansatz")
