"""Positions: search and ranking, provider pages, applications with uploads, mail, privacy."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from network.extensions import db
from network.mail import deliver_due
from network.models import (
    AllocationRound,
    Application,
    AuditLog,
    Invitation,
    OutboxMessage,
    Position,
    RoundTrainee,
    SavedSearch,
    TraineeProfile,
    User,
)
from network.models.base import utcnow
from network.positions import privacy, services
from tests.conftest import TEST_PASSWORD, free_port, make_test_app, text_of

LADBERGEN = "05566032"
LENGERICH = "05566040"
BOCHOLT = "05554008"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def docx_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


def odt_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        archive.writestr("content.xml", "<office:document-content/>")
    return buffer.getvalue()


@pytest.fixture
def make_position(app):
    """``make_position(org, title=…, **fields) -> Position`` at the organisation's place."""

    def factory(organisation, **fields):
        values = {
            "position_type": "apprenticeship",
            "profession": "pflegefachperson",
            "title": "Ausbildung Pflegefachfrau/-mann",
            "seats": 2,
            "status": "open",
            "start_date": date.today() + timedelta(days=120),
            "deadline": date.today() + timedelta(days=60),
            "benefits": [],
            "requirements": [],
        }
        values.update(fields)
        position = Position(
            organisation_id=organisation.id,
            ags=organisation.ags,
            latitude=organisation.latitude,
            longitude=organisation.longitude,
            **values,
        )
        db.session.add(position)
        db.session.commit()
        return position

    return factory


@pytest.fixture
def make_profile(app):
    def factory(user, **fields):
        values = {
            "professions": ["pflegefachperson"],
            "position_types": ["apprenticeship"],
            "home_ags": LADBERGEN,
            "max_distance_km": 25.0,
            "visible_to_providers": True,
            "consent_at": utcnow(),
        }
        values.update(fields)
        profile = TraineeProfile(user_id=user.id, **values)
        db.session.add(profile)
        db.session.commit()
        return profile

    return factory


@pytest.fixture
def region(make_user, make_org, make_position):
    """A provider with a care home in Lengerich and a clinic in Münster, each with positions."""
    provider = make_user("provider", name="Paula Pflege")
    other_provider = make_user("provider", name="Otto Anders")
    lengerich = make_org("Pflegeheim am Teuto", kind="care_home", ags=LENGERICH, members=[provider])
    muenster = make_org("Klinik Bocholt", kind="hospital", ags=BOCHOLT, members=[other_provider])
    lengerich_place = make_position(
        lengerich, benefits=["housing"], title="Ausbildung Pflege Lengerich"
    )
    muenster_place = make_position(muenster, title="Ausbildung Pflege Bocholt")
    return {
        "provider": provider,
        "other_provider": other_provider,
        "lengerich": lengerich,
        "muenster": muenster,
        "lengerich_place": lengerich_place,
        "muenster_place": muenster_place,
    }


# --------------------------------------------------------------------------- search


def test_anonymous_search_orders_by_distance_and_never_shows_expired_or_closed(
    client, region, make_position
):
    expired = make_position(
        region["lengerich"], title="Abgelaufen", deadline=date.today() - timedelta(days=1)
    )
    closed = make_position(region["lengerich"], title="Geschlossen", status="closed")
    response = client.get(f"/stellen/?s=1&ort={LADBERGEN}&umkreis=25")
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Ausbildung Pflege Lengerich" in body
    assert "Ausbildung Pflege Bocholt" not in body  # about 90 km from Ladbergen
    assert expired.title not in body and closed.title not in body
    assert "km entfernt" in body

    everywhere = client.get("/stellen/?s=1").get_data(as_text=True)
    assert "Ausbildung Pflege Bocholt" in everywhere and expired.title not in everywhere
    assert expired.status == "open"  # hidden although the closing job has not run


def test_radius_without_place_gets_a_clear_message(client, region):
    body = client.get("/stellen/?s=1&umkreis=25").get_data(as_text=True)
    assert "Bitte wählen Sie einen Ort" in body


def test_filters_by_employer_offer_and_start(client, region, make_position):
    make_position(
        region["lengerich"], title="Frühstart", start_date=date.today() + timedelta(days=5)
    )
    body = client.get("/stellen/?s=1&angebot=housing").get_data(as_text=True)
    assert "Ausbildung Pflege Lengerich" in body and "Ausbildung Pflege Bocholt" not in body
    later = (date.today() + timedelta(days=30)).isoformat()
    body = client.get(f"/stellen/?s=1&beginn={later}").get_data(as_text=True)
    assert "Frühstart" not in body and "Ausbildung Pflege Lengerich" in body


def test_trainee_search_defaults_to_profile_and_is_ranked_with_reasons(
    client, login_as, make_profile, region, make_org, make_position
):
    # A second Lengerich-area place without housing ranks below the one offering housing.
    other = make_org("Ambulanter Dienst Lienen", kind="ambulatory_care", ags="05566044")
    make_position(other, title="Ausbildung Pflege Lienen")
    trainee = login_as("trainee", name="Tara Ladbergen")
    make_profile(
        trainee, wanted_benefits=["housing"], earliest_start=date.today() + timedelta(days=90)
    )
    body = client.get("/stellen/").get_data(as_text=True)
    assert "Sortiert nach Passung" in body
    assert body.index("Ausbildung Pflege Lengerich") < body.index("Ausbildung Pflege Lienen")
    assert "Ausbildung Pflege Bocholt" not in body
    for reason in ("km entfernt", "Start passt", "Wohnung angeboten", "Beruf passt"):
        assert reason in body
    outcome = services.search_positions(
        services.default_search_params(db.session.get(TraineeProfile, trainee.id)), seeker=trainee
    )
    assert outcome.mode == "ranked"
    assert outcome.results[0].position.title == "Ausbildung Pflege Lengerich"
    assert 0 < outcome.results[0].score <= 1


def test_search_pages(client, make_org, make_position):
    org = make_org("Viele Plätze", kind="care_home", ags=LENGERICH)
    for number in range(25):
        make_position(org, title=f"Platz Nummer {number:02d}")
    first = client.get("/stellen/?s=1").get_data(as_text=True)
    second = client.get("/stellen/?s=1&page=2").get_data(as_text=True)
    assert "Treffer: 25" in first and 'rel="next"' in first
    assert sum(f"Platz Nummer {n:02d}" in second for n in range(25)) == 5


def test_saved_search_feeds_the_digest_function(client, login_as, region, make_position):
    trainee = login_as("trainee")
    response = client.post(
        f"/stellen/gespeicherte-suchen/neu?art=apprenticeship&beruf=pflegefachperson&ort={LADBERGEN}&umkreis=25",
        data={"name": "Pflege bei mir"},
    )
    assert response.status_code == 302
    saved = db.session.scalar(sa.select(SavedSearch).where(SavedSearch.user_id == trainee.id))
    assert saved.params == {
        "art": ["apprenticeship"],
        "beruf": ["pflegefachperson"],
        "ort": LADBERGEN,
        "umkreis": 25,
    }
    found = services.matching_positions_for_saved_search(saved)
    assert [p.title for p in found] == ["Ausbildung Pflege Lengerich"]
    cutoff = utcnow()
    assert services.matching_positions_for_saved_search(saved, since=cutoff) == []
    newer = make_position(region["lengerich"], title="Neu in Lengerich")
    assert services.matching_positions_for_saved_search(saved, since=cutoff) == [newer]
    page = client.get("/stellen/gespeicherte-suchen").get_data(as_text=True)
    assert "Pflege bei mir" in page and "Ladbergen" in page
    assert client.get(f"/stellen/gespeicherte-suchen/{saved.id}").status_code == 302


def test_expired_positions_close(app, region, make_position):
    expired = make_position(
        region["lengerich"], title="Frist vorbei", deadline=date.today() - timedelta(days=2)
    )
    assert services.close_expired_positions() == 1
    db.session.refresh(expired)
    assert expired.status == "closed"
    assert region["lengerich_place"].status == "open"
    assert services.close_expired_positions() == 0
    again = make_position(
        region["lengerich"], title="Auch vorbei", deadline=date.today() - timedelta(days=1)
    )
    result = app.test_cli_runner().invoke(args=["positions", "close-expired"])
    assert result.exit_code == 0 and "1 abgelaufene" in result.output
    db.session.refresh(again)
    assert again.status == "closed"
    assert (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(AuditLog)
            .where(AuditLog.action == "position.closed_expired")
        )
        == 2
    )


# --------------------------------------------------------------------------- providers


def test_provider_publishes_a_position_with_the_organisations_place(client, auth, region):
    auth.login(region["provider"].email)
    data = {
        "organisation_id": region["lengerich"].id,
        "position_type": "placement",
        "profession": "pflegefachperson",
        "title": "Praxiseinsatz Langzeitpflege",
        "seats": "3",
        "benefits": ["housing", "mobility"],
        "languages": ["de"],
        "driving_licence": "y",
        "deadline": (date.today() + timedelta(days=10)).isoformat(),
        "status": "open",
    }
    response = client.post("/stellen/neu", data=data)
    assert response.status_code == 302
    position = db.session.scalar(
        sa.select(Position).where(Position.title == "Praxiseinsatz Langzeitpflege")
    )
    assert (position.ags, position.latitude) == (LENGERICH, region["lengerich"].latitude)
    assert sorted(position.requirements) == ["driving_licence", "lang:de"]
    # Bad input: the message sits at the field, the status is 422 and the typed title stays.
    response = client.post("/stellen/neu", data=dict(data, seats="0", title="Zweiter Einsatz"))
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "zwischen 1 und 500" in body and 'value="Zweiter Einsatz"' in body
    # Another organisation's position is not theirs to edit.
    assert client.get(f"/stellen/{region['muenster_place'].id}/bearbeiten").status_code == 403
    assert (
        client.post(
            f"/stellen/{region['muenster_place'].id}/status", data={"status": "closed"}
        ).status_code
        == 403
    )


def test_provider_sees_only_consenting_candidates(client, auth, make_user, make_profile, region):
    visible = make_user("trainee", name="Vera Sichtbar")
    hidden = make_user("trainee", name="Hanna Verborgen")
    far = make_user("trainee", name="Fritz Fern")
    make_profile(visible)
    make_profile(hidden, visible_to_providers=False, consent_at=None)
    make_profile(far, home_ags="05558024", max_distance_km=10)  # Lüdinghausen, far away
    auth.login(region["provider"].email)
    body = client.get(f"/stellen/{region['lengerich_place'].id}/kandidaten").get_data(as_text=True)
    assert "Vera Sichtbar" in body
    assert "Hanna Verborgen" not in body and "Fritz Fern" not in body
    assert "km entfernt" in body and "Passung" in body
    ranked = services.ranked_candidates(region["lengerich_place"])
    assert [c.user.id for c in ranked.items] == [visible.id]
    # Only members of the organisation see its candidates.
    assert client.get(f"/stellen/{region['muenster_place'].id}/kandidaten").status_code == 403
    # Inviting a non-consenting trainee is refused, a consenting one gets an e-mail.
    client.post(f"/stellen/{region['lengerich_place'].id}/kandidaten/{hidden.id}/einladen", data={})
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Invitation)) == 0
    response = client.post(
        f"/stellen/{region['lengerich_place'].id}/kandidaten/{visible.id}/einladen",
        data={"message": "Wir freuen uns!"},
    )
    assert response.status_code == 302
    [mail] = db.session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.recipient == visible.email)
    ).all()
    assert "Einladung" in mail.subject and "Wir freuen uns!" in mail.text_body


# --------------------------------------------------------------------------- applications


def _apply(client, position, message="Ich möchte gern bei Ihnen lernen.", upload=None):
    data = {"message": message}
    if upload is not None:
        data["attachment"] = upload
    return client.post(
        f"/stellen/{position.id}/bewerben", data=data, content_type="multipart/form-data"
    )


def test_application_with_attachment_notifies_both_sides_and_provider_answers(
    app, client, auth, make_user, region, smtp_server
):
    trainee = make_user("trainee", name="Tara Trainee")
    auth.login(trainee.email)
    response = _apply(client, region["lengerich_place"], upload=(io.BytesIO(PDF), "Lebenslauf.pdf"))
    assert response.status_code == 302, response.get_data(as_text=True)
    application = db.session.scalar(sa.select(Application))
    assert application.attachment_name == "Lebenslauf.pdf"
    assert (
        application.attachment_path.startswith("applications/")
        and "Lebenslauf" not in application.attachment_path
    )
    assert application.applicant_email == trainee.email

    deliver_due()
    [to_provider] = smtp_server.wait_for(region["provider"].email)
    [confirmation] = smtp_server.wait_for(trainee.email)
    assert "Neue Bewerbung" in to_provider[
        "Subject"
    ] and f"/stellen/bewerbungen/{application.id}" in text_of(to_provider)
    assert "eingegangen" in confirmation["Subject"]

    # A second application to the same position is refused.
    assert _apply(client, region["lengerich_place"]).status_code == 422
    # The applicant can fetch the attachment.
    download = client.get(f"/stellen/bewerbungen/{application.id}/anhang")
    assert download.status_code == 200 and download.data == PDF
    auth.logout()

    auth.login(region["provider"].email)
    page = client.get(f"/stellen/{region['lengerich_place'].id}/bewerbungen").get_data(as_text=True)
    assert "Tara Trainee" in page
    assert client.get(f"/stellen/bewerbungen/{application.id}/anhang").data == PDF
    response = client.post(
        f"/stellen/bewerbungen/{application.id}",
        data={"status": "interview", "note": "Kommen Sie am Montag vorbei."},
    )
    assert response.status_code == 302
    db.session.refresh(application)
    assert (application.status, application.provider_note) == (
        "interview",
        "Kommen Sie am Montag vorbei.",
    )
    deliver_due()
    answer = smtp_server.wait_for(trainee.email, count=2)[-1]
    assert "Gespräch" in answer["Subject"] and "Kommen Sie am Montag vorbei." in text_of(answer)


def test_provider_never_sees_another_organisations_applications(client, auth, make_user, region):
    trainee = make_user("trainee")
    auth.login(trainee.email)
    _apply(client, region["lengerich_place"], upload=(io.BytesIO(PDF), "cv.pdf"))
    application = db.session.scalar(sa.select(Application))
    auth.logout()
    auth.login(region["other_provider"].email)
    assert client.get(f"/stellen/bewerbungen/{application.id}").status_code == 403
    assert client.get(f"/stellen/bewerbungen/{application.id}/anhang").status_code == 403
    assert (
        client.post(
            f"/stellen/bewerbungen/{application.id}", data={"status": "rejected"}
        ).status_code
        == 403
    )
    assert client.get(f"/stellen/{region['lengerich_place'].id}/bewerbungen").status_code == 403
    auth.logout()
    # Nor does another trainee.
    auth.login(make_user("trainee").email)
    assert client.get(f"/stellen/bewerbungen/{application.id}").status_code == 403
    assert client.get(f"/stellen/bewerbungen/{application.id}/anhang").status_code == 403


@pytest.mark.parametrize(
    ("filename", "content", "message"),
    [
        ("programm.exe", b"MZ\x90\x00", "PDF-, DOCX- oder ODT-Datei"),
        ("lebenslauf.pdf", b"<html>kein pdf</html>", "passt nicht zur Endung .pdf"),
        ("lebenslauf.docx", b"%PDF-1.4 ein pdf", "passt nicht zur Endung .docx"),
        ("lebenslauf.odt", docx_bytes(), "passt nicht zur Endung .odt"),
        ("riesig.pdf", b"%PDF-1.4\n" + b"0" * (5 * 1024 * 1024), "größer als 5 MB"),
    ],
)
def test_wrong_or_oversized_upload_is_refused_and_text_kept(
    app, client, login_as, region, filename, content, message
):
    login_as("trainee")
    text = "Mein Anschreiben mit „Umlauten“ bleibt erhalten."
    response = _apply(
        client, region["lengerich_place"], message=text, upload=(io.BytesIO(content), filename)
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in body
    assert "Mein Anschreiben mit „Umlauten“ bleibt erhalten." in body
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Application)) == 0


@pytest.mark.parametrize(
    ("filename", "content"), [("cv.docx", docx_bytes()), ("cv.ODT", odt_bytes())]
)
def test_docx_and_odt_are_accepted(client, login_as, region, filename, content):
    login_as("trainee")
    assert (
        _apply(
            client, region["lengerich_place"], upload=(io.BytesIO(content), filename)
        ).status_code
        == 302
    )


def test_notification_survives_an_smtp_outage(app, make_user, region, smtp_server):
    """With MAIL_PORT pointing at a closed port the mail stays pending; once restored it goes out."""
    closed_port = free_port()
    down = make_test_app(
        app.config["SQLALCHEMY_DATABASE_URI"],
        smtp_server,
        MAIL_PORT=closed_port,
        UPLOAD_FOLDER=app.config["UPLOAD_FOLDER"],
    )
    trainee = make_user("trainee")
    with down.app_context():
        client = down.test_client()
        client.post("/konto/anmelden", data={"email": trainee.email, "password": TEST_PASSWORD})
        response = _apply(client, region["lengerich_place"])
        assert response.status_code == 302
        report = deliver_due()
        assert report.sent == 0 and report.retried == 2
        db.session.remove()
    db.session.expire_all()
    pending = db.session.scalars(sa.select(OutboxMessage)).all()
    assert {m.status for m in pending} == {"pending"} and all(m.attempts == 1 for m in pending)
    assert smtp_server.messages == []

    report = deliver_due(now=utcnow() + timedelta(minutes=5))  # MAIL_PORT restored, retry due
    assert report.sent == 2
    smtp_server.wait_for(region["provider"].email)
    smtp_server.wait_for(trainee.email)


# --------------------------------------------------------------------------- personal data


def test_profile_consent_is_recorded_and_withdrawn(client, login_as):
    trainee = login_as("trainee")
    data = {
        "professions": ["pflegefachperson"],
        "position_types": ["apprenticeship"],
        "home_ags": LADBERGEN,
        "max_distance_km": "25",
        "wanted_benefits": ["housing"],
        "visible_to_providers": "y",
    }
    assert client.post("/stellen/profil", data=data).status_code == 302
    profile = db.session.get(TraineeProfile, trainee.id)
    assert profile.visible_to_providers and profile.consent_at is not None
    data.pop("visible_to_providers")
    assert client.post("/stellen/profil", data=data).status_code == 302
    db.session.refresh(profile)
    assert not profile.visible_to_providers and profile.consent_at is None
    actions = set(db.session.scalars(sa.select(AuditLog.action)))
    assert {"trainee_profile.consent_given", "trainee_profile.consent_withdrawn"} <= actions
    # Without a place the form explains what is missing and keeps the choices.
    response = client.post(
        "/stellen/profil", data=dict(data, home_ags="", about="Ich mag Menschen.")
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and "Wohnort" in body and "Ich mag Menschen." in body


@pytest.fixture
def trainee_with_everything(client, auth, make_user, make_profile, region):
    """A trainee with profile, saved search, invitation, application (with file) and a round."""
    trainee = make_user("trainee", name="Greta Gründlich", email="greta@test.example.org")
    make_profile(trainee, about="Ich pflege gern.")
    db.session.add(
        SavedSearch(user_id=trainee.id, name="Pflege", params={"beruf": ["pflegefachperson"]})
    )
    db.session.add(
        Invitation(
            position_id=region["lengerich_place"].id,
            trainee_id=trainee.id,
            invited_by_id=region["provider"].id,
            message="Bitte bewerben",
        )
    )
    round_ = AllocationRound(name="Praxiseinsätze Herbst")
    db.session.add(round_)
    db.session.flush()
    db.session.add(RoundTrainee(round_id=round_.id, user_id=trainee.id))
    db.session.commit()
    auth.login(trainee.email)
    assert (
        _apply(
            client,
            region["lengerich_place"],
            message="Meine persönliche Nachricht",
            upload=(io.BytesIO(PDF), "Greta.pdf"),
        ).status_code
        == 302
    )
    return trainee


def test_export_contains_everything_stored_about_the_trainee(app, client, trainee_with_everything):
    trainee = trainee_with_everything
    response = client.get("/stellen/profil/export")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    data = json.loads(response.get_data(as_text=True))
    assert data["account"]["email"] == trainee.email and "password_hash" not in data["account"]
    assert "password_hash" not in response.get_data(as_text=True)
    assert data["trainee_profile"]["about"] == "Ich pflege gern."
    assert [s["name"] for s in data["saved_searches"]] == ["Pflege"]
    [application] = data["applications"]
    assert application["message"] == "Meine persönliche Nachricht"
    assert application["position_title"] == "Ausbildung Pflege Lengerich"
    import base64

    assert base64.b64decode(application["attachment_content_base64"]) == PDF
    assert [i["message"] for i in data["invitations"]] == ["Bitte bewerben"]
    assert len(data["allocation_rounds"]["round_trainee"]) == 1
    actions = {entry["action"] for entry in data["audit_log"]}
    assert {
        "application.submitted",
        "account.exported",
    } <= actions or "application.submitted" in actions
    assert any(m["recipient"] == trainee.email for m in data["emails"])
    # Every table that refers to the account appears somewhere in the export.
    exported_tables = {
        "user_account",
        "trainee_profile",
        "saved_search",
        "application",
        "invitation",
        "audit_log",
    }
    exported_tables |= set(data["allocation_rounds"]) | set(data["other_records"])
    for table, column, _rule in privacy.user_references():
        if db.session.execute(
            sa.select(sa.func.count()).select_from(table).where(column == trainee.id)
        ).scalar():
            assert table.name in exported_tables, table.name


def test_deleting_a_trainee_removes_their_personal_data(
    app, client, trainee_with_everything, region
):
    trainee = trainee_with_everything
    uid, email = trainee.id, trainee.email
    application = db.session.scalar(sa.select(Application))
    stored = services.uploads.attachment_path(
        app.config["UPLOAD_FOLDER"], application.attachment_path
    )
    assert stored is not None and stored.exists()

    wrong = client.post("/stellen/profil/loeschen", data={"password": "falsch", "confirm": "y"})
    assert wrong.status_code == 422 and db.session.get(User, uid) is not None
    response = client.post(
        "/stellen/profil/loeschen", data={"password": TEST_PASSWORD, "confirm": "y"}
    )
    assert response.status_code == 302
    db.session.expire_all()

    assert db.session.get(User, uid) is None
    assert db.session.get(TraineeProfile, uid) is None
    assert db.session.scalars(sa.select(SavedSearch).where(SavedSearch.user_id == uid)).all() == []
    assert db.session.scalars(sa.select(Invitation).where(Invitation.trainee_id == uid)).all() == []
    assert (
        db.session.scalars(sa.select(RoundTrainee).where(RoundTrainee.user_id == uid)).all() == []
    )
    assert (
        db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.recipient == email)).all()
        == []
    )
    # The application stays for the provider's statistics, without anything personal.
    kept = db.session.get(Application, application.id)
    assert kept is not None and kept.trainee_id is None
    assert (
        kept.applicant_name,
        kept.applicant_email,
        kept.message,
        kept.attachment_name,
        kept.attachment_path,
    ) == ("", "", "", "", "")
    assert not stored.exists()
    entry = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "account.deleted"))
    assert entry.actor_id is None
    assert email not in json.dumps(entry.details) and "Greta" not in json.dumps(entry.details)
    assert db.session.scalars(sa.select(AuditLog).where(AuditLog.actor_id == uid)).all() == []
    # The session ended with the account.
    assert client.get("/stellen/profil").status_code == 302
    # The provider still counts the application.
    client.post(
        "/konto/anmelden", data={"email": region["provider"].email, "password": TEST_PASSWORD}
    )
    page = client.get(f"/stellen/{region['lengerich_place'].id}/bewerbungen").get_data(as_text=True)
    assert "(Konto gelöscht)" in page


def test_upload_beyond_the_request_limit_gets_a_clear_page(app, client, login_as, region):
    """Beyond MAX_CONTENT_LENGTH nothing of the request can be read; the page says so plainly."""
    login_as("trainee")
    huge = b"%PDF-1.4\n" + b"0" * (app.config["MAX_CONTENT_LENGTH"] + 1024)
    response = _apply(client, region["lengerich_place"], upload=(io.BytesIO(huge), "riesig.pdf"))
    body = response.get_data(as_text=True)
    assert response.status_code == 413
    assert "viel zu groß" in body and "Ihre Nachricht an die Einrichtung" in body
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Application)) == 0
