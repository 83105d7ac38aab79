"""Digest e-mails: who gets what, visibility, languages, idempotency, settings and the pages."""

from __future__ import annotations

import functools
import re
import time
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from network.digest import services
from network.digest.periods import period_key
from network.extensions import db
from network.models import (
    Announcement,
    Application,
    AuditLog,
    Collaboration,
    DigestDelivery,
    Job,
    OutboxMessage,
    Position,
    SavedSearch,
    Suggestion,
    User,
)
from network.models.base import utcnow
from tests.conftest import TEST_PASSWORD, text_of

LONG_AGO = timedelta(days=30)


@pytest.fixture(autouse=True)
def _digests_due_any_hour(app):
    """Tests run at any time of day: make the daily digest moment midnight."""
    previous = app.config.get("DIGEST_HOUR")
    app.config["DIGEST_HOUR"] = 0
    yield
    app.config["DIGEST_HOUR"] = previous


@functools.cache
def _password_hash() -> str:
    from werkzeug.security import generate_password_hash

    return generate_password_hash(TEST_PASSWORD, method="scrypt")


def _person(make_user, role, email, confirmed=True, **fields):
    """Like ``make_user`` (same password), without hashing the password for every account."""
    user = User(
        email=email,
        name=fields.pop("name", email.split("@")[0].title()),
        role=role,
        email_confirmed_at=utcnow() if confirmed else None,
        created_at=fields.pop("created_at", utcnow() - LONG_AGO),
        digest_frequency=fields.pop(
            "digest_frequency", "daily" if role == "coordinator" else "weekly"
        ),
        digest_weekday=fields.pop("digest_weekday", 0),
        password_hash=_password_hash(),
        **fields,
    )
    db.session.add(user)
    db.session.commit()
    return user


def _aged(obj, days: int = 20) -> None:
    """Move an object's creation into the past (before everyone's last digest)."""
    obj.created_at = utcnow() - timedelta(days=days)
    if hasattr(obj, "updated_at"):
        obj.updated_at = obj.created_at
    db.session.commit()


def _position(org, title):
    position = Position(
        organisation_id=org.id,
        position_type="job",
        profession="nurse",
        title=title,
        ags=org.ags,
        latitude=org.latitude,
        longitude=org.longitude,
        created_at=utcnow() - timedelta(days=20),
    )
    db.session.add(position)
    db.session.commit()
    return position


@pytest.fixture
def world(make_user, make_org):
    """A small network with something new for everyone (and things some must not see)."""
    coordinator = _person(make_user, "coordinator", "koordination@test.example.org")
    anna = _person(
        make_user, "provider", "anna@praxis-lengerich.example.org", name="Anna Anbieterin"
    )
    bernd = _person(
        make_user, "provider", "bernd@klinik-bocholt.example.org", name="Bernd Anbieter"
    )
    tina = _person(make_user, "trainee", "tina@test.example.org", name="Tina Trainee")
    tom = _person(make_user, "trainee", "tom@test.example.org", name="Tom Trainee", language="en")
    quiet = _person(make_user, "provider", "still@test.example.org")
    # Anna's practice in Lengerich needs paediatric placements; Bernd's clinic is in Bocholt, far away.
    praxis = make_org(
        "Hausarztpraxis Lengerich", ags="05566040", needs={"placement:paediatric"}, members=[anna]
    )
    klinik = make_org(
        "Klinik Bocholt",
        kind="hospital",
        ags="05554008",
        needs={"placement:paediatric"},
        members=[bernd],
    )
    quiet_org = make_org("Stille Praxis Ahaus", ags="05554004", members=[quiet])
    partner = make_org("Pflegedienst Tecklenburg", kind="ambulatory_care", ags="05566088")
    for org in (praxis, klinik, quiet_org, partner):
        _aged(org)
    # New since last week: a paediatric ward nearby (public) and a members-only one.
    nearby = make_org(
        "Kinderklinik Lienen", kind="hospital", ags="05566044", offers={"placement:paediatric"}
    )
    hidden = make_org(
        "Verborgene Kinderstation Ladbergen",
        kind="hospital",
        ags="05566032",
        offers={"placement:paediatric"},
        visibility="members",
    )
    praxis_job = _position(praxis, "Pflegefachkraft Praxis Lengerich")
    klinik_job = _position(klinik, "Pflegefachkraft Klinik Bocholt")
    # Tina applied to Anna's practice this week; Tom applied to Bernd's clinic and got an interview.
    application_tina = Application(
        position_id=praxis_job.id,
        trainee_id=tina.id,
        applicant_name="Tina Trainee",
        status="received",
    )
    application_tom = Application(
        position_id=klinik_job.id,
        trainee_id=tom.id,
        applicant_name="Tom Trainee",
        status="interview",
        created_at=utcnow() - timedelta(days=12),
        updated_at=utcnow() - timedelta(hours=3),
    )
    db.session.add_all([application_tina, application_tom])
    db.session.flush()
    db.session.add(
        AuditLog(
            action="application.status_changed",
            object_type="application",
            object_id=str(application_tom.id),
            details={"previous": "received", "status": "interview"},
        )
    )
    a, b = sorted([praxis.id, partner.id])
    accepted = Suggestion(
        org_a_id=a,
        org_b_id=b,
        score=0.8,
        status="accepted",
        reviewed_at=utcnow() - timedelta(days=1),
        computed_at=utcnow() - timedelta(days=3),
    )
    c, d = sorted([klinik.id, nearby.id])
    waiting = Suggestion(
        org_a_id=c,
        org_b_id=d,
        score=0.7,
        status="open",
        computed_at=utcnow() - timedelta(hours=5),
        reasons=["ergänzt sich"],
    )
    e, f = sorted([praxis.id, nearby.id])
    db.session.add_all([accepted, waiting])
    db.session.add(
        Collaboration(
            org_a_id=e,
            org_b_id=f,
            kind="training",
            status="active",
            confirmed_a=True,
            confirmed_b=True,
        )
    )
    db.session.add(
        Announcement(
            title="Netzwerktreffen Pflegeausbildung",
            body="Wir treffen uns im Kreishaus.",
            event_date=date.today() + timedelta(days=10),
            location="Steinfurt",
        )
    )
    db.session.commit()
    quiet.last_digest_at = utcnow()  # they had a digest a moment ago: nothing is new for them
    db.session.commit()
    return {
        "coordinator": coordinator,
        "anna": anna,
        "bernd": bernd,
        "tina": tina,
        "tom": tom,
        "quiet": quiet,
        "nearby": nearby,
        "hidden": hidden,
    }


def _mails(smtp_server, count: int):
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and len(smtp_server.messages) < count:
        time.sleep(0.05)
    return {m["To"]: m for m in smtp_server.messages}


def test_each_role_gets_its_own_news_and_nothing_it_may_not_see(world, smtp_server):
    report = services.run_digests()
    assert report.due == 6
    assert report.sent == 5 and report.empty == 1 and report.retrying == 0 and report.failed == 0
    mails = _mails(smtp_server, 5)
    assert set(mails) == {
        u.email for k, u in world.items() if k in ("coordinator", "anna", "bernd", "tina", "tom")
    }
    assert world["quiet"].email not in mails  # nothing new for them: no mail at all

    anna = text_of(mails[world["anna"].email])
    assert (
        "Neue Bewerbungen" in anna
        and "Tina Trainee" in anna
        and "Pflegefachkraft Praxis Lengerich" in anna
    )
    assert (
        "Neu in Ihrer Nähe" in anna
        and "Kinderklinik Lienen" in anna
        and "Praxiseinsatz Pädiatrie" in anna
    )
    assert "Angenommene Vorschläge" in anna and "Pflegedienst Tecklenburg" in anna
    assert "Netzwerktreffen Pflegeausbildung" in anna
    # Not hers: Tom's application to Bernd's clinic, the coordinators' review queue.
    assert "Tom Trainee" not in anna and "Vorschläge zur Prüfung" not in anna

    bernd = text_of(mails[world["bernd"].email])
    assert "Tina Trainee" not in bernd and "Tom Trainee" not in bernd  # Tom applied 12 days ago
    assert "Kinderklinik Lienen" not in bernd  # 60 km from Bocholt
    assert "Vorschläge zur Prüfung" not in bernd

    tom = text_of(mails[world["tom"].email])
    assert "interview" in tom and "Pflegefachkraft Klinik Bocholt" in tom
    assert "Tina" not in tom and "Praxis Lengerich" not in tom
    tina = text_of(mails[world["tina"].email])
    assert "Tom" not in tina and "Bewerbungen" not in tina  # her own application did not change
    assert "Netzwerktreffen" in tina

    coordinator = text_of(mails[world["coordinator"].email])
    assert (
        "Vorschläge zur Prüfung" in coordinator
        and "Klinik Bocholt ↔ Kinderklinik Lienen" in coordinator
    )
    assert (
        "Neue Organisationen" in coordinator and "Verborgene Kinderstation Ladbergen" in coordinator
    )
    assert "Neue Kooperationen" in coordinator and "Das Netzwerk in Zahlen" in coordinator
    assert "Organisationen: 6 (+2" in coordinator
    assert "Tina Trainee" not in coordinator  # applications are the providers' business


def test_members_only_organisations_stay_out_of_digests_of_people_who_cannot_log_in(world, app):
    from network.digest.content import DigestFacts, OrganisationFact, Recipient, build_digest

    hidden = OrganisationFact(
        world["hidden"].id,
        "Verborgen",
        "hospital",
        created_at=utcnow(),
        visibility="members",
        offers=frozenset({"x"}),
    )
    facts = DigestFacts(organisations=[hidden])
    since = utcnow() - timedelta(days=1)
    assert (
        build_digest(
            Recipient(1, "coordinator", logged_in=True),
            facts,
            since,
            utcnow() + timedelta(seconds=1),
        ).item_count
        == 1
    )
    assert build_digest(
        Recipient(1, "coordinator", logged_in=False), facts, since, utcnow() + timedelta(seconds=1)
    ).is_empty


def test_mail_has_both_parts_absolute_links_and_one_click_unsubscribe(world, smtp_server, app):
    services.run_digests()
    mail = _mails(smtp_server, 5)[world["anna"].email]
    assert mail.get_body(preferencelist=("html",)) is not None
    html = mail.get_body(preferencelist=("html",)).get_content()
    assert "Kinderklinik Lienen" in html and '<a href="http://localhost/' in html
    text = text_of(mail)
    links = re.findall(r"https?://\S+", text)
    assert links and all(link.startswith(app.config["BASE_URL"]) for link in links)
    assert "http://localhost/benachrichtigungen/einstellungen" in text
    header = mail["List-Unsubscribe"]
    url, mailto = re.findall(r"<([^>]+)>", header)
    assert url.startswith("http://localhost/benachrichtigungen/abmelden/") and mailto.startswith(
        "mailto:"
    )
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert url in text


def test_second_run_in_the_same_period_sends_nothing(world, smtp_server):
    first = services.run_digests()
    _mails(smtp_server, first.sent)
    second = services.run_digests()
    assert second.due == 0 and second.sent == 0
    # Forcing one person's digest again is refused by the (user, period) key as well.
    forced = services.run_digests(user_email=world["anna"].email)
    assert forced.already == 1 and forced.queued == 0
    keys = db.session.scalars(
        sa.select(DigestDelivery.period_key).where(DigestDelivery.user_id == world["anna"].id)
    ).all()
    assert keys == [period_key("weekly", services.local_now())]
    assert db.session.scalar(
        sa.select(OutboxMessage.idempotency_key).where(
            OutboxMessage.recipient == world["anna"].email
        )
    ) == (f"digest:{world['anna'].id}:{keys[0]}")
    time.sleep(0.2)
    assert len(smtp_server.to(world["anna"].email)) == 1


def test_empty_digest_is_recorded_not_sent(world, smtp_server):
    services.run_digests()
    quiet = world["quiet"]
    delivery = db.session.scalar(
        sa.select(DigestDelivery).where(DigestDelivery.user_id == quiet.id)
    )
    assert delivery.outcome == "empty" and delivery.outbox_id is None
    assert smtp_server.to(quiet.email) == []
    db.session.refresh(quiet)
    assert quiet.last_digest_at is not None


def test_only_news_since_the_last_digest(world, smtp_server, make_org):
    anna = world["anna"]
    anna.last_digest_at = utcnow()  # she just had one
    db.session.commit()
    report = services.run_digests(user_email=anna.email)
    assert report.empty == 1 and report.sent == 0


def test_who_is_due(world, make_user, app):
    now = utcnow()
    local = services.local_now(now)
    off = _person(make_user, "provider", "aus@test.example.org", digest_frequency="off")
    later = _person(
        make_user,
        "provider",
        "spaeter@test.example.org",
        digest_weekday=(local.weekday() + 1) % 7 or 1,
    )
    unconfirmed = _person(make_user, "trainee", "neu@test.example.org", confirmed=False)
    brand_new = make_user("provider", email="frisch@test.example.org", digest_frequency="daily")
    monthly = _person(make_user, "provider", "monat@test.example.org", digest_frequency="monthly")
    due = set(services.due_user_ids(now))
    assert off.id not in due and unconfirmed.id not in due and brand_new.id not in due
    assert (later.id in due) == (later.digest_weekday <= local.weekday())
    assert monthly.id in due and world["anna"].id in due
    # Before today's moment the daily digest is not due yet.
    app.config["DIGEST_HOUR"] = 23
    evening = local.replace(hour=22, minute=0)
    assert world["coordinator"].id not in services.due_user_ids(evening)
    assert world["coordinator"].id in services.due_user_ids(evening + timedelta(hours=1, minutes=5))


def test_english_digest_for_english_speakers(world, smtp_server):
    services.run_digests()
    mail = _mails(smtp_server, 5)[world["tom"].email]
    assert "updates for you" in mail["Subject"]
    text = text_of(mail)
    assert "News about your applications" in text and "interview" in text
    assert "Hallo" not in text


def test_trainees_get_new_positions_of_their_saved_searches(world, smtp_server, monkeypatch):
    tina = world["tina"]
    db.session.add(SavedSearch(user_id=tina.id, name="Pflege im Tecklenburger Land", params={}))
    db.session.commit()
    fresh = Position(
        organisation_id=world["nearby"].id,
        position_type="apprenticeship",
        profession="nurse",
        title="Ausbildung Pflegefachfrau Lienen",
        ags=world["nearby"].ags,
        latitude=world["nearby"].latitude,
        longitude=world["nearby"].longitude,
    )
    db.session.add(fresh)
    db.session.commit()
    calls = []

    def matching(saved_search, since):
        calls.append((saved_search.id, since))
        return [fresh]

    monkeypatch.setattr("network.positions.services.matching_positions_for_saved_search", matching)
    services.run_digests(user_email=tina.email)
    text = text_of(smtp_server.wait_for(tina.email)[0])
    assert "Ausbildung Pflegefachfrau Lienen" in text and "Pflege im Tecklenburger Land" in text
    assert calls and calls[0][1] < utcnow()


def test_missing_saved_search_matching_is_a_warning_not_a_crash(
    world, smtp_server, monkeypatch, caplog
):
    import network.positions.services as positions

    tina = world["tina"]
    db.session.add(SavedSearch(user_id=tina.id, name="Irgendwas", params={}))
    db.session.commit()
    monkeypatch.delattr(positions, "matching_positions_for_saved_search")
    with caplog.at_level("WARNING"):
        report = services.run_digests(user_email=tina.email)
    assert report.sent == 1  # the announcement still goes out
    assert "saved-search matching is not available" in caplog.text


# --------------------------------------------------------------------------- unsubscribe


def _unsubscribe_path(smtp_server, email: str) -> str:
    url = re.findall(r"<([^>]+)>", smtp_server.wait_for(email)[0]["List-Unsubscribe"])[0]
    return url.replace("http://localhost", "")


def test_one_click_unsubscribe_without_login_and_csrf(world, smtp_server, app):
    services.run_digests()
    path = _unsubscribe_path(smtp_server, world["anna"].email)
    app.config["WTF_CSRF_ENABLED"] = True  # as in production: the mail client has no form token
    try:
        response = app.test_client().post(path, data={"List-Unsubscribe": "One-Click"})
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert response.status_code == 200
    assert "abgemeldet" in response.get_data(as_text=True)
    assert db.session.get(User, world["anna"].id).digest_frequency == "off"
    assert (
        db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "digest.unsubscribed"))
        is not None
    )


def test_unsubscribe_link_asks_first_then_the_button_unsubscribes(world, smtp_server, client):
    services.run_digests()
    path = _unsubscribe_path(smtp_server, world["tina"].email)
    page = client.get(path)
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "Ja, abbestellen" in body and f'action="{path}"' in body
    assert "tina@test.example.org" not in body  # the address is masked
    assert (
        db.session.get(User, world["tina"].id).digest_frequency == "weekly"
    )  # GET changes nothing
    assert client.post(path).status_code == 200
    assert db.session.get(User, world["tina"].id).digest_frequency == "off"
    assert "bereits abbestellt" in client.get(path).get_data(as_text=True)


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_forged_unsubscribe_token_changes_nothing(world, smtp_server, client, method):
    services.run_digests()
    path = _unsubscribe_path(smtp_server, world["anna"].email)
    token = path.rsplit("/", 1)[1]
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    response = client.open(f"/benachrichtigungen/abmelden/{forged}", method=method)
    assert response.status_code == 400
    assert "ungültig" in response.get_data(as_text=True) and "nichts geändert" in response.get_data(
        as_text=True
    )
    # Another person's id in a self-made token does not work either (wrong signature).
    import itsdangerous

    other = (
        itsdangerous.TimestampSigner("guessed-secret", salt="network.digest-unsubscribe")
        .sign(f"{world['bernd'].id}.0")
        .decode()
    )
    assert client.open(f"/benachrichtigungen/abmelden/{other}", method=method).status_code == 400
    assert db.session.get(User, world["anna"].id).digest_frequency == "weekly"
    assert db.session.get(User, world["bernd"].id).digest_frequency == "weekly"


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_expired_unsubscribe_token_changes_nothing(world, client, app, monkeypatch, method):
    import itsdangerous.timed

    real_time = time.time
    with app.test_request_context():
        monkeypatch.setattr(itsdangerous.timed.time, "time", lambda: real_time() - 200 * 24 * 3600)
        token = services.unsubscribe_token(world["anna"])
        monkeypatch.setattr(itsdangerous.timed.time, "time", real_time)
    response = client.open(f"/benachrichtigungen/abmelden/{token}", method=method)
    assert response.status_code == 400
    assert "abgelaufen" in response.get_data(as_text=True)
    assert db.session.get(User, world["anna"].id).digest_frequency == "weekly"


def test_password_change_retires_old_unsubscribe_links(world, client):
    token = services.unsubscribe_token(world["anna"])
    world["anna"].security_stamp += 1
    db.session.commit()
    assert client.post(f"/benachrichtigungen/abmelden/{token}").status_code == 400
    assert db.session.get(User, world["anna"].id).digest_frequency == "weekly"


# --------------------------------------------------------------------------- pages


def test_settings_page_saves_frequency_weekday_and_language(client, login_as):
    user = login_as("trainee")
    page = client.get("/benachrichtigungen/einstellungen")
    assert page.status_code == 200 and "wöchentlich" in page.get_data(as_text=True)
    response = client.post(
        "/benachrichtigungen/einstellungen",
        data={"frequency": "weekly", "weekday": "4", "language": "en"},
    )
    assert response.status_code == 302
    db.session.refresh(user)
    assert (user.digest_frequency, user.digest_weekday, user.language) == ("weekly", 4, "en")
    bad = client.post(
        "/benachrichtigungen/einstellungen",
        data={"frequency": "hourly", "weekday": "2", "language": "de"},
    )
    assert bad.status_code == 422
    assert re.search(
        r'<option selected value="2">', bad.get_data(as_text=True)
    )  # what was typed is kept
    assert (
        client.post(
            "/benachrichtigungen/einstellungen",
            data={"frequency": "off", "weekday": "0", "language": "de"},
        ).status_code
        == 302
    )
    db.session.refresh(user)
    assert user.digest_frequency == "off"
    assert "abbestellt" in client.get("/benachrichtigungen/einstellungen").get_data(as_text=True)


def test_settings_need_login(client):
    response = client.get("/benachrichtigungen/einstellungen")
    assert response.status_code == 302 and "/konto/anmelden" in response.headers["Location"]


def test_coordinator_posts_announcement_and_everyone_can_read_it(client, login_as, make_user):
    login_as("coordinator")
    empty = client.post(
        "/benachrichtigungen/ankuendigungen", data={"title": "", "body": "Text bleibt"}
    )
    assert empty.status_code == 422 and "Text bleibt" in empty.get_data(as_text=True)
    assert "Bitte geben Sie einen Titel an." in empty.get_data(as_text=True)
    response = client.post(
        "/benachrichtigungen/ankuendigungen",
        data={
            "title": "Tag der Pflege",
            "body": "Offene Türen",
            "event_date": "2030-05-12",
            "location": "Rheine",
        },
    )
    assert response.status_code == 302
    assert db.session.scalar(sa.select(Announcement.title)) == "Tag der Pflege"
    assert "Tag der Pflege" in client.get("/benachrichtigungen/termine").get_data(as_text=True)


def test_providers_cannot_post_announcements(client, login_as):
    login_as("provider")
    assert client.get("/benachrichtigungen/ankuendigungen").status_code == 403
    assert client.post("/benachrichtigungen/ankuendigungen", data={"title": "x"}).status_code == 403
    assert client.get("/benachrichtigungen/termine").status_code == 200


def test_coordinator_previews_a_providers_digest(world, client, auth):
    auth.login(world["coordinator"].email, TEST_PASSWORD)
    found = client.get("/benachrichtigungen/vorschau?q=anna")
    assert found.status_code == 200 and world["anna"].email in found.get_data(as_text=True)
    page = client.get(f"/benachrichtigungen/vorschau?user={world['anna'].id}")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Neue Bewerbungen" in body and "Tina Trainee" in body and "Kinderklinik Lienen" in body
    html = client.get(f"/benachrichtigungen/vorschau/{world['anna'].id}/email.html")
    assert html.status_code == 200 and "Kinderklinik Lienen" in html.get_data(as_text=True)
    # A preview writes nothing and sends nothing.
    assert db.session.scalar(sa.select(sa.func.count()).select_from(DigestDelivery)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 0
    quiet = client.get(f"/benachrichtigungen/vorschau?user={world['quiet'].id}").get_data(
        as_text=True
    )
    assert "wäre leer" in quiet


def test_outbox_page_retries_a_failed_message(client, login_as, app):
    login_as("coordinator")
    message = OutboxMessage(
        idempotency_key="test:1",
        recipient="x@test.example.org",
        subject="Hallo",
        text_body="t",
        status="failed",
        attempts=12,
        last_error="SMTPRecipientsRefused",
    )
    db.session.add(message)
    db.session.commit()
    page = client.get("/benachrichtigungen/postausgang").get_data(as_text=True)
    assert "x@test.example.org" in page and "Erneut versuchen" in page
    assert client.post(f"/benachrichtigungen/postausgang/{message.id}/erneut").status_code == 302
    db.session.refresh(message)
    assert message.status == "pending" and message.attempts == 0
    assert (
        client.post(f"/benachrichtigungen/postausgang/{message.id}/erneut").status_code == 302
    )  # not failed: refused politely
    assert (
        db.session.scalar(sa.select(AuditLog.action).where(AuditLog.action == "outbox.retry"))
        == "outbox.retry"
    )


def test_coordinator_starts_a_run_and_watches_its_progress(world, client, auth, smtp_server):
    auth.login(world["coordinator"].email, TEST_PASSWORD)
    response = client.post("/benachrichtigungen/laeufe")
    assert response.status_code == 302
    job = db.session.scalar(sa.select(Job).where(Job.kind == "digest"))
    assert f"job={job.id}" in response.headers["Location"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f"Versandlauf {job.id}" in page
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        fragment = client.get(f"/benachrichtigungen/laeufe/{job.id}").get_data(as_text=True)
        if "Fertig" in fragment or "abgebrochen" in fragment:
            break
        assert 'hx-trigger="every 1s"' in fragment
        time.sleep(0.2)
    assert "Fertig" in fragment and "hx-trigger" not in fragment
    db.session.expire_all()
    job = db.session.get(Job, job.id)
    assert job.status == "done" and job.result["sent"] == 5 and job.result["empty"] == 1
    assert len(smtp_server.messages) == 5


def test_rendering_english_digests_leaves_the_site_german(world, client, smtp_server):
    services.run_digests()  # renders Tom's digest in English
    page = client.get("/")
    assert 'lang="de"' in page.get_data(as_text=True)
    assert "Über die Plattform" in page.get_data(as_text=True)


def test_a_note_edited_after_an_old_status_change_is_no_news(world, smtp_server):
    tom = world["tom"]
    application = db.session.scalar(sa.select(Application).where(Application.trainee_id == tom.id))
    entry = db.session.scalar(sa.select(AuditLog).where(AuditLog.object_id == str(application.id)))
    entry.created_at = utcnow() - timedelta(
        days=10
    )  # the interview was agreed before his last digest
    application.provider_note = "Bitte Zeugnisse mitbringen"  # edited since: updated_at is new
    application.updated_at = utcnow() - timedelta(hours=1)
    tom.last_digest_at = utcnow() - timedelta(days=2)
    db.session.commit()
    preview = services.preview_digest(tom)
    assert preview.digest.section("application_updates") is None


def test_a_token_for_another_purpose_does_not_unsubscribe(world, client, app):
    from network.auth.tokens import make_token

    with app.test_request_context():
        confirm = make_token("confirm", {"uid": world["anna"].id, "email": world["anna"].email})
    assert client.post(f"/benachrichtigungen/abmelden/{confirm}").status_code == 400
    assert db.session.get(User, world["anna"].id).digest_frequency == "weekly"


def test_digests_wait_in_the_outbox_while_the_mail_server_is_down(world, app, monkeypatch):
    from datetime import timedelta as _td

    from network.mail import deliver_all
    from tests.integration.test_outbox import ScriptedSink

    sink = ScriptedSink()  # not started yet: nothing listens
    monkeypatch.setattr(app.extensions["mail"], "port", sink.port)
    report = services.run_digests()
    assert report.queued == 5 and report.sent == 0 and report.retrying == 5
    assert (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(DigestDelivery)
            .where(DigestDelivery.outcome == "queued")
        )
        == 5
    )
    sink.start()
    try:
        assert services.run_digests().due == 0  # nothing is built twice
        delivered = deliver_all(now=utcnow() + _td(minutes=5))
        assert delivered.sent == 5
        sink.wait_for(world["tom"].email)
        time.sleep(0.2)
        assert sorted(m["To"] for m in sink.messages) == sorted(
            u.email
            for k, u in world.items()
            if k in ("coordinator", "anna", "bernd", "tina", "tom")
        )
    finally:
        sink.stop()


def test_demo_announcements_load_once(app):
    from types import SimpleNamespace

    from network.digest import demo

    summary = SimpleNamespace(extra={})
    demo.load(summary, 42, lambda *args: None)
    demo.load(summary, 42, lambda *args: None)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Announcement)) == len(
        demo.ANNOUNCEMENTS
    )
    assert summary.extra["Ankündigungen"] == len(demo.ANNOUNCEMENTS)


def test_collaboration_counts_from_its_confirmation_and_a_declined_proposal_never_counts(
    app, make_user, make_org
):
    from network.network_view import services as collaborations

    coordinator = _person(make_user, "coordinator", "zahlen@test.example.org")
    anna = _person(make_user, "provider", "anna@lengerich.example.org")
    bernd = _person(make_user, "provider", "bernd@lienen.example.org")
    praxis = make_org("Praxis Lengerich", ags="05566040", members=[anna])
    pflege = make_org(
        "Pflegedienst Lienen", kind="ambulatory_care", ags="05566044", members=[bernd]
    )
    klinik = make_org("Klinik Tecklenburg", kind="hospital", ags="05566088")
    for org in (praxis, pflege, klinik):
        _aged(org, days=30)
    with app.test_request_context():  # the partners are asked by mail, with links
        confirmed_late = collaborations.record_collaboration(
            praxis, pflege.id, "training", None, "", anna
        )
        declined = collaborations.record_collaboration(
            praxis, klinik.id, "referral", None, "", anna
        )
    _aged(confirmed_late, days=10)  # proposed long before the coordinator's last digest
    _aged(declined, days=10)
    coordinator.last_digest_at = utcnow() - timedelta(days=1)
    db.session.commit()

    before = services.preview_digest(coordinator).digest
    assert before.section("collaborations") is None  # still only proposed

    with app.test_request_context():
        collaborations.confirm_collaboration(confirmed_late, bernd)
        collaborations.decline_collaboration(
            declined, make_user("coordinator", "k2@test.example.org")
        )
    digest = services.preview_digest(coordinator).digest
    assert [{c.org_a_name, c.org_b_name} for c in digest.section("collaborations").items] == [
        {"Praxis Lengerich", "Pflegedienst Lienen"}
    ]
    # The declined proposal ended today but was never active: no moment counts it.
    assert services._figures_at(utcnow() - timedelta(days=2)).collaborations == 0
    assert services._figures_at(utcnow()).collaborations == 1
