"""In a real browser: a coordinator uploads planning figures and sees the under-supplied
municipality on the map, in the table and with suggested recommendations; a visitor follows a
campaign page to an open position."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.e2e

OELDE = "05570028"
PLANNING_CSV = (
    "planning_area;specialty;physicians_fte;inhabitants;as_of;source;ags\n"
    "Mittelbereich Oelde (Test);hausaerzte;10;20000;2024-07-01;Testdaten der Browserprüfung;05570028\n"
    "Mittelbereich Kaputt;hausaerzte;zehn;20000;2025-01-01;Testdaten;05570028\n"
    "Mittelbereich Oelde (Test);hausaerzte;8;20000;2025-07-01;Testdaten der Browserprüfung;05570028\n"
)


def _prepare(app) -> dict:
    from network.extensions import db
    from network.models import CampaignPage, Organisation, Position, Recommendation, User
    from network.models.base import utcnow

    with app.app_context():
        coordinator = User(
            email="koordination@test.example.org",
            name="Karla",
            role="coordinator",
            email_confirmed_at=utcnow(),
        )
        coordinator.set_password(TEST_PASSWORD)
        db.session.add(coordinator)
        db.session.add_all(
            [
                Recommendation(
                    title="Hausarztnachfolge frühzeitig begleiten",
                    summary="Nachfolge-Lotse",
                    topics=["gp_succession"],
                    effort="medium",
                ),
                Recommendation(
                    title="Telemedizin im Pflegeheim",
                    summary="Video-Visite",
                    topics=["telemedicine"],
                    effort="high",
                ),
                Recommendation(
                    title="Kinderbetreuung im Schichtdienst",
                    summary="Kita",
                    topics=["childcare"],
                    effort="low",
                ),
            ]
        )
        clinic = Organisation(
            kind="hospital",
            name="Testklinik Oelde",
            ags=OELDE,
            latitude=51.83,
            longitude=8.15,
            visibility="public",
        )
        db.session.add(clinic)
        db.session.flush()
        position = Position(
            organisation_id=clinic.id,
            position_type="apprenticeship",
            profession="pflegefachfrau",
            title="Ausbildung Pflegefachfrau/Pflegefachmann 2026",
            description="Drei Jahre generalistische Pflegeausbildung.",
            ags=OELDE,
            latitude=51.83,
            longitude=8.15,
        )
        db.session.add(position)
        db.session.add(
            CampaignPage(
                slug="oelde",
                title="Gesundheitsberufe in Oelde",
                intro="Komm nach Oelde.",
                model_region="oelde",
                published=True,
            )
        )
        db.session.commit()
        return {"position_id": position.id, "clinic_id": clinic.id}


def test_coordinator_finds_under_supply_and_visitor_reaches_a_position(page, live_server, tmp_path):
    ids = _prepare(live_server.app)

    page.goto("/konto/anmelden")
    page.get_by_label("E-Mail-Adresse").fill("koordination@test.example.org")
    page.get_by_label("Passwort").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mein Bereich")

    # Upload: the good line is kept, the bad one is explained with its line number.
    page.goto("/versorgung/planungszahlen")
    csv_file = tmp_path / "planung.csv"
    csv_file.write_text(PLANNING_CSV, encoding="utf-8")
    page.get_by_label("CSV-Datei mit Planungszahlen").set_input_files(str(csv_file))
    page.get_by_role("button", name="Hochladen und prüfen").click()
    expect(page.get_by_text("2 Zeile(n) übernommen, 1 Zeile(n) abgelehnt")).to_be_visible()
    problems = page.locator("[data-import-problems]")
    expect(problems).to_contain_text("„physicians_fte“ ist keine Zahl: „zehn“")
    expect(problems.locator("tbody tr").first.locator("td").first).to_have_text("3")

    # The map colours the municipalities by the newest degree of supply (8 FTE for 20,000
    # inhabitants at 1:1,609 = 64.4 %), with legend and source; the table row is flagged.
    page.goto("/versorgung/")
    supply_map = page.locator("#supply-map")
    expect(supply_map).to_have_attribute("data-figure", "gp_degree")
    expect(supply_map.locator("path.leaflet-interactive")).to_have_count(66)
    legend = supply_map.locator(".map-legend")
    expect(legend).to_contain_text("Versorgungsgrad Hausärzte")
    expect(legend).to_contain_text("64,4")
    expect(legend).to_contain_text("keine Daten")  # the other 65 municipalities
    expect(legend).to_contain_text("Planungszahlen je Planungsbereich")
    expect(page.locator("#supply-map-source")).to_contain_text("Hochgeladene Planungszahlen")
    row = page.locator(f'#table-municipalities tr[data-key="{OELDE}"]')
    expect(row).to_have_attribute("data-status", "under")
    expect(row).to_contain_text("unterversorgt")
    expect(row).to_contain_text("64,4")

    # Switching the figure redraws the map without a reload.
    page.get_by_label("Kennzahl auf der Karte").select_option("providers_per_10k")
    expect(supply_map).to_have_attribute("data-figure", "providers_per_10k")
    expect(supply_map.locator(".map-legend")).to_contain_text("Anbieter je 10.000 Einwohner")
    expect(page.locator("#supply-map-source")).to_contain_text("Zensus 2022")
    expect(page.locator("#supply-chart")).to_be_visible()

    # The municipality page suggests what fits the gap, with the reason.
    row.get_by_role("link", name="Oelde").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Versorgung in Oelde")
    suggestions = page.locator("[data-suggestions]")
    expect(suggestions.locator("h3").first).to_have_text("Hausarztnachfolge frühzeitig begleiten")
    expect(suggestions).to_contain_text("Telemedizin im Pflegeheim")
    expect(suggestions).not_to_contain_text("Kinderbetreuung im Schichtdienst")
    expect(suggestions).to_contain_text(
        "Hausärztlicher Versorgungsgrad 64,4 % im Planungsbereich Mittelbereich Oelde (Test)"
    )

    page.get_by_role("button", name="Abmelden").click()

    # A visitor: toolbox → campaign page → the open position.
    page.goto("/toolbox/")
    page.get_by_role("link", name="Gesundheitsberufe in Oelde").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Gesundheitsberufe in Oelde")
    share = page.locator("[data-share-links]")
    expect(share.get_by_role("link", name="Per E-Mail teilen")).to_have_attribute(
        "href", re.compile(r"^mailto:\?subject=")
    )
    expect(page.get_by_label("Adresse dieser Seite")).to_have_value(
        f"{live_server.url}/toolbox/kampagne/oelde"
    )
    page.locator("[data-training]").get_by_role(
        "link", name="Ausbildung Pflegefachfrau/Pflegefachmann 2026"
    ).click()
    if "positions.detail" in live_server.app.view_functions:
        expect(page).to_have_url(re.compile(rf"/{ids['position_id']}$"))
        expect(page.get_by_role("heading", level=1)).to_contain_text(
            "Ausbildung Pflegefachfrau/Pflegefachmann 2026"
        )
    else:
        expect(page).to_have_url(re.compile(rf"/{ids['clinic_id']}$"))
        expect(page.get_by_role("heading", level=1)).to_contain_text("Testklinik Oelde")
