"""Placement rounds: set-up, rankings on both sides, the match, publication, export, audit."""

from __future__ import annotations

import csv
import io
import time
from datetime import timedelta
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from network.extensions import db
from network.mail import deliver_due
from network.models import (
    AllocationRound,
    AuditLog,
    Job,
    Membership,
    OutboxMessage,
    PlacementRanking,
    Position,
    RoundAssignment,
    RoundPlacement,
    RoundTrainee,
    TraineeProfile,
    TraineeRanking,
    User,
)
from network.rounds import services
from network.rounds.services import PlacementData, RoundData
from tests.conftest import TEST_PASSWORD, text_of

LENGERICH = "05566040"
TECKLENBURG = "05566088"


def client_for(app, user):
    """A fresh client logged in as ``user`` (several people act in one test)."""
    client = app.test_client()
    response = client.post("/konto/anmelden", data={"email": user.email, "password": TEST_PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return client


@pytest.fixture
def small_round(app, make_user, make_org):
    """Two placements with one seat each, three trainees; open for rankings.

    ``rank_all()`` stores the classic instance: A and B want P then Q, C only Q; P prefers B to
    A, Q prefers A to B to C. The trainee-optimal stable result: A→Q (2nd wish), B→P (1st), C
    without a place.
    """
    coordinator = make_user("coordinator", name="Karla Koordination")
    provider_p = make_user("provider", name="Paula Pflegeheim")
    provider_q = make_user("provider", name="Quirin Pflegedienst")
    outsider = make_user("provider", name="Otto Anderswo")
    org_p = make_org(
        name="Pflegeheim am Teuto", kind="care_home", ags=TECKLENBURG, members=[provider_p]
    )
    org_q = make_org(
        name="Pflegedienst Lengerich", kind="ambulatory_care", ags=LENGERICH, members=[provider_q]
    )
    make_org(name="Praxis Anderswo", members=[outsider])
    round_ = services.create_round(RoundData("Herbstrunde", "Pflichteinsätze"), coordinator)
    p = services.add_placement(
        round_,
        PlacementData(org_p.id, 1, placement_tag="placement:longterm_inpatient"),
        coordinator,
    )
    q = services.add_placement(
        round_,
        PlacementData(org_q.id, 1, name="Ambulant Lengerich", placement_tag="placement:ambulatory"),
        coordinator,
    )
    a = make_user("trainee", name="Anna Azubi")
    b = make_user("trainee", name="Ben Azubi")
    c = make_user("trainee", name="Cem Azubi")
    stranger = make_user("trainee", name="Doris Draußen")
    ids = [a.id, b.id, c.id]
    services.set_eligible_trainees(round_, ids, ids, coordinator)
    services.open_round(round_, coordinator)

    def rank_all() -> None:
        services.save_trainee_ranking(round_, a, [p.id, q.id])
        services.save_trainee_ranking(round_, b, [p.id, q.id])
        services.save_trainee_ranking(round_, c, [q.id])
        services.save_placement_ranking(round_, p, [b.id, a.id], provider_p)
        services.save_placement_ranking(round_, q, [a.id, b.id, c.id], provider_q)

    return SimpleNamespace(
        round=round_,
        coordinator=coordinator,
        provider_p=provider_p,
        provider_q=provider_q,
        outsider=outsider,
        org_p=org_p,
        org_q=org_q,
        p=p,
        q=q,
        a=a,
        b=b,
        c=c,
        stranger=stranger,
        rank_all=rank_all,
    )


def assignments(round_id: int) -> dict[int, tuple[int | None, int | None]]:
    rows = db.session.scalars(
        sa.select(RoundAssignment).where(RoundAssignment.round_id == round_id)
    )
    return {r.user_id: (r.placement_id, r.trainee_rank) for r in rows}


def actions(round_id: int) -> list[str]:
    return list(
        db.session.scalars(
            sa.select(AuditLog.action)
            .where(AuditLog.object_type == "allocation_round", AuditLog.object_id == str(round_id))
            .order_by(AuditLog.id)
        )
    )


# --------------------------------------------------------------------------- set-up


def test_coordinator_creates_a_round_through_the_forms(app, client, login_as, make_org, make_user):
    coordinator = login_as("coordinator")
    org = make_org(name="Seniorenhaus Lienen", kind="care_home", ags="05566044")
    other = make_org(name="Klinik Anderswo", kind="hospital")
    foreign_position = Position(
        organisation_id=other.id, position_type="placement", profession="pflegefachperson", title="Einsatz Klinik",
        ags=other.ags, latitude=other.latitude, longitude=other.longitude, status="open",
    )  # fmt: skip
    db.session.add(foreign_position)
    db.session.commit()

    response = client.post("/vergaberunden/neu", data={"name": "", "description": "Mein Text"})
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "Bitte geben Sie der Runde einen Namen." in body and "Mein Text" in body

    response = client.post(
        "/vergaberunden/neu",
        data={
            "name": "Frühjahrsrunde 2027",
            "description": "Pädiatrie und ambulant",
            "ranking_deadline": "2027-03-01",
        },
    )
    assert response.status_code == 302
    round_ = db.session.scalar(sa.select(AllocationRound))
    assert round_.status == "draft" and round_.created_by_id == coordinator.id
    assert str(round_.ranking_deadline) == "2027-03-01"
    detail = client.get(f"/vergaberunden/{round_.id}")
    assert detail.status_code == 200 and "Seniorenhaus Lienen" in detail.get_data(as_text=True)

    # A position of another organisation is refused at the field; input is kept.
    response = client.post(
        f"/vergaberunden/{round_.id}/einsatzorte",
        data={
            "organisation_id": org.id,
            "position_id": foreign_position.id,
            "seats": 2,
            "name": "Mein Einsatz",
        },
    )
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "gehört nicht zu Seniorenhaus Lienen" in body and 'value="Mein Einsatz"' in body
    response = client.post(
        f"/vergaberunden/{round_.id}/einsatzorte", data={"organisation_id": 0, "seats": 0}
    )
    assert response.status_code == 422
    assert "Bitte wählen Sie eine Organisation." in response.get_data(as_text=True)

    response = client.post(
        f"/vergaberunden/{round_.id}/einsatzorte",
        data={
            "organisation_id": org.id,
            "seats": 2,
            "placement_tag": "placement:longterm_inpatient",
            "position_id": 0,
        },
    )
    assert response.status_code == 302
    # An organisation found by the search box (not in the default list) can be chosen too.
    response = client.post(
        f"/vergaberunden/{round_.id}/einsatzorte?org_q=Anderswo",
        data={"organisation_id": other.id, "seats": 1, "position_id": foreign_position.id},
    )
    assert response.status_code == 302
    placements = db.session.scalars(sa.select(RoundPlacement).order_by(RoundPlacement.id)).all()
    assert [(p.name, p.seats, p.position_id) for p in placements] == [
        ("Praxiseinsatz stationäre Langzeitpflege – Seniorenhaus Lienen", 2, None),
        ("Einsatz Klinik", 1, foreign_position.id),
    ]

    # Opening needs trainees first.
    response = client.post(f"/vergaberunden/{round_.id}/oeffnen", follow_redirects=True)
    assert "wählen Sie zuerst die teilnehmenden Auszubildenden" in response.get_data(as_text=True)
    nurse = make_user("trainee", name="Nora Pflege")
    db.session.add(TraineeProfile(user_id=nurse.id, professions=["pflegefachperson"]))
    mfa = make_user("trainee", name="Max Praxis")
    db.session.add(TraineeProfile(user_id=mfa.id, professions=["mfa"]))
    db.session.commit()
    page = client.get(f"/vergaberunden/{round_.id}/teilnehmende?profession=pflegefachperson")
    body = page.get_data(as_text=True)
    assert "Nora Pflege" in body and "Max Praxis" not in body
    response = client.post(
        f"/vergaberunden/{round_.id}/teilnehmende?profession=pflegefachperson",
        data={"shown": [nurse.id], "action": "select_all"},
    )
    assert (
        response.status_code == 302
        and "profession=pflegefachperson" in response.headers["Location"]
    )
    assert [t.user_id for t in db.session.scalars(sa.select(RoundTrainee))] == [nurse.id]
    # Saving a filtered list leaves the trainees it did not show alone.
    client.post(
        f"/vergaberunden/{round_.id}/teilnehmende?q=Max",
        data={"shown": [mfa.id], "selected": [mfa.id]},
    )
    assert {t.user_id for t in db.session.scalars(sa.select(RoundTrainee))} == {nurse.id, mfa.id}
    client.post(f"/vergaberunden/{round_.id}/teilnehmende?q=Max", data={"shown": [mfa.id]})
    assert {t.user_id for t in db.session.scalars(sa.select(RoundTrainee))} == {nurse.id}

    assert client.post(f"/vergaberunden/{round_.id}/oeffnen").status_code == 302
    db.session.refresh(round_)
    assert round_.status == "ranking"
    assert actions(round_.id) == [
        "rounds.created",
        "rounds.placement_added",
        "rounds.placement_added",
        "rounds.trainees_changed",
        "rounds.trainees_changed",
        "rounds.trainees_changed",
        "rounds.opened",
    ]
    overview = client.get("/vergaberunden/").get_data(as_text=True)
    assert "Frühjahrsrunde 2027" in overview and "Rangfolgen offen" in overview


def test_index_shows_each_role_its_own_rounds(app, small_round, make_user):
    draft = services.create_round(RoundData("Geheimer Entwurf"), small_round.coordinator)
    coordinator = (
        client_for(app, small_round.coordinator).get("/vergaberunden/").get_data(as_text=True)
    )
    assert "Herbstrunde" in coordinator and "Geheimer Entwurf" in coordinator

    trainee = client_for(app, small_round.a).get("/vergaberunden/").get_data(as_text=True)
    assert "Herbstrunde" in trainee and "Geheimer Entwurf" not in trainee
    stranger = client_for(app, small_round.stranger).get("/vergaberunden/").get_data(as_text=True)
    assert "Herbstrunde" not in stranger and "an keiner Vergaberunde teil" in stranger

    provider = client_for(app, small_round.provider_p).get("/vergaberunden/").get_data(as_text=True)
    assert (
        "Herbstrunde" in provider
        and small_round.p.name in provider
        and "Ambulant Lengerich" not in provider
    )
    outsider = client_for(app, small_round.outsider).get("/vergaberunden/").get_data(as_text=True)
    assert "Herbstrunde" not in outsider
    # The coordinator's pages are not for trainees and providers.
    assert client_for(app, small_round.a).get(f"/vergaberunden/{draft.id}").status_code == 403
    assert (
        client_for(app, small_round.provider_p)
        .get(f"/vergaberunden/{small_round.round.id}")
        .status_code
        == 403
    )


# --------------------------------------------------------------------------- rankings


def test_trainee_ranks_only_rounds_they_take_part_in(app, small_round, make_user, make_org):
    r, a = small_round.round, small_round.a
    url = f"/vergaberunden/{r.id}/meine-rangfolge"
    client = client_for(app, a)
    page = client.get(url)
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "Ambulant Lengerich" in body and "Weitere Einsatzorte dieser Runde" in body

    response = client.post(
        url, data={"order": [small_round.q.id, small_round.p.id], "action": "save"}
    )
    assert response.status_code == 302
    stored = db.session.scalars(
        sa.select(TraineeRanking)
        .where(TraineeRanking.user_id == a.id)
        .order_by(TraineeRanking.rank)
    ).all()
    assert [(t.placement_id, t.rank) for t in stored] == [
        (small_round.q.id, 1),
        (small_round.p.id, 2),
    ]
    assert actions(r.id)[-1] == "rounds.trainee_ranking_saved"

    # Someone who does not take part may neither look nor rank.
    outsider = client_for(app, small_round.stranger)
    assert outsider.get(url).status_code == 403
    assert (
        outsider.post(url, data={"order": [small_round.p.id], "action": "save"}).status_code == 403
    )
    assert (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(TraineeRanking)
            .where(TraineeRanking.user_id == small_round.stranger.id)
        )
        == 0
    )

    # A placement of another round, a repeat and rubbish get clear German messages (422).
    other_round = services.create_round(RoundData("Andere Runde"), small_round.coordinator)
    other_org = make_org(name="Anderes Heim", kind="care_home")
    foreign = services.add_placement(
        other_round, PlacementData(other_org.id, 1), small_round.coordinator
    )
    response = client.post(url, data={"order": [small_round.p.id, foreign.id], "action": "save"})
    assert response.status_code == 422
    assert "kein Einsatzort dieser Runde" in response.get_data(as_text=True)
    response = client.post(
        url, data={"order": [small_round.p.id, small_round.p.id], "action": "save"}
    )
    assert response.status_code == 422
    assert "steht mehrfach in der Rangfolge" in response.get_data(as_text=True)
    response = client.post(url, data={"order": ["drei"], "action": "save"})
    assert response.status_code == 422
    assert "ungültigen Eintrag" in response.get_data(as_text=True)
    stored = db.session.scalars(
        sa.select(TraineeRanking.placement_id)
        .where(TraineeRanking.user_id == a.id)
        .order_by(TraineeRanking.rank)
    ).all()
    assert stored == [small_round.q.id, small_round.p.id]


def test_move_buttons_reorder_without_saving_and_htmx_gets_the_same_page(app, small_round):
    r, a, p, q = small_round.round, small_round.a, small_round.p, small_round.q
    services.save_trainee_ranking(r, a, [p.id, q.id])
    client = client_for(app, a)
    url = f"/vergaberunden/{r.id}/meine-rangfolge"
    response = client.post(
        url, data={"order": [p.id, q.id], "action": f"down:{p.id}"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert body.index(f'name="order" value="{q.id}"') < body.index(f'name="order" value="{p.id}"')
    assert f'data-focus="rank-down-{p.id}"' in body
    assert "steht jetzt auf Rang 2" in body and "noch nicht gespeichert" in body
    response = client.post(url, data={"order": [p.id, q.id], "action": f"remove:{q.id}"})
    body = response.get_data(as_text=True)
    assert f'name="order" value="{q.id}"' not in body and f'value="add:{q.id}"' in body
    # Nothing was stored by the moves.
    assert db.session.scalars(
        sa.select(TraineeRanking.placement_id)
        .where(TraineeRanking.user_id == a.id)
        .order_by(TraineeRanking.rank)
    ).all() == [p.id, q.id]


def test_provider_ranks_only_their_organisations_placements(app, small_round):
    s = small_round
    services.save_trainee_ranking(s.round, s.a, [s.p.id, s.q.id])
    services.save_trainee_ranking(s.round, s.b, [s.p.id])
    url = f"/vergaberunden/{s.round.id}/einsatzorte/{s.p.id}/rangfolge"
    client = client_for(app, s.provider_p)
    page = client.get(url)
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    # The applicants (and only they) appear, in a proposed order until the provider saves one.
    assert "Anna Azubi" in body and "Ben Azubi" in body and "Cem Azubi" not in body
    assert "Vorschlag nach Passung" in body

    assert client_for(app, s.provider_q).get(url).status_code == 403
    assert (
        client_for(app, s.outsider)
        .post(url, data={"order": [s.a.id], "action": "save"})
        .status_code
        == 403
    )
    assert client_for(app, s.a).get(url).status_code == 403  # a trainee is no provider

    response = client.post(url, data={"order": [s.b.id, s.a.id], "action": "save"})
    assert response.status_code == 302
    stored = db.session.scalars(
        sa.select(PlacementRanking.user_id)
        .where(PlacementRanking.placement_id == s.p.id)
        .order_by(PlacementRanking.rank)
    ).all()
    assert stored == [s.b.id, s.a.id]
    # Someone who did not apply cannot be ranked.
    response = client.post(url, data={"order": [s.b.id, s.c.id], "action": "save"})
    assert response.status_code == 422
    assert "nicht auf diesen Einsatzort beworben" in response.get_data(as_text=True)
    # "Use the proposal" fills the form without storing it.
    response = client.post(url, data={"order": [s.b.id, s.a.id], "action": "propose"})
    assert (
        response.status_code == 200
        and "Vorschlag nach Passung ist eingesetzt" in response.get_data(as_text=True)
    )
    assert actions(s.round.id).count("rounds.placement_ranking_saved") == 1


def test_proposal_orders_consenting_applicants_by_match_score(app, small_round):
    s = small_round
    for user in (s.a, s.b, s.c):
        services.save_trainee_ranking(s.round, user, [s.q.id])
    # Q is in Lengerich: B lives there, A in Tecklenburg (about 6 km away), C gave no consent.
    db.session.add_all(
        [
            TraineeProfile(
                user_id=s.a.id, home_ags=TECKLENBURG, max_distance_km=30, visible_to_providers=True
            ),
            TraineeProfile(
                user_id=s.b.id, home_ags=LENGERICH, max_distance_km=30, visible_to_providers=True
            ),
            TraineeProfile(
                user_id=s.c.id, home_ags=LENGERICH, max_distance_km=30, visible_to_providers=False
            ),
        ]
    )
    db.session.commit()
    editor = services.applicant_editor(s.round, s.q)
    assert editor.proposal and editor.order == [s.b.id, s.a.id, s.c.id]
    assert editor.ranked[0].score > editor.ranked[1].score and editor.ranked[2].score is None
    assert "freigegebenes Suchprofil" in editor.ranked[2].note


# --------------------------------------------------------------------------- the match


def test_run_stores_the_stable_result_with_statistics(app, small_round):
    s = small_round
    s.rank_all()
    client = client_for(app, s.coordinator)
    response = client.post(f"/vergaberunden/{s.round.id}/zuteilen")
    assert response.status_code == 302 and response.headers["Location"].endswith(
        f"/vergaberunden/{s.round.id}/ergebnis"
    )
    db.session.refresh(s.round)
    assert s.round.status == "matched" and s.round.matched_at is not None
    assert assignments(s.round.id) == {
        s.a.id: (s.q.id, 2),
        s.b.id: (s.p.id, 1),
        s.c.id: (None, None),
    }
    stats = s.round.statistics
    assert stats["matched"] == 2 and stats["trainees"] == 3 and stats["unfilled_seats"] == 0
    assert stats["rank_distribution"] == [[1, 1], [2, 1]]
    assert len(s.round.result_digest) == 64

    page = client.get(f"/vergaberunden/{s.round.id}/ergebnis")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "67 %" in body and "1. Wunsch" in body and "2. Wunsch" in body and "ohne Platz" in body
    assert 'id="rank-chart-data"' in body and "chart.umd.min.js" in body
    assert "Ergebnis veröffentlichen" in body
    # Trainees see nothing of the result before publication.
    assert "Ihr Einsatzort" not in client_for(app, s.a).get(
        f"/vergaberunden/{s.round.id}/meine-rangfolge"
    ).get_data(as_text=True)


def test_rerun_before_publishing_gives_the_same_result(app, small_round):
    s = small_round
    s.rank_all()
    first = services.run_match(s.round.id, actor_id=s.coordinator.id)
    before = assignments(s.round.id)
    client = client_for(app, s.coordinator)
    assert client.post(f"/vergaberunden/{s.round.id}/zuteilen").status_code == 302
    db.session.refresh(s.round)
    assert assignments(s.round.id) == before
    assert s.round.result_digest == first.digest
    assert actions(s.round.id).count("rounds.matched") == 2

    # Rankings are locked while matched; reopening discards the result and unlocks them.
    locked = client_for(app, s.c).post(
        f"/vergaberunden/{s.round.id}/meine-rangfolge", data={"order": [s.p.id], "action": "save"}
    )
    assert locked.status_code == 409 and "geschlossen" in locked.get_data(as_text=True)
    assert client.post(f"/vergaberunden/{s.round.id}/oeffnen").status_code == 302
    db.session.refresh(s.round)
    assert (
        s.round.status == "ranking"
        and s.round.result_digest == ""
        and assignments(s.round.id) == {}
    )
    services.save_trainee_ranking(s.round, s.c, [s.p.id, s.q.id])
    services.save_placement_ranking(s.round, s.p, [s.c.id, s.b.id, s.a.id], s.provider_p)
    second = services.run_match(s.round.id, actor_id=s.coordinator.id)
    assert second.digest != first.digest
    assert assignments(s.round.id)[s.c.id] == (s.p.id, 1)


def test_missing_provider_rankings_are_filled_with_the_proposal(app, small_round):
    s = small_round
    services.save_trainee_ranking(s.round, s.a, [s.p.id])
    services.save_trainee_ranking(s.round, s.b, [s.q.id])
    outcome = services.run_match(s.round.id, actor_id=s.coordinator.id, fill_missing=False)
    assert outcome.statistics["matched"] == 0  # nobody was acceptable to a placement

    services.open_round(s.round, s.coordinator)
    outcome = services.run_match(s.round.id, actor_id=s.coordinator.id)
    assert sorted(outcome.proposals_filled) == sorted([s.p.id, s.q.id])
    assert assignments(s.round.id) == {
        s.a.id: (s.p.id, 1),
        s.b.id: (s.q.id, 1),
        s.c.id: (None, None),
    }
    assert actions(s.round.id).count("rounds.placement_ranking_proposed") == 2


def test_big_rounds_run_as_a_background_job_with_progress(app, small_round):
    s = small_round
    s.rank_all()
    app.config["ROUNDS_SYNC_MAX_ENTRIES"] = 0
    try:
        client = client_for(app, s.coordinator)
        response = client.post(f"/vergaberunden/{s.round.id}/zuteilen")
        assert response.status_code == 302 and "/auftraege/" in response.headers["Location"]
        job_url = response.headers["Location"].replace("http://localhost", "")
        page = client.get(job_url)
        assert page.status_code == 200 and "round-job" in page.get_data(as_text=True)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            fragment = client.get(job_url + "/fortschritt").get_data(as_text=True)
            if "hx-trigger" not in fragment:
                break
            assert "<progress" in fragment
            time.sleep(0.1)
        assert "Die Zuteilung ist berechnet" in fragment and "2 von 3" in fragment
        job = db.session.scalar(sa.select(Job).where(Job.kind == "rounds"))
        assert job.status == "done" and job.percent == 100
    finally:
        app.config.pop("ROUNDS_SYNC_MAX_ENTRIES")
    assert assignments(s.round.id)[s.b.id] == (s.p.id, 1)


def test_invalid_input_of_the_algorithm_is_a_german_message_not_a_500(app, small_round):
    s = small_round
    s.rank_all()
    db.session.execute(
        sa.update(RoundPlacement).where(RoundPlacement.id == s.q.id).values(seats=-1)
    )
    db.session.commit()
    client = client_for(app, s.coordinator)
    response = client.post(f"/vergaberunden/{s.round.id}/zuteilen", follow_redirects=True)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "Ambulant Lengerich" in body and "keine gültige Zahl von Plätzen" in body
    db.session.refresh(s.round)
    assert s.round.status == "ranking" and assignments(s.round.id) == {}


# --------------------------------------------------------------------------- publication


def mutation_requests(s):
    """Every mutating endpoint of a round, with the user allowed to call it."""
    r = s.round.id
    return [
        (s.coordinator, f"/vergaberunden/{r}/bearbeiten", {"name": "Neu"}),
        (s.coordinator, f"/vergaberunden/{r}/loeschen", {}),
        (
            s.coordinator,
            f"/vergaberunden/{r}/einsatzorte",
            {"organisation_id": s.org_p.id, "seats": 3},
        ),
        (s.coordinator, f"/vergaberunden/{r}/einsatzorte/{s.p.id}/entfernen", {}),
        (s.coordinator, f"/vergaberunden/{r}/teilnehmende", {"shown": [s.a.id]}),
        (s.coordinator, f"/vergaberunden/{r}/oeffnen", {}),
        (s.coordinator, f"/vergaberunden/{r}/zuteilen", {}),
        (s.coordinator, f"/vergaberunden/{r}/veroeffentlichen", {}),
        (s.a, f"/vergaberunden/{r}/meine-rangfolge", {"order": [s.q.id], "action": "save"}),
        (
            s.a,
            f"/vergaberunden/{r}/meine-rangfolge",
            {"order": [s.q.id, s.p.id], "action": f"up:{s.p.id}"},
        ),
        (
            s.provider_p,
            f"/vergaberunden/{r}/einsatzorte/{s.p.id}/rangfolge",
            {"order": [s.a.id], "action": "save"},
        ),
    ]


def test_publish_makes_the_round_immutable_and_mails_everyone(
    app, small_round, smtp_server, make_user
):
    s = small_round
    colleague = make_user("provider", email="kollegin@test.example.org", language="en")
    db.session.add(Membership(user_id=colleague.id, organisation_id=s.org_q.id, status="approved"))
    db.session.commit()
    s.rank_all()
    client = client_for(app, s.coordinator)
    client.post(f"/vergaberunden/{s.round.id}/zuteilen")
    digest = db.session.get(AllocationRound, s.round.id).result_digest
    response = client.post(f"/vergaberunden/{s.round.id}/veroeffentlichen", follow_redirects=True)
    assert response.status_code == 200
    assert "6 Benachrichtigungen" in response.get_data(as_text=True)
    db.session.refresh(s.round)
    assert s.round.status == "published" and s.round.published_at is not None
    assert s.round.result_digest == digest
    assert actions(s.round.id)[-1] == "rounds.published"

    report = deliver_due()
    assert report.sent == 6
    [mail_a] = smtp_server.wait_for(s.a.email)
    assert "Herbstrunde" in mail_a["Subject"]
    assert "Ihr Einsatzort: Ambulant Lengerich" in text_of(mail_a) and "2. Wunsch" in text_of(
        mail_a
    )
    [mail_b] = smtp_server.wait_for(s.b.email)
    assert "Pflegeheim am Teuto" in text_of(mail_b)
    [mail_c] = smtp_server.wait_for(s.c.email)
    assert "kein Platz zugeteilt" in text_of(mail_c)
    [mail_p] = smtp_server.wait_for(s.provider_p.email)
    assert "Ben Azubi" in text_of(mail_p) and "Anna Azubi" not in text_of(mail_p)
    [mail_q] = smtp_server.wait_for(s.provider_q.email)
    assert "Anna Azubi" in text_of(mail_q) and s.a.email in text_of(mail_q)
    [mail_en] = smtp_server.wait_for("kollegin@test.example.org")
    assert "Anna Azubi" in text_of(mail_en) and "These trainees were assigned" in text_of(mail_en)
    assert mail_en["Subject"] == "Allocation of the placement round “Herbstrunde”"
    assert not smtp_server.to(s.outsider.email) and not smtp_server.to(s.stranger.email)

    # Everyone sees their own result now.
    mine = (
        client_for(app, s.a)
        .get(f"/vergaberunden/{s.round.id}/meine-rangfolge")
        .get_data(as_text=True)
    )
    assert "Ihr Einsatzort: Ambulant Lengerich" in mine
    listed = client_for(app, s.provider_p).get(
        f"/vergaberunden/{s.round.id}/einsatzorte/{s.p.id}/rangfolge"
    )
    assert "Ben Azubi" in listed.get_data(as_text=True)

    # Every mutation is refused with 409 and a clear message; nothing changes.
    before = (
        assignments(s.round.id),
        len(actions(s.round.id)),
        db.session.scalar(sa.select(sa.func.count()).select_from(TraineeRanking)),
    )
    for user, url, data in mutation_requests(s):
        response = client_for(app, user).post(url, data=data)
        assert response.status_code == 409, (url, response.status_code)
        assert "veröffentlicht" in response.get_data(as_text=True), url
    assert client.get(f"/vergaberunden/{s.round.id}/bearbeiten").status_code == 409
    db.session.expire_all()
    after = (
        assignments(s.round.id),
        len(actions(s.round.id)),
        db.session.scalar(sa.select(sa.func.count()).select_from(TraineeRanking)),
    )
    assert after == before
    assert db.session.get(AllocationRound, s.round.id).status == "published"
    # Publishing twice sends nothing twice.
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 6


def test_publish_refuses_when_rankings_changed_after_the_run(app, small_round):
    s = small_round
    s.rank_all()
    services.run_match(s.round.id, actor_id=s.coordinator.id)
    # A change slipped in behind the lock (e.g. a request that raced the run).
    db.session.execute(sa.delete(TraineeRanking).where(TraineeRanking.user_id == s.c.id))
    db.session.commit()
    response = client_for(app, s.coordinator).post(
        f"/vergaberunden/{s.round.id}/veroeffentlichen", follow_redirects=True
    )
    assert "haben sich seit der Zuteilung geändert" in response.get_data(as_text=True)
    assert db.session.get(AllocationRound, s.round.id).status == "matched"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 0


def test_deadline_closes_trainee_rankings(app, small_round):
    s = small_round
    s.round.ranking_deadline = services.local_today() - timedelta(days=1)
    db.session.commit()
    client = client_for(app, s.a)
    page = client.get(f"/vergaberunden/{s.round.id}/meine-rangfolge")
    assert "Frist ist abgelaufen" in page.get_data(as_text=True)
    response = client.post(
        f"/vergaberunden/{s.round.id}/meine-rangfolge", data={"order": [s.p.id], "action": "save"}
    )
    assert response.status_code == 409 and "abgelaufen" in response.get_data(as_text=True)


# --------------------------------------------------------------------------- export and audit


def test_csv_export_and_print_view(app, small_round):
    s = small_round
    s.rank_all()
    client = client_for(app, s.coordinator)
    assert (
        client.get(f"/vergaberunden/{s.round.id}/ergebnis.csv").status_code == 409
    )  # no result yet
    services.run_match(s.round.id, actor_id=s.coordinator.id)
    response = client.get(f"/vergaberunden/{s.round.id}/ergebnis.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    text = response.data.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))
    assert rows[0] == [
        "Person",
        "E-Mail",
        "Einsatzort",
        "Organisation",
        "Gemeinde",
        "Einsatzart",
        "Wunschrang",
    ]
    by_name = {row[0]: row for row in rows[1:]}
    assert by_name["Anna Azubi"][2:] == [
        "Ambulant Lengerich",
        "Pflegedienst Lengerich",
        "Lengerich",
        "Praxiseinsatz ambulante Pflege",
        "2",
    ]
    assert by_name["Ben Azubi"][6] == "1"
    assert by_name["Cem Azubi"][2:] == ["kein Platz", "", "", "", ""]

    printed = client.get(f"/vergaberunden/{s.round.id}/ergebnis/druck")
    body = printed.get_data(as_text=True)
    assert (
        printed.status_code == 200
        and "data-print" in body
        and "print-only" in body
        and "no-print" in body
    )
    assert "Anna Azubi" in body and "noch nicht veröffentlicht" in body


def test_csv_cells_cannot_smuggle_formulas(app, small_round):
    s = small_round
    s.a.name = '=HYPERLINK("http://example.org")'
    db.session.commit()
    s.rank_all()
    services.run_match(s.round.id, actor_id=s.coordinator.id)
    text = services.export_csv(db.session.get(AllocationRound, s.round.id))
    assert "'=HYPERLINK" in text


def test_verification_view_confirms_the_stored_result_and_spots_tampering(app, small_round):
    s = small_round
    s.rank_all()
    services.run_match(s.round.id, actor_id=s.coordinator.id)
    services.publish_round(s.round.id, actor_id=s.coordinator.id)
    client = client_for(app, s.coordinator)
    page = client.get(f"/vergaberunden/{s.round.id}/pruefung")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Das gespeicherte Ergebnis ist bestätigt" in body and "Abweichung" not in body
    assert s.round.result_digest in body
    for label in ("Runde angelegt", "für Rangfolgen geöffnet", "Rangfolge einer Person gespeichert",
                  "Rangfolge einer Einrichtung gespeichert", "Zuteilung berechnet", "Ergebnis veröffentlicht"):  # fmt: skip
        assert label in body, label
    check = services.verify_round(db.session.get(AllocationRound, s.round.id))
    assert check.ok and check.blocking == [] and check.same_inputs

    # Someone edits the stored result behind the platform's back.
    db.session.execute(
        sa.update(RoundAssignment)
        .where(RoundAssignment.user_id == s.a.id)
        .values(placement_id=None, trainee_rank=None)
    )
    db.session.commit()
    check = services.verify_round(db.session.get(AllocationRound, s.round.id))
    assert check.same_inputs and not check.same_result and not check.stable and not check.ok
    assert ("Anna Azubi", "Ambulant Lengerich") in check.blocking
    body = client.get(f"/vergaberunden/{s.round.id}/pruefung").get_data(as_text=True)
    assert "lässt sich nicht vollständig bestätigen" in body and "Anna Azubi" in body


# --------------------------------------------------------------------------- CLI and demo


def test_cli_runs_verifies_and_exports_a_round(app, small_round, tmp_path):
    s = small_round
    s.rank_all()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["rounds", "run", str(s.round.id), "--as", s.coordinator.email])
    assert result.exit_code == 0, result.output
    assert "2 von 3 zugeteilt" in result.output and "1. Wunsch: 1" in result.output
    db.session.expire_all()
    assert db.session.get(AllocationRound, s.round.id).status == "matched"
    result = runner.invoke(args=["rounds", "verify", str(s.round.id)])
    assert result.exit_code == 0 and "Stabil:                 ja" in result.output
    target = tmp_path / "ergebnis.csv"
    result = runner.invoke(args=["rounds", "export", str(s.round.id), str(target)])
    assert result.exit_code == 0 and "Anna Azubi" in target.read_text(encoding="utf-8")
    result = runner.invoke(args=["rounds", "list"])
    assert "Herbstrunde" in result.output and "matched" in result.output
    result = runner.invoke(args=["rounds", "publish", str(s.round.id)])
    assert result.exit_code == 0 and "5 E-Mails" in result.output
    result = runner.invoke(args=["rounds", "run", str(s.round.id)])
    assert result.exit_code != 0 and "veröffentlicht" in result.output
    assert runner.invoke(args=["rounds", "run", "99999"]).exit_code != 0


def test_demo_round_is_open_for_rankings_and_can_be_matched(app, make_user):
    from network.demo.loader import DemoSummary
    from network.rounds import demo

    demo_trainee = make_user("trainee", email="azubi@demo.example.org", name="Tara Trainee (Demo)")
    summary = DemoSummary()
    steps = []
    demo.load(summary, 42, lambda step, done, total: steps.append((step, done, total)))
    round_ = db.session.scalar(
        sa.select(AllocationRound).where(AllocationRound.name == demo.ROUND_NAME)
    )
    assert round_.status == "ranking" and len(round_.placements) == 4
    trainees = {t.user_id for t in round_.trainees}
    assert demo_trainee.id in trainees and len(trainees) == len(demo.TRAINEES) + 1
    assert all(
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(TraineeRanking)
            .where(TraineeRanking.user_id == t)
        )
        >= 2
        for t in trainees
    )
    assert all(o.synthetic for o in (p.organisation for p in round_.placements))
    assert steps[-1] == ("rounds", 3, 3) and "Vergaberunden" in summary.extra
    demo.load(summary, 42, lambda *args: None)  # idempotent
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AllocationRound)) == 1
    outcome = services.run_match(round_.id)
    assert outcome.statistics["trainees"] == len(trainees) and outcome.statistics["matched"] >= 4
    assert services.verify_round(db.session.get(AllocationRound, round_.id)).ok
    assert (
        db.session.scalar(sa.select(User).where(User.email == demo.TRAINEES[0][0])).role
        == "trainee"
    )


def test_pages_speak_english_to_english_users(app, small_round):
    s = small_round
    s.a.language = "en"
    db.session.commit()
    body = (
        client_for(app, s.a)
        .get(f"/vergaberunden/{s.round.id}/meine-rangfolge")
        .get_data(as_text=True)
    )
    assert "Your wish list" in body and "1 seat" in body and "Placement: home care" in body


def test_overview_counts_applicants_and_missing_provider_rankings(app, small_round):
    s = small_round
    services.save_trainee_ranking(s.round, s.a, [s.p.id, s.q.id])
    services.save_trainee_ranking(s.round, s.b, [s.p.id])
    services.save_placement_ranking(s.round, s.p, [s.b.id], s.provider_p)
    overview = services.round_overview(s.round)
    rows = {row.placement.id: row for row in overview.placements}
    assert (rows[s.p.id].applicants, rows[s.p.id].ranked, rows[s.p.id].unranked_applicants) == (
        2,
        1,
        1,
    )
    assert (rows[s.q.id].applicants, rows[s.q.id].has_ranking) == (1, False)
    assert [r.placement.id for r in overview.incomplete_placements] == [s.p.id]
    assert [r.placement.id for r in overview.unranked_placements] == [s.q.id]
    assert (overview.trainee_count, overview.ranked_trainees, overview.seats) == (3, 2, 2)
    page = client_for(app, s.coordinator).get(f"/vergaberunden/{s.round.id}").get_data(as_text=True)
    assert "1 Einsatzort hat Bewerbungen, aber noch keine Rangfolge" in page
    assert "1 Einsatzort hat Bewerbungen, die in der Rangfolge der Einrichtung fehlen" in page


def test_publishing_is_all_or_nothing(app, small_round, monkeypatch):
    s = small_round
    s.rank_all()
    services.run_match(s.round.id, actor_id=s.coordinator.id)
    real_queue = services.queue_email
    calls = []

    def flaky_queue(*args, **kwargs):
        calls.append(args[0])
        if len(calls) == 3:
            raise OSError("disk full")
        return real_queue(*args, **kwargs)

    monkeypatch.setattr(services, "queue_email", flaky_queue)
    response = client_for(app, s.coordinator).post(
        f"/vergaberunden/{s.round.id}/veroeffentlichen", follow_redirects=True
    )
    assert response.status_code == 200
    assert "Unerwarteter Fehler" in response.get_data(as_text=True)
    db.session.expire_all()
    round_ = db.session.get(AllocationRound, s.round.id)
    assert round_.status == "matched" and round_.published_at is None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 0
    assert "rounds.published" not in actions(s.round.id)
    job = db.session.scalar(sa.select(Job).order_by(Job.id.desc()))
    assert job.status == "failed"
