"""Placement rounds in a real browser: a coordinator sets up, runs and publishes a small round;
a trainee ranks with the move buttons and later sees the assignment."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from tests.conftest import TEST_PASSWORD, text_of

pytestmark = pytest.mark.e2e

TECKLENBURG = "05566088"
LENGERICH = "05566040"
LIENEN = "05566044"


def _prepare(app) -> dict:
    """Accounts and organisations as they would exist before a round (no round yet)."""
    from network.extensions import db
    from network.models import Membership, Municipality, Organisation, TraineeProfile, User
    from network.models.base import utcnow

    with app.app_context():
        template = User()
        template.set_password(TEST_PASSWORD)  # hashing is slow on purpose: do it once, share it

        def user(email: str, name: str, role: str) -> User:
            account = User(email=email, name=name, role=role, email_confirmed_at=utcnow())
            account.password_hash = template.password_hash
            db.session.add(account)
            db.session.flush()
            return account

        coordinator = user("koordination@rund.example.org", "Karla Koordination", "coordinator")
        provider = user("heim@rund.example.org", "Paula Pflegeheim", "provider")
        orgs = {}
        for name, kind, ags in (
            ("Seniorenhaus Am Teuto", "care_home", TECKLENBURG),
            ("Pflegedienst Lengerich mobil", "ambulatory_care", LENGERICH),
            ("Wohnpark Lienen", "care_home", LIENEN),
        ):
            place = db.session.get(Municipality, ags)
            org = Organisation(
                name=name, kind=kind, ags=ags, latitude=place.latitude, longitude=place.longitude
            )
            db.session.add(org)
            db.session.flush()
            orgs[name] = org.id
        db.session.add(
            Membership(
                user_id=provider.id,
                organisation_id=orgs["Seniorenhaus Am Teuto"],
                role="admin",
                status="approved",
            )
        )
        trainees = {}
        for email, name, ags in (
            ("anna@rund.example.org", "Anna Azubi", TECKLENBURG),
            ("ben@rund.example.org", "Ben Azubi", LENGERICH),
            ("cem@rund.example.org", "Cem Azubi", LIENEN),
        ):
            account = user(email, name, "trainee")
            db.session.add(
                TraineeProfile(
                    user_id=account.id, professions=["pflegefachperson"], home_ags=ags,
                    max_distance_km=30, visible_to_providers=True,
                )
            )  # fmt: skip
            trainees[name] = account.id
        db.session.commit()
        return {"coordinator": coordinator.email, "orgs": orgs, "trainees": trainees}


def _login(page, email: str) -> None:
    page.goto("/konto/anmelden")
    page.get_by_label("E-Mail-Adresse").fill(email)
    page.get_by_label("Passwort").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mein Bereich")


def _add_placement(page, organisation: str, seats: int, tag: str) -> None:
    page.get_by_label("Organisation", exact=True).select_option(label=organisation)
    page.get_by_label("Einsatzart (optional)").select_option(label=tag)
    page.get_by_label("Plätze").fill(str(seats))
    page.get_by_role("button", name="Einsatzort hinzufügen").click()
    expect(page.get_by_text("hinzugefügt")).to_be_visible()


def test_coordinator_runs_and_publishes_a_round_and_the_trainee_sees_the_result(
    page, live_server, smtp_server
):
    data = _prepare(live_server.app)

    _login(page, data["coordinator"])
    page.get_by_role("navigation", name="Hauptnavigation").get_by_role(
        "link", name="Vergaberunden"
    ).click()
    page.get_by_role("link", name="Neue Vergaberunde").click()
    page.get_by_label("Name der Runde").fill("Pflichteinsätze Herbst (Test)")
    page.get_by_role("button", name="Runde anlegen").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Pflichteinsätze Herbst (Test)")

    _add_placement(
        page, "Seniorenhaus Am Teuto (Tecklenburg)", 1, "Praxiseinsatz stationäre Langzeitpflege"
    )
    _add_placement(
        page, "Pflegedienst Lengerich mobil (Lengerich)", 2, "Praxiseinsatz ambulante Pflege"
    )
    expect(
        page.get_by_role("table", name="Einsatzorte der Runde").get_by_role("row")
    ).to_have_count(3)

    page.get_by_role("link", name="Teilnehmende auswählen").click()
    page.get_by_role("button", name="Alle angezeigten auswählen").click()
    expect(page.get_by_text("3 hinzugefügt")).to_be_visible()
    page.get_by_role("link", name="Zur Runde").click()
    page.get_by_role("button", name="Für Rangfolgen öffnen").click()
    expect(page.get_by_text("Die Runde ist offen")).to_be_visible()

    # The trainees and the providers rank (directly in the database, as the forms would).
    with live_server.app.app_context():
        from network.extensions import db
        from network.models import AllocationRound, User
        from network.rounds import services

        round_ = db.session.scalar(sa.select(AllocationRound))
        placements = {p.organisation.name: p for p in round_.placements}
        teuto, mobil = (
            placements["Seniorenhaus Am Teuto"],
            placements["Pflegedienst Lengerich mobil"],
        )
        people = {name: db.session.get(User, uid) for name, uid in data["trainees"].items()}
        services.save_trainee_ranking(round_, people["Anna Azubi"], [teuto.id, mobil.id])
        services.save_trainee_ranking(round_, people["Ben Azubi"], [teuto.id, mobil.id])
        services.save_trainee_ranking(round_, people["Cem Azubi"], [mobil.id])
        # The care home prefers Ben; the home care service leaves it to the proposal.
        provider = db.session.scalar(sa.select(User).where(User.email == "heim@rund.example.org"))
        services.save_placement_ranking(
            round_, teuto, [people["Ben Azubi"].id, people["Anna Azubi"].id], provider
        )
        round_id = round_.id

    page.reload()
    expect(
        page.get_by_text("1 Einsatzort hat Bewerbungen, aber noch keine Rangfolge")
    ).to_be_visible()
    expect(
        page.get_by_label(
            "Für Einsatzorte ohne Rangfolge der Einrichtung den Vorschlag nach Passung verwenden"
        )
    ).to_be_checked()
    page.get_by_role("button", name="Zuteilung berechnen").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Ergebnis: Pflichteinsätze Herbst (Test)"
    )
    expect(page.get_by_text("Die Zuteilung ist berechnet")).to_be_visible()
    distribution = page.get_by_role(
        "table", name="Wie viele Auszubildende ihren 1., 2., … Wunsch erhielten"
    )
    expect(distribution.get_by_role("row", name="1. Wunsch")).to_contain_text("2")
    expect(distribution.get_by_role("row", name="2. Wunsch")).to_contain_text("1")
    expect(page.get_by_text("100 %")).to_be_visible()
    # Chart.js drew the bar chart into the canvas (it sets the size attributes when it renders).
    expect(page.locator("canvas#rank-chart")).to_have_attribute("style", re.compile("height"))
    assignments = page.get_by_role("table", name="Zuteilung je Person")
    expect(assignments.get_by_role("row", name=re.compile("Anna Azubi"))).to_contain_text(
        "Pflegedienst Lengerich mobil"
    )
    expect(assignments.get_by_role("row", name=re.compile("Ben Azubi"))).to_contain_text(
        "Seniorenhaus Am Teuto"
    )

    page.get_by_role("button", name="Ergebnis veröffentlichen").click()
    expect(
        page.get_by_text("Das Ergebnis ist veröffentlicht; 4 Benachrichtigungen sind unterwegs.")
    ).to_be_visible()
    expect(page.get_by_role("button", name="Ergebnis veröffentlichen")).to_have_count(0)
    [mail] = smtp_server.wait_for("anna@rund.example.org")
    assert "Pflegedienst Lengerich mobil" in text_of(mail)
    [mail] = smtp_server.wait_for("heim@rund.example.org")
    assert "Ben Azubi" in text_of(mail)

    page.get_by_role("button", name="Abmelden").click()
    _login(page, "anna@rund.example.org")
    page.get_by_role("navigation", name="Hauptnavigation").get_by_role(
        "link", name="Vergaberunden"
    ).click()
    card = page.get_by_role("region", name="Pflichteinsätze Herbst (Test)")
    expect(card).to_contain_text("Ihr Einsatzort:")
    expect(card).to_contain_text("Pflegedienst Lengerich mobil")
    card.get_by_role("link", name=re.compile("Ansehen")).click()
    expect(page).to_have_url(re.compile(rf"/vergaberunden/{round_id}/meine-rangfolge$"))
    expect(page.get_by_role("region", name="Ihr Ergebnis")).to_contain_text("2. Wunsch")


def test_trainee_orders_placements_with_the_move_buttons(page, live_server):
    data = _prepare(live_server.app)
    with live_server.app.app_context():
        from network.extensions import db
        from network.models import User
        from network.rounds import services
        from network.rounds.services import PlacementData, RoundData

        coordinator = db.session.scalar(sa.select(User).where(User.email == data["coordinator"]))
        round_ = services.create_round(RoundData("Runde mit Wunschliste"), coordinator)
        for name, org_id in data["orgs"].items():
            services.add_placement(
                round_, PlacementData(org_id, 1, name=f"Einsatz {name}"), coordinator
            )
        services.set_eligible_trainees(
            round_, data["trainees"].values(), data["trainees"].values(), coordinator
        )
        services.open_round(round_, coordinator)
        round_id = round_.id

    _login(page, "ben@rund.example.org")
    page.goto(f"/vergaberunden/{round_id}/meine-rangfolge")
    wish_list = page.get_by_role("table", name="Ihre Wunschliste")
    expect(wish_list).to_contain_text("Noch kein Einsatzort gewählt")
    page.get_by_role("button", name="„Einsatz Wohnpark Lienen“ in die Rangfolge aufnehmen").click()
    expect(wish_list.get_by_role("row")).to_have_count(2)
    # Focus moved to the item's new place in the list.
    expect(page.get_by_role("button", name="„Einsatz Wohnpark Lienen“ nach oben")).to_be_focused()
    page.get_by_role(
        "button", name="„Einsatz Seniorenhaus Am Teuto“ in die Rangfolge aufnehmen"
    ).click()
    expect(wish_list.get_by_role("row")).to_have_count(3)
    # Move with the keyboard: focus stays on the moved item's button after the htmx swap.
    up = page.get_by_role("button", name="„Einsatz Seniorenhaus Am Teuto“ nach oben")
    up.focus()
    page.keyboard.press("Enter")
    expect(
        page.get_by_role("button", name="„Einsatz Seniorenhaus Am Teuto“ nach oben")
    ).to_be_focused()
    expect(page.get_by_role("status").filter(has_text="steht jetzt auf Rang 1")).to_have_count(1)
    expect(wish_list.get_by_role("row").nth(1)).to_contain_text("Einsatz Seniorenhaus Am Teuto")
    expect(page.get_by_text("noch nicht gespeichert")).to_be_visible()
    page.get_by_role("button", name="Rangfolge speichern").click()
    expect(page.get_by_text("Ihre Rangfolge ist gespeichert.")).to_be_visible()
    expect(
        page.get_by_role("table", name="Ihre Wunschliste").get_by_role("row").nth(1)
    ).to_contain_text("Einsatz Seniorenhaus Am Teuto")

    with live_server.app.app_context():
        from network.extensions import db
        from network.models import RoundPlacement, TraineeRanking

        order = (
            db.session.execute(
                sa.select(RoundPlacement.name)
                .join(TraineeRanking, TraineeRanking.placement_id == RoundPlacement.id)
                .where(TraineeRanking.user_id == data["trainees"]["Ben Azubi"])
                .order_by(TraineeRanking.rank)
            )
            .scalars()
            .all()
        )
    assert order == ["Einsatz Seniorenhaus Am Teuto", "Einsatz Wohnpark Lienen"]
