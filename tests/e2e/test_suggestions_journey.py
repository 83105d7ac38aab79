"""A coordinator accepts a suggested collaboration in the review queue, in a real browser."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.e2e


def test_coordinator_accepts_a_suggestion(page, live_server, smtp_server):
    from network.extensions import db
    from network.models import Membership, Municipality, Organisation, User
    from network.models.base import utcnow
    from network.suggestions.services import refresh_suggestions

    with live_server.app.app_context():

        def org(name, kind, ags, offers, needs, email):
            place = db.session.get(Municipality, ags)
            row = Organisation(
                name=name,
                kind=kind,
                ags=ags,
                latitude=place.latitude,
                longitude=place.longitude,
                contact_email=email,
            )
            row.set_tags(offers, needs)
            db.session.add(row)
            return row

        org(
            "Seniorenzentrum Lengerich",
            "care_home",
            "05566040",
            {"placement:longterm_inpatient"},
            {"placement:acute_inpatient"},
            "heim@e2e.example.org",
        )
        org(
            "Klinik Tecklenburg",
            "hospital",
            "05566088",
            {"placement:acute_inpatient"},
            {"placement:longterm_inpatient"},
            "klinik@e2e.example.org",
        )
        coordinator = User(
            email="koordination@e2e.example.org",
            name="Koordination",
            role="coordinator",
            email_confirmed_at=utcnow(),
        )
        coordinator.set_password(TEST_PASSWORD)
        db.session.add(coordinator)
        db.session.commit()
        assert Membership  # members are optional: the contact addresses get the introduction
        refresh_suggestions()
        db.session.remove()

    page.goto("/konto/anmelden")
    page.get_by_label("E-Mail-Adresse").fill("koordination@e2e.example.org")
    page.get_by_label("Passwort").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    page.goto("/vorschlaege/")
    row = page.locator("tr", has_text="Klinik Tecklenburg").filter(
        has_text="Seniorenzentrum Lengerich"
    )
    expect(row).to_have_count(1)
    expect(row.locator(".reasons")).to_contain_text("Praxiseinsatz")
    page.evaluate("window.__noReload = true")
    row.get_by_label("Kommentar").fill("Ausbildungsverbund")
    row.get_by_role("button", name="Annehmen").click()
    expect(page.get_by_text("Angenommen:")).to_be_visible()
    assert page.evaluate("window.__noReload") is True  # htmx swapped the row, no page load

    [mail] = smtp_server.wait_for("heim@e2e.example.org")
    assert "Klinik Tecklenburg" in mail["Subject"]
    smtp_server.wait_for("klinik@e2e.example.org")

    for name, partner in (
        ("Seniorenzentrum Lengerich", "Klinik Tecklenburg"),
        ("Klinik Tecklenburg", "Seniorenzentrum Lengerich"),
    ):
        page.goto("/vorschlaege/?status=accepted")
        page.get_by_role("link", name=name).first.click()
        expect(page.locator("main")).to_contain_text(partner)
