"""Collaborations as data: record, confirm or decline, end; members only; every step audited."""

from __future__ import annotations

import html
import re
from datetime import date

import pytest
import sqlalchemy as sa

from network.extensions import db
from network.mail import deliver_due
from network.models import AuditLog, Collaboration, OutboxMessage
from tests.conftest import TEST_PASSWORD, text_of

LENGERICH = "05566040"
TECKLENBURG = "05566088"


def login(app, user):
    client = app.test_client()
    response = client.post("/konto/anmelden", data={"email": user.email, "password": TEST_PASSWORD})
    assert response.status_code == 302
    return client


@pytest.fixture
def pair(app, make_user, make_org):
    """Two organisations with one member each; the recording side gets the larger id, so that
    storing ``org_a_id < org_b_id`` really swaps the pair."""
    partner_member = make_user("provider", name="Paul Partner", email="paul@test.example.org")
    recorder = make_user("provider", name="Rita Recorder", email="rita@test.example.org")
    partner = make_org(
        "Pflegeheim Haus am Teuto", kind="care_home", ags=TECKLENBURG, members=[partner_member]
    )
    org = make_org("Klinikum Lengerich", kind="hospital", ags=LENGERICH, members=[recorder])
    assert org.id > partner.id
    return {"org": org, "partner": partner, "recorder": recorder, "partner_member": partner_member}


def record(client, org_id, partner_id, **fields):
    data = {
        "partner_id": str(partner_id),
        "kind": "training",
        "since": "2024-04-01",
        "note": "Praxiseinsätze Langzeitpflege für unsere Auszubildenden",
        "partner_q": "Teuto",
    }
    data.update(fields)
    return client.post(f"/netzwerk/organisation/{org_id}/kooperationen", data=data)


def audit_actions(collaboration_id):
    return db.session.scalars(
        sa.select(AuditLog.action)
        .where(AuditLog.object_type == "collaboration", AuditLog.object_id == str(collaboration_id))
        .order_by(AuditLog.id)
    ).all()


def only_collaboration():
    [row] = db.session.scalars(sa.select(Collaboration)).all()
    return row


def test_record_then_confirm_makes_it_active(app, pair, smtp_server):
    org, partner = pair["org"], pair["partner"]
    rita = login(app, pair["recorder"])
    response = record(rita, org.id, partner.id)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]

    row = only_collaboration()
    assert (row.org_a_id, row.org_b_id) == (partner.id, org.id)  # normalised: a < b
    assert row.status == "proposed"
    assert row.confirmed_b is True and row.confirmed_a is False  # the recording side
    assert row.kind == "training" and row.since == date(2024, 4, 1)
    assert row.created_by_id == pair["recorder"].id
    assert audit_actions(row.id) == ["collaboration.recorded"]

    # The other side is asked by e-mail, with a link to its collaborations page.
    [message] = db.session.scalars(sa.select(OutboxMessage)).all()
    assert message.recipient == "paul@test.example.org"
    assert "Kooperation zur Bestätigung" in message.subject
    deliver_due()
    [mail] = smtp_server.wait_for("paul@test.example.org")
    body = text_of(mail)
    assert "Klinikum Lengerich" in body and "Ausbildungsverbund/Praxiseinsatz" in body
    assert f"/netzwerk/organisation/{partner.id}/kooperationen" in body

    paul = login(app, pair["partner_member"])
    page = paul.get(f"/netzwerk/organisation/{partner.id}/kooperationen").get_data(as_text=True)
    assert "Warten auf Ihre Bestätigung (1)" in page
    response = paul.post(
        f"/netzwerk/kooperationen/{row.id}/bestaetigen", data={"org_id": partner.id}
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(
        f"/netzwerk/organisation/{partner.id}/kooperationen"
    )
    db.session.refresh(row)
    assert row.status == "active" and row.confirmed_a and row.confirmed_b
    assert audit_actions(row.id) == ["collaboration.recorded", "collaboration.confirmed"]
    # The recorder learns about the decision.
    assert (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.recipient == "rita@test.example.org")
        )
        == 1
    )
    page = paul.get(f"/netzwerk/organisation/{partner.id}/kooperationen").get_data(as_text=True)
    assert "Aktive Kooperationen (1)" in page


def test_decline_ends_the_proposal_and_keeps_it_in_the_history(app, pair):
    org, partner = pair["org"], pair["partner"]
    record(login(app, pair["recorder"]), org.id, partner.id)
    row = only_collaboration()
    paul = login(app, pair["partner_member"])
    response = paul.post(f"/netzwerk/kooperationen/{row.id}/ablehnen", data={"org_id": partner.id})
    assert response.status_code == 302
    db.session.refresh(row)
    assert row.status == "ended" and row.ended_on == date.today()
    assert not (row.confirmed_a and row.confirmed_b)  # never active
    assert audit_actions(row.id) == ["collaboration.recorded", "collaboration.declined"]
    page = paul.get(f"/netzwerk/organisation/{partner.id}/kooperationen").get_data(as_text=True)
    assert "Historie (1)" in page and "nicht zustande gekommen" in page
    # A declined proposal can no longer be confirmed.
    paul.post(f"/netzwerk/kooperationen/{row.id}/bestaetigen", data={"org_id": partner.id})
    db.session.refresh(row)
    assert row.status == "ended"
    # The recording side cannot "decline" its own proposal; it withdraws it instead.
    record(login(app, pair["recorder"]), org.id, partner.id, kind="telemedicine")
    second = db.session.scalar(sa.select(Collaboration).where(Collaboration.kind == "telemedicine"))
    rita = login(app, pair["recorder"])
    rita.post(f"/netzwerk/kooperationen/{second.id}/ablehnen", data={"org_id": org.id})
    db.session.refresh(second)
    assert second.status == "proposed"
    rita.post(f"/netzwerk/kooperationen/{second.id}/beenden", data={"org_id": org.id})
    db.session.refresh(second)
    assert second.status == "ended"
    assert audit_actions(second.id)[-1] == "collaboration.withdrawn"


def test_ending_keeps_the_row_and_its_history(app, pair, make_user):
    org, partner = pair["org"], pair["partner"]
    coordinator = login(app, make_user("coordinator", name="Karla Koordination"))
    assert record(coordinator, org.id, partner.id).status_code == 302
    row = only_collaboration()
    assert row.status == "active"

    rita = login(app, pair["recorder"])
    response = rita.post(f"/netzwerk/kooperationen/{row.id}/beenden", data={"org_id": org.id})
    assert response.status_code == 302
    db.session.refresh(row)
    assert row.status == "ended" and row.ended_on == date.today()
    assert row.confirmed_a and row.confirmed_b  # it was active: history says "ended"
    assert row.note.startswith("Praxiseinsätze")
    assert audit_actions(row.id) == ["collaboration.recorded", "collaboration.ended"]
    page = rita.get(f"/netzwerk/organisation/{org.id}/kooperationen").get_data(as_text=True)
    assert "Historie (1)" in page and "Aktive Kooperationen (0)" in page
    assert "Beendet am" in page and "Karla Koordination" in page  # audit trail shown
    # The other side is told; ending twice is refused without changing anything.
    assert (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.recipient == "paul@test.example.org")
        )
        == 1
    )
    rita.post(f"/netzwerk/kooperationen/{row.id}/beenden", data={"org_id": org.id})
    assert audit_actions(row.id) == ["collaboration.recorded", "collaboration.ended"]
    # After ending, the same kind can be recorded anew (a new row; the old one stays).
    assert record(rita, org.id, partner.id).status_code == 302
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Collaboration)) == 2


def test_non_members_get_403(app, pair, make_user):
    org, partner = pair["org"], pair["partner"]
    record(login(app, pair["recorder"]), org.id, partner.id)
    row = only_collaboration()
    stranger = login(app, make_user("provider", email="fremd@test.example.org"))
    assert stranger.get(f"/netzwerk/organisation/{org.id}/kooperationen").status_code == 403
    assert (
        stranger.get(f"/netzwerk/organisation/{org.id}/partnersuche?partner_q=Teuto").status_code
        == 403
    )
    assert record(stranger, org.id, partner.id, kind="referral").status_code == 403
    for action in ("bestaetigen", "ablehnen", "beenden"):
        assert stranger.post(f"/netzwerk/kooperationen/{row.id}/{action}").status_code == 403
    trainee = login(app, make_user("trainee"))
    assert trainee.get(f"/netzwerk/organisation/{org.id}/kooperationen").status_code == 403
    db.session.refresh(row)
    assert row.status == "proposed"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Collaboration)) == 1
    # A pending (not yet approved) member is no member either.
    from network.models import Membership

    pending = make_user("provider", email="wartend@test.example.org")
    db.session.add(Membership(user_id=pending.id, organisation_id=partner.id, status="pending"))
    db.session.commit()
    client = login(app, pending)
    assert client.post(f"/netzwerk/kooperationen/{row.id}/bestaetigen").status_code == 403


def test_coordinator_records_for_both_sides(app, pair, make_user):
    org, partner = pair["org"], pair["partner"]
    coordinator = login(app, make_user("coordinator"))
    response = record(coordinator, org.id, partner.id, kind="cooperation", since="")
    assert response.status_code == 302
    row = only_collaboration()
    assert row.status == "active" and row.confirmed_a and row.confirmed_b and row.since is None
    assert row.active_since is not None  # active from the moment both sides are recorded
    details = db.session.scalar(
        sa.select(AuditLog.details).where(AuditLog.object_type == "collaboration")
    )
    assert details["confirmed_for"] == ["a", "b"] and details["status"] == "active"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 0
    # A coordinator may also confirm someone else's proposal for the missing side.
    record(login(app, pair["recorder"]), org.id, partner.id, kind="staff_exchange")
    proposal = db.session.scalar(
        sa.select(Collaboration).where(Collaboration.kind == "staff_exchange")
    )
    assert proposal.status == "proposed"
    coordinator.post(f"/netzwerk/kooperationen/{proposal.id}/bestaetigen", data={"org_id": org.id})
    db.session.refresh(proposal)
    assert proposal.status == "active"


def test_bad_input_is_refused_with_german_messages_and_kept(app, pair):
    org, partner = pair["org"], pair["partner"]
    rita = login(app, pair["recorder"])
    response = record(rita, org.id, "", note="Bitte nicht verlieren")
    assert response.status_code == 422
    page = html.unescape(response.get_data(as_text=True))
    assert "Bitte wählen Sie die Partnerorganisation aus der Suche aus." in page
    assert "Bitte nicht verlieren" in page
    assert 'value="2024-04-01"' in page
    # The search is repeated, so the partner can be chosen at once.
    assert "Pflegeheim Haus am Teuto" in page

    response = record(rita, org.id, partner.id, kind="", since="31.02.2024")
    assert response.status_code == 422
    page = html.unescape(response.get_data(as_text=True))
    assert "Bitte wählen Sie eine Art der Kooperation." in page
    assert "Bitte geben Sie ein gültiges Datum an." in page
    assert re.search(rf'value="{partner.id}"[^>]*checked|checked[^>]*value="{partner.id}"', page)

    response = record(rita, org.id, org.id)
    assert response.status_code == 422
    assert "nicht mit sich selbst" in response.get_data(as_text=True)

    response = record(rita, org.id, partner.id, note="x" * 2001)
    assert response.status_code == 422
    assert "höchstens 2000 Zeichen" in response.get_data(as_text=True)

    assert record(rita, org.id, partner.id).status_code == 302
    response = record(rita, org.id, partner.id)
    assert response.status_code == 422
    assert "wartet auf Bestätigung" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Collaboration)) == 1


def test_partner_search_finds_organisations_by_name(app, pair):
    org = pair["org"]
    rita = login(app, pair["recorder"])
    fragment = rita.get(f"/netzwerk/organisation/{org.id}/partnersuche?partner_q=Teuto")
    assert fragment.status_code == 200
    text = fragment.get_data(as_text=True)
    assert "Pflegeheim Haus am Teuto (Tecklenburg)" in text
    assert 'name="partner_id"' in text
    # The organisation itself is never offered as its own partner.
    text = rita.get(f"/netzwerk/organisation/{org.id}/partnersuche?partner_q=Klinikum").get_data(
        as_text=True
    )
    assert "Klinikum Lengerich" not in text
    page = rita.get(f"/netzwerk/organisation/{org.id}/kooperationen?partner_q=Teuto").get_data(
        as_text=True
    )
    assert "Pflegeheim Haus am Teuto" in page


def test_a_race_between_confirm_and_decline_has_one_winner(app, pair):
    from network.network_view import services

    org, partner = pair["org"], pair["partner"]
    record(login(app, pair["recorder"]), org.id, partner.id)
    row = only_collaboration()
    seen = services._seen(row)  # what a slower request loaded: still proposed
    with app.test_request_context():
        services.decline_collaboration(row, pair["partner_member"])
    # The slower request's confirmation, based on the old state, must not revive it.
    with app.test_request_context(), pytest.raises(services.CollaborationError):
        services._compare_and_set(row, seen, {"status": "active", "confirmed_a": True})
    db.session.expire_all()
    assert db.session.get(Collaboration, row.id).status == "ended"
