"""Suggestions in the app: refresh, review queue decisions, introductions, providers' feedback."""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa

from network.extensions import db
from network.mail import deliver_due
from network.models import AuditLog, Collaboration, Suggestion
from network.suggestions.services import refresh_suggestions


def _network(make_org, make_user):
    """A care home in Lengerich needing placements a hospital in Tecklenburg offers, etc."""
    provider = make_user("provider", email="leitung@test.example.org")
    care_home = make_org(
        "Seniorenzentrum Lengerich",
        "care_home",
        "05566040",
        offers={"placement:longterm_inpatient"},
        needs={"placement:acute_inpatient", "telemedicine"},
        members=[provider],
        contact_email="kontakt-heim@test.example.org",
    )
    hospital = make_org(
        "Klinik Tecklenburg",
        "hospital",
        "05566088",
        offers={"placement:acute_inpatient", "telemedicine"},
        needs={"placement:longterm_inpatient"},
        contact_email="kontakt-klinik@test.example.org",
    )
    gp = make_org("Hausarztpraxis Ladbergen", "gp_practice", "05566032", needs={"telemedicine"})
    far = make_org(
        "Pflegedienst Bocholt", "ambulatory_care", "05554008", offers={"placement:ambulatory"}
    )
    return provider, care_home, hospital, gp, far


def _pair(a, b):
    low, high = sorted((a.id, b.id))
    return db.session.scalar(sa.select(Suggestion).filter_by(org_a_id=low, org_b_id=high))


def test_refresh_stores_suggestions_with_reasons_and_fingerprints(app, make_org, make_user):
    _provider, care_home, hospital, _gp, far = _network(make_org, make_user)
    summary = refresh_suggestions()
    assert summary.created >= 1
    suggestion = _pair(care_home, hospital)
    assert suggestion is not None and suggestion.status == "open"
    assert suggestion.fingerprint and suggestion.reasons
    assert suggestion.cross_municipal is True
    assert any("placement:acute_inpatient" in str(r["params"]) for r in suggestion.reasons)
    # Bocholt is far beyond a care home's reach from Lengerich.
    assert _pair(care_home, far) is None


def test_no_suggestion_for_existing_collaboration(app, make_org, make_user):
    _provider, care_home, hospital, _gp, _far = _network(make_org, make_user)
    low, high = sorted((care_home.id, hospital.id))
    db.session.add(Collaboration(org_a_id=low, org_b_id=high, kind="training", status="active"))
    db.session.commit()
    refresh_suggestions()
    assert _pair(care_home, hospital) is None


def test_rejected_pair_returns_only_when_offers_or_needs_change(
    app, client, login_as, make_org, make_user
):
    _provider, care_home, hospital, _gp, _far = _network(make_org, make_user)
    refresh_suggestions()
    suggestion = _pair(care_home, hospital)
    login_as("coordinator")
    response = client.post(
        f"/vorschlaege/{suggestion.id}/entscheiden",
        data={"action": "reject", "comment": "passt nicht"},
    )
    assert response.status_code == 302
    refresh_suggestions()
    assert _pair(care_home, hospital).status == "rejected"

    care_home.set_tags(
        {"placement:longterm_inpatient"}, {"placement:acute_inpatient", "telemedicine", "childcare"}
    )
    db.session.commit()
    summary = refresh_suggestions()
    assert summary.reopened == 1
    assert _pair(care_home, hospital).status == "open"


def test_accept_creates_one_collaboration_and_introduces_both_sides(
    app, client, login_as, make_org, make_user, smtp_server
):
    provider, care_home, hospital, _gp, _far = _network(make_org, make_user)
    refresh_suggestions()
    suggestion = _pair(care_home, hospital)
    coordinator = login_as("coordinator")
    response = client.post(
        f"/vorschlaege/{suggestion.id}/entscheiden",
        data={
            "action": "accept",
            "kind": "training",
            "comment": "Ausbildungsverbund Tecklenburger Land",
        },
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert "Angenommen" in response.get_data(as_text=True)
    collaborations = db.session.scalars(sa.select(Collaboration)).all()
    assert len(collaborations) == 1 and collaborations[0].status == "active"
    assert collaborations[0].source == "suggestion"
    assert collaborations[0].active_since is not None  # digests count it from now
    # Accepting again does not create a second one.
    again = client.post(f"/vorschlaege/{suggestion.id}/entscheiden", data={"action": "accept"})
    assert again.status_code == 302
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Collaboration)) == 1

    deliver_due()
    for address in (
        provider.email,
        "kontakt-heim@test.example.org",
        "kontakt-klinik@test.example.org",
    ):
        [mail] = smtp_server.wait_for(address)
        assert "Vorstellung" in mail["Subject"]
    entry = db.session.scalar(sa.select(AuditLog).filter_by(action="suggestion.accepted"))
    assert entry.actor_id == coordinator.id
    assert entry.details["comment"] == "Ausbildungsverbund Tecklenburger Land"


def test_snooze_needs_a_future_date_and_hides_until_then(
    app, client, login_as, make_org, make_user
):
    _provider, care_home, hospital, _gp, _far = _network(make_org, make_user)
    refresh_suggestions()
    suggestion = _pair(care_home, hospital)
    login_as("coordinator")
    bad = client.post(
        f"/vorschlaege/{suggestion.id}/entscheiden",
        data={"action": "snooze", "snooze_until": "2001-01-01"},
        headers={"HX-Request": "true"},
    )
    assert bad.status_code == 422
    until = (date.today() + timedelta(days=14)).isoformat()
    client.post(
        f"/vorschlaege/{suggestion.id}/entscheiden",
        data={"action": "snooze", "snooze_until": until},
    )
    assert _pair(care_home, hospital).status == "snoozed"
    queue = client.get("/vorschlaege/").get_data(as_text=True)
    assert f'id="suggestion-{suggestion.id}"' not in queue
    assert f'id="suggestion-{suggestion.id}"' in client.get(
        "/vorschlaege/?status=snoozed"
    ).get_data(as_text=True)


def test_bulk_reject_and_show_as_ideas(app, client, login_as, make_org, make_user):
    _network(make_org, make_user)
    refresh_suggestions()
    ids = [str(i) for i in db.session.scalars(sa.select(Suggestion.id))]
    login_as("coordinator")
    client.post("/vorschlaege/sammelentscheidung", data={"ids": ids, "action": "show"})
    assert all(s.visible_to_providers for s in db.session.scalars(sa.select(Suggestion)))
    client.post(
        "/vorschlaege/sammelentscheidung",
        data={"ids": ids, "action": "reject", "comment": "Testlauf"},
    )
    assert {s.status for s in db.session.scalars(sa.select(Suggestion))} == {"rejected"}
    assert db.session.scalar(
        sa.select(sa.func.count()).select_from(AuditLog).filter_by(action="suggestion.rejected")
    ) == len(ids)


def test_queue_filters(app, client, login_as, make_org, make_user):
    _provider, care_home, hospital, gp, _far = _network(make_org, make_user)
    refresh_suggestions()
    login_as("coordinator")
    body = client.get("/vorschlaege/?kreis=05554").get_data(as_text=True)
    assert "Klinik Tecklenburg" not in body
    body = client.get(
        "/vorschlaege/?model_region=ladbergen-lengerich-lienen-tecklenburg&cross_only=1"
    ).get_data(as_text=True)
    assert "Klinik Tecklenburg" in body
    assert client.get("/vorschlaege/?min_score=abc").status_code == 200


def test_providers_see_only_their_own_and_feedback_moves_the_score(
    app, client, login_as, make_org, make_user
):
    provider, care_home, hospital, gp, _far = _network(make_org, make_user)
    refresh_suggestions()
    mine = _pair(care_home, hospital)
    other = _pair(hospital, gp)
    for suggestion in (mine, other):
        if suggestion is not None:
            suggestion.visible_to_providers = True
    db.session.commit()

    client.post(
        "/konto/anmelden", data={"email": provider.email, "password": "Test-Passwort-2026!"}
    )
    page = client.get("/vorschlaege/meine").get_data(as_text=True)
    assert "Klinik Tecklenburg" in page
    if other is not None:
        assert (
            client.post(
                f"/vorschlaege/{other.id}/rueckmeldung", data={"value": "interested"}
            ).status_code
            == 403
        )
    before = mine.score
    assert (
        client.post(
            f"/vorschlaege/{mine.id}/rueckmeldung", data={"value": "not_relevant"}
        ).status_code
        == 302
    )
    refresh_suggestions()
    after = _pair(care_home, hospital)
    assert after is None or after.score < before


def test_incremental_refresh_leaves_other_lists_untouched(app, make_org, make_user):
    _provider, care_home, hospital, gp, _far = _network(make_org, make_user)
    refresh_suggestions()
    before = {
        (s.org_a_id, s.org_b_id): s.computed_at for s in db.session.scalars(sa.select(Suggestion))
    }
    summary = refresh_suggestions(only=[gp.id])
    assert summary.incremental and summary.organisations == 1
    after = {
        (s.org_a_id, s.org_b_id): s.computed_at for s in db.session.scalars(sa.select(Suggestion))
    }
    untouched = [key for key in before if gp.id not in key]
    assert all(before[key] == after[key] for key in untouched if key in after)


def test_cli_refresh(app, make_org, make_user):
    _network(make_org, make_user)
    result = app.test_cli_runner().invoke(args=["suggestions", "refresh"])
    assert result.exit_code == 0, result.output
    assert "Organisationen" in result.output
