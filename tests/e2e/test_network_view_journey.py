"""In a real browser: a coordinator filters the network view to a model region and clicks
through from a node of the graph to the organisation's profile."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.e2e

COORDINATOR = "koordination.netz@test.example.org"
REGION = "Ladbergen–Lengerich–Lienen–Tecklenburg"


def _prepare(app) -> dict[str, int]:
    from network.extensions import db
    from network.models import Collaboration, Municipality, Organisation, User
    from network.models.base import utcnow

    with app.app_context():
        coordinator = User(
            email=COORDINATOR, name="Karla", role="coordinator", email_confirmed_at=utcnow()
        )
        coordinator.set_password(TEST_PASSWORD)
        db.session.add(coordinator)
        specs = {
            "klinik": ("Klinikum Lengerich", "hospital", "05566040"),
            "praxis": ("Hausarztpraxis Am Markt", "gp_practice", "05566040"),
            "heim": ("Pflegeheim Haus am Teuto", "care_home", "05566088"),
            "dienst": ("Pflegedienst Ladbergen", "ambulatory_care", "05566032"),
            "rheine": ("Hausarztpraxis Rheine", "gp_practice", "05566076"),
        }
        orgs = {}
        for key, (name, kind, ags) in specs.items():
            place = db.session.get(Municipality, ags)
            orgs[key] = Organisation(
                name=name, kind=kind, ags=ags, latitude=place.latitude, longitude=place.longitude
            )
            db.session.add(orgs[key])
        db.session.flush()
        for u, v, kind in (
            ("klinik", "praxis", "referral"),
            ("klinik", "heim", "training"),
            ("heim", "dienst", "cooperation"),
            ("heim", "rheine", "telemedicine"),
        ):
            a, b = sorted((orgs[u].id, orgs[v].id))
            db.session.add(
                Collaboration(
                    org_a_id=a,
                    org_b_id=b,
                    kind=kind,
                    status="active",
                    confirmed_a=True,
                    confirmed_b=True,
                )
            )
        db.session.commit()
        return {key: org.id for key, org in orgs.items()}


def test_coordinator_filters_to_a_model_region_and_opens_a_profile(page, live_server):
    ids = _prepare(live_server.app)

    page.goto("/konto/anmelden")
    page.get_by_label("E-Mail-Adresse").fill(COORDINATOR)
    page.get_by_label("Passwort").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    page.get_by_role("navigation", name="Hauptnavigation").get_by_role(
        "link", name="Netzwerk"
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Netzwerk der Gesundheitsregion")

    filters = page.locator("#network-filters")
    filters.get_by_label("Modellregion").select_option(label=REGION)
    filters.get_by_role("button", name="Anwenden").click()
    expect(page).to_have_url(re.compile(r"model_region=ladbergen-lengerich-lienen-tecklenburg"))

    status = page.locator("#network-view-status")
    expect(status).to_have_text("4 Knoten und 3 Verbindungen gezeichnet.")
    page.wait_for_function("window.networkView && window.networkView.cy")
    drawn = page.evaluate("window.networkView.cy.nodes().map(n => n.data('label')).sort()")
    assert drawn == [
        "Hausarztpraxis Am Markt",
        "Klinikum Lengerich",
        "Pflegedienst Ladbergen",
        "Pflegeheim Haus am Teuto",
    ]
    # The same nodes as links below the canvas (keyboard and screen readers).
    page.get_by_text("Angezeigte Knoten als Liste").click()
    node_list = page.locator("#network-view-list")
    expect(node_list.get_by_role("link")).to_have_count(4)
    expect(node_list).not_to_contain_text("Rheine")
    # The tables below follow the filter too.
    expect(page.locator("#table-municipalities tbody tr")).to_have_count(4)

    # A tap on a node of the canvas opens its profile (the block body returns nothing: the
    # collection emit() returns is a huge object graph Playwright would try to serialise).
    page.evaluate("id => { window.networkView.cy.$id(id).emit('tap'); }", str(ids["heim"]))
    expect(page).to_have_url(re.compile(rf"/verzeichnis/{ids['heim']}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Pflegeheim Haus am Teuto")
