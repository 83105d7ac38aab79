"""A provider in a real browser: register, confirm, enter the organisation, find it on the map."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.conftest import text_of

pytestmark = pytest.mark.e2e

EMAIL = "praxis.lengerich@test.example.org"
PASSWORD = "Lengerich-Teuto-2026"


def test_provider_registers_organisation_and_finds_it_by_radius_on_the_map(
    page, live_server, smtp_server
):
    page.goto("/konto/registrieren")
    page.get_by_label("Name").fill("Paula Praxis")
    page.get_by_label("E-Mail-Adresse").fill(EMAIL)
    page.get_by_label("Ich bin …").select_option("provider")
    page.get_by_label("Passwort", exact=True).fill(PASSWORD)
    page.get_by_label("Passwort wiederholen").fill(PASSWORD)
    page.get_by_role("button", name="Konto anlegen").click()

    [mail] = smtp_server.wait_for(EMAIL)
    page.goto(re.search(r"http://127\.0\.0\.1:\d+/\S+", text_of(mail)).group(0))
    expect(page.get_by_text("Ihre E-Mail-Adresse ist bestätigt")).to_be_visible()
    page.get_by_label("E-Mail-Adresse").fill(EMAIL)
    page.get_by_label("Passwort").fill(PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mein Bereich")

    page.get_by_role("link", name="Meine Organisationen").click()
    page.get_by_role("link", name="Organisation eintragen").first.click()
    form = page.locator("#organisation-form")
    form.get_by_label("Art der Organisation").select_option("gp_practice")
    form.get_by_label("Name", exact=True).fill("Hausarztpraxis Am Rathausplatz")
    form.get_by_label("Straße und Hausnummer").fill("Rathausplatz 1")
    form.get_by_label("Postleitzahl").fill("49525")
    form.get_by_label("Gemeinde").select_option("05566040")
    offers = form.get_by_role("group", name="Wir bieten")
    offers.get_by_label("Fahrdienst/Mobilität").check()
    offers.get_by_label("Gemeinsame Fortbildung").check()
    form.get_by_role("group", name="Wir suchen").get_by_label(
        "Praxiseinsatz ambulante Pflege"
    ).check()
    form.get_by_role("button", name="Organisation eintragen").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Hausarztpraxis Am Rathausplatz")
    expect(page.get_by_text("ist jetzt im Verzeichnis")).to_be_visible()
    expect(page.locator(".tag-offer", has_text="Fahrdienst/Mobilität")).to_be_visible()
    expect(page.locator(".tag-need", has_text="Praxiseinsatz ambulante Pflege")).to_be_visible()

    page.get_by_role("link", name="Verzeichnis", exact=True).click()
    search = page.get_by_role("search")
    search.get_by_label("um die Gemeinde").select_option(label="Tecklenburg")
    search.get_by_label("Entfernung bis").select_option("10")
    search.get_by_role("button", name="Suchen").click()
    expect(page.get_by_role("heading", name=re.compile("1 Organisation gefunden"))).to_be_visible()
    expect(page.locator("article.directory-hit")).to_contain_text("Hausarztpraxis Am Rathausplatz")
    expect(page.locator("article.directory-hit")).to_contain_text("km")

    page.get_by_role("link", name="Karte", exact=True).click()
    expect(page.locator("#directory-map.leaflet-container")).to_be_visible()
    # The organisation's marker (a Leaflet circle marker) and the same entry in the table below.
    expect(
        page.locator("#directory-map .leaflet-overlay-pane path.leaflet-interactive")
    ).to_have_count(1)
    expect(
        page.get_by_role("table").get_by_role("link", name="Hausarztpraxis Am Rathausplatz")
    ).to_be_visible()
    page.locator("#directory-map .leaflet-overlay-pane path.leaflet-interactive").click()
    expect(page.locator(".leaflet-popup-content")).to_contain_text("Hausarztpraxis Am Rathausplatz")
