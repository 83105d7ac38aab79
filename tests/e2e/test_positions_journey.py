"""A trainee from Ladbergen finds a nursing apprenticeship in Lengerich, applies, and hears back."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

from tests.conftest import TEST_PASSWORD, text_of

pytestmark = pytest.mark.e2e

LADBERGEN = "05566032"
LENGERICH = "05566040"
LIENEN = "05566044"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def _prepare(app) -> dict[str, str]:
    from network.extensions import db
    from network.models import Membership, Municipality, Organisation, Position, User
    from network.models.base import utcnow

    with app.app_context():
        trainee = User(
            email="tara@test.example.org",
            name="Tara aus Ladbergen",
            role="trainee",
            email_confirmed_at=utcnow(),
        )
        provider = User(
            email="paula@test.example.org",
            name="Paula Pflege",
            role="provider",
            email_confirmed_at=utcnow(),
        )
        for user in (trainee, provider):
            user.set_password(TEST_PASSWORD)
            db.session.add(user)
        organisations = {}
        for name, ags, kind in (
            ("Pflegeheim am Teuto (Lengerich)", LENGERICH, "care_home"),
            ("Ambulanter Dienst Lienen", LIENEN, "ambulatory_care"),
        ):
            place = db.session.get(Municipality, ags)
            organisations[ags] = Organisation(
                name=name, kind=kind, ags=ags, latitude=place.latitude, longitude=place.longitude
            )
            db.session.add(organisations[ags])
        db.session.flush()
        db.session.add(
            Membership(
                user_id=provider.id,
                organisation_id=organisations[LENGERICH].id,
                role="admin",
                status="approved",
            )
        )
        start = date.today() + timedelta(days=150)
        for org, title, benefits, kind in (
            (
                organisations[LENGERICH],
                "Ausbildung Pflegefachfrau/-mann in Lengerich",
                ["housing"],
                "apprenticeship",
            ),
            (organisations[LENGERICH], "Praxiseinsatz Langzeitpflege", ["housing"], "placement"),
            (
                organisations[LIENEN],
                "Ausbildung Pflegefachfrau/-mann in Lienen",
                [],
                "apprenticeship",
            ),
        ):
            db.session.add(
                Position(
                    organisation_id=org.id,
                    position_type=kind,
                    profession="pflegefachperson",
                    title=title,
                    benefits=benefits,
                    seats=2,
                    start_date=start,
                    deadline=date.today() + timedelta(days=60),
                    ags=org.ags,
                    latitude=org.latitude,
                    longitude=org.longitude,
                )
            )
        db.session.commit()
    return {
        "trainee": "tara@test.example.org",
        "provider": "paula@test.example.org",
        "start": start.isoformat(),
    }


def _login(page, email: str) -> None:
    page.goto("/konto/anmelden")
    page.get_by_label("E-Mail-Adresse").fill(email)
    page.get_by_label("Passwort").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mein Bereich")


def test_trainee_finds_applies_and_the_provider_answers(page, live_server, smtp_server):
    people = _prepare(live_server.app)
    _login(page, people["trainee"])

    # The search profile: what, where, when, and what the trainee would like.
    page.get_by_role("link", name="Mein Suchprofil").click()
    page.get_by_label("Ausbildungsplatz").check()
    page.get_by_label(
        "Pflegefachfrau / Pflegefachmann (generalistische Pflegeausbildung)", exact=True
    ).check()
    page.get_by_label("Wohnort").select_option(LADBERGEN)
    page.get_by_label("Höchste Entfernung in km").fill("25")
    page.get_by_label("Frühester Beginn").fill((date.today() + timedelta(days=100)).isoformat())
    page.get_by_label("Wohnung").check()
    page.get_by_role("button", name="Profil speichern").click()
    expect(page.get_by_text("Ihr Suchprofil ist gespeichert.")).to_be_visible()

    # The search starts from the profile: Ladbergen, 25 km, apprenticeships in nursing.
    expect(page.get_by_label("Ort", exact=True)).to_have_value(LADBERGEN)
    expect(page.get_by_label("Umkreis")).to_have_value("25")
    expect(page.get_by_text("Sortiert nach Passung")).to_be_visible()
    page.get_by_label("Name der Suche").fill("Pflege-Ausbildung bei Ladbergen")
    page.get_by_role("button", name="Suche speichern").click()
    expect(
        page.get_by_text("Die Suche „Pflege-Ausbildung bei Ladbergen“ ist gespeichert.")
    ).to_be_visible()
    page.get_by_role("link", name="Pflege-Ausbildung bei Ladbergen").click()

    results = page.locator("ol.position-results > li")
    expect(results).to_have_count(2)  # the placement is not an apprenticeship
    first = results.first
    expect(first.get_by_role("heading")).to_contain_text(
        "Ausbildung Pflegefachfrau/-mann in Lengerich"
    )
    reasons = first.locator("ul.reasons")
    expect(reasons).to_contain_text(re.compile(r"\d+ km entfernt"))
    expect(reasons).to_contain_text("Start passt")
    expect(reasons).to_contain_text("Wohnung angeboten")
    expect(first.locator(".score")).to_contain_text("Passung")
    expect(results.nth(1)).to_contain_text("Lienen")

    # Apply with a message and a CV.
    first.get_by_role("link", name="Ausbildung Pflegefachfrau/-mann in Lengerich").click()
    expect(page.get_by_role("heading", name="Passt das zu mir?")).to_be_visible()
    page.get_by_role("link", name="Jetzt bewerben").click()
    page.get_by_label("Ihre Nachricht an die Einrichtung").fill(
        "Ich möchte Pflegefachfrau werden und wohne in Ladbergen."
    )
    page.get_by_label("Anhang (optional)").set_input_files(
        {"name": "Lebenslauf.pdf", "mimeType": "application/pdf", "buffer": PDF}
    )
    page.get_by_role("button", name="Bewerbung absenden").click()
    expect(page.get_by_text("Ihre Bewerbung ist abgeschickt.")).to_be_visible()
    expect(page.get_by_role("cell", name="Pflegeheim am Teuto (Lengerich)")).to_be_visible()

    [notice] = smtp_server.wait_for(people["provider"])
    link = re.search(r"http://127\.0\.0\.1:\d+/stellen/bewerbungen/\d+", text_of(notice)).group(0)
    page.get_by_role("button", name="Abmelden").click()

    # The provider answers: an interview, with a note.
    _login(page, people["provider"])
    page.goto(link)
    expect(
        page.get_by_text("Ich möchte Pflegefachfrau werden und wohne in Ladbergen.")
    ).to_be_visible()
    expect(page.get_by_role("link", name="Lebenslauf.pdf")).to_be_visible()
    page.get_by_label("Status der Bewerbung").select_option("interview")
    page.get_by_label("Nachricht an die Bewerberin oder den Bewerber").fill(
        "Kommen Sie am Montag um 10 Uhr vorbei."
    )
    page.get_by_role("button", name="Antwort senden").click()
    expect(page.locator("#application-status")).to_contain_text("Gespräch")

    answer = next(
        m for m in smtp_server.wait_for(people["trainee"], count=2) if "Gespräch" in m["Subject"]
    )
    assert "Kommen Sie am Montag um 10 Uhr vorbei." in text_of(answer)
