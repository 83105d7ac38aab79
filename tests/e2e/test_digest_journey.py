"""A coordinator in a real browser: previews a provider's digest, starts a run and watches it."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.e2e


def _prepare(app) -> dict[str, str]:
    from werkzeug.security import generate_password_hash

    from network.extensions import db
    from network.models import Application, Membership, Municipality, Organisation, Position, User
    from network.models.base import utcnow

    long_ago = utcnow() - timedelta(days=30)
    password = generate_password_hash(TEST_PASSWORD, method="scrypt")

    def person(email: str, role: str, name: str) -> User:
        user = User(
            email=email,
            name=name,
            role=role,
            password_hash=password,
            email_confirmed_at=long_ago,
            created_at=long_ago,
            digest_frequency="daily" if role == "coordinator" else "weekly",
            digest_weekday=0,
        )
        db.session.add(user)
        return user

    def organisation(name: str, ags: str, **fields) -> Organisation:
        place = db.session.get(Municipality, ags)
        org = Organisation(
            name=name,
            kind="gp_practice",
            ags=ags,
            latitude=place.latitude,
            longitude=place.longitude,
            **fields,
        )
        db.session.add(org)
        return org

    with app.app_context():
        coordinator = person("koordination@test.example.org", "coordinator", "Kora Koordination")
        provider = person("paula@praxis.example.org", "provider", "Paula Praxis")
        trainee = person("tim@test.example.org", "trainee", "Tim Trainee")
        praxis = organisation("Hausarztpraxis am Markt", "05566040", created_at=long_ago)
        db.session.flush()
        praxis.set_tags(set(), {"placement:paediatric"})
        db.session.add(
            Membership(
                user_id=provider.id, organisation_id=praxis.id, role="admin", status="approved"
            )
        )
        nearby = organisation("Kinderklinik Lienen", "05566044")
        db.session.flush()
        nearby.set_tags({"placement:paediatric"}, set())
        position = Position(
            organisation_id=praxis.id,
            position_type="job",
            profession="nurse",
            title="Medizinische Fachangestellte (m/w/d)",
            ags=praxis.ags,
            latitude=praxis.latitude,
            longitude=praxis.longitude,
            created_at=long_ago,
        )
        db.session.add(position)
        db.session.flush()
        db.session.add(
            Application(
                position_id=position.id, trainee_id=trainee.id, applicant_name="Tim Trainee"
            )
        )
        db.session.commit()
        return {"coordinator": coordinator.email, "provider": provider.email}


def _login(page, email: str) -> None:
    page.goto("/konto/anmelden")
    page.get_by_label("E-Mail-Adresse").fill(email)
    page.get_by_label("Passwort").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mein Bereich")


def test_coordinator_previews_a_providers_digest(page, live_server):
    people = _prepare(live_server.app)
    _login(page, people["coordinator"])
    page.get_by_role("link", name="Postausgang").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Postausgang")
    page.get_by_role("link", name="Zusammenfassung ansehen").click()

    page.get_by_label("Person suchen (E-Mail-Adresse oder Name)").fill("paula")
    page.get_by_role("button", name="Suchen").click()
    page.get_by_role("link", name=re.compile("Paula Praxis")).click()

    expect(
        page.get_by_role("heading", name="Nächste Zusammenfassung für Paula Praxis")
    ).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile("Neue Bewerbungen"))).to_be_visible()
    expect(
        page.get_by_role("link", name=re.compile("Tim Trainee für „Medizinische Fachangestellte"))
    ).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile("Neu in Ihrer Nähe"))).to_be_visible()
    expect(
        page.get_by_role(
            "link",
            name=re.compile(r"Kinderklinik Lienen, Lienen: \d+,\d km von Hausarztpraxis am Markt"),
        )
    ).to_be_visible()
    page.get_by_text("Textfassung der Mail").click()
    expect(page.locator("pre")).to_contain_text("/benachrichtigungen/abmelden/")


def test_coordinator_starts_a_digest_run_and_watches_its_progress(page, live_server, smtp_server):
    previous = live_server.app.config["DIGEST_HOUR"]
    live_server.app.config["DIGEST_HOUR"] = 0  # due whatever the time of day
    try:
        people = _prepare(live_server.app)
        _login(page, people["coordinator"])
        page.goto("/benachrichtigungen/postausgang")
        page.get_by_role("button", name="Fällige Zusammenfassungen jetzt versenden").click()
        expect(
            page.get_by_text("Der Versand der fälligen Zusammenfassungen läuft.")
        ).to_be_visible()
        # The progress panel polls itself (htmx) until the run is done, then shows the summary.
        expect(page.get_by_text("Fertig.")).to_be_visible(timeout=20000)
        sent = page.locator("#digest-job .stat").filter(
            has=page.get_by_text("gesendet", exact=True)
        )
        expect(sent.locator(".stat-value")).to_have_text("2")  # the provider and the coordinator
        [mail] = smtp_server.wait_for(people["provider"])
        assert "Tim Trainee" in mail.get_body(preferencelist=("plain",)).get_content()
    finally:
        live_server.app.config["DIGEST_HOUR"] = previous
