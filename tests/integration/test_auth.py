"""Accounts: registration, confirmation, log-in, password reset and change."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from network.extensions import db
from network.mail import deliver_due
from network.models import AuditLog, OutboxMessage, User
from tests.conftest import TEST_PASSWORD, text_of

GOOD_PASSWORD = "Sehr-Gutes-Passwort-7"


def register(client, email="neu@test.example.org", password=GOOD_PASSWORD, **fields):
    data = {
        "name": fields.get("name", "Nina Neu"),
        "email": email,
        "role": fields.get("role", "provider"),
        "language": fields.get("language", "de"),
        "password": password,
        "password_confirm": fields.get("password_confirm", password),
    }
    return client.post("/konto/registrieren", data=data)


def link_in(message) -> str:
    return re.search(r"http://localhost(/\S+)", text_of(message)).group(1)


def test_register_queues_confirmation_and_delivers_it(client, smtp_server):
    response = register(client)
    assert response.status_code == 200
    assert "neu@test.example.org" in response.get_data(as_text=True)
    user = db.session.scalar(sa.select(User).filter_by(email="neu@test.example.org"))
    assert user is not None and not user.is_confirmed
    assert user.password_hash.startswith("scrypt:")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 1

    report = deliver_due()
    assert report.sent == 1
    [mail] = smtp_server.wait_for("neu@test.example.org")
    assert "bestätigen" in mail["Subject"]


def test_confirm_then_login_then_logout(client, smtp_server):
    register(client)
    deliver_due()
    [mail] = smtp_server.wait_for("neu@test.example.org")
    # Unconfirmed accounts cannot log in yet, and are told why.
    response = client.post(
        "/konto/anmelden", data={"email": "neu@test.example.org", "password": GOOD_PASSWORD}
    )
    assert response.status_code == 403
    assert "bestätigen" in response.get_data(as_text=True)

    response = client.get(link_in(mail))
    assert response.status_code == 302
    response = client.post(
        "/konto/anmelden", data={"email": "NEU@test.example.org ", "password": GOOD_PASSWORD}
    )
    assert response.status_code == 302
    assert client.get("/start").status_code == 200
    assert client.post("/konto/abmelden").status_code == 302
    assert client.get("/start").status_code == 302


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("kurz", "mindestens 10 Zeichen"),
        ("passwort123", "zu verbreitet"),
        ("allesklein", "mischen"),
        ("neuNEU12345!", "E-Mail-Adresse enthalten"),
    ],
)
def test_weak_password_is_refused_and_input_kept(client, password, message):
    response = register(client, email="neu@test.example.org", password=password, name="Nina Neu")
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in body
    assert 'value="neu@test.example.org"' in body
    assert 'value="Nina Neu"' in body
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0


def test_duplicate_email_gets_a_clear_message(client, make_user):
    make_user("provider", email="doppelt@test.example.org")
    response = register(client, email="Doppelt@test.example.org", name="Zweite Person")
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "schon ein Konto" in body
    assert 'value="Zweite Person"' in body


def test_mismatched_confirmation_keeps_input(client):
    response = register(client, password_confirm="anders-als-das-Passwort-1")
    assert response.status_code == 422
    assert "stimmen nicht überein" in response.get_data(as_text=True)


def test_wrong_password_never_reveals_whether_account_exists(client, make_user):
    make_user("provider", email="gibt-es@test.example.org")
    known = client.post(
        "/konto/anmelden",
        data={"email": "gibt-es@test.example.org", "password": "falsch-falsch-1A"},
    )
    unknown = client.post(
        "/konto/anmelden",
        data={"email": "gibt-es-nicht@test.example.org", "password": "falsch-falsch-1A"},
    )
    assert known.status_code == unknown.status_code == 401

    def strip(body: str) -> str:  # the CSRF token and the typed e-mail differ by nature
        body = re.sub(r'(name="csrf_token"[^>]*>|<meta name="csrf-token"[^>]*>)', "", body)
        return body.replace("gibt-es-nicht@", "X@").replace("gibt-es@", "X@")

    assert strip(known.get_data(as_text=True)) == strip(unknown.get_data(as_text=True))
    reset_known = client.post(
        "/konto/passwort-vergessen", data={"email": "gibt-es@test.example.org"}
    )
    reset_unknown = client.post(
        "/konto/passwort-vergessen", data={"email": "gibt-es-nicht@test.example.org"}
    )
    assert strip(reset_known.get_data(as_text=True)) == strip(reset_unknown.get_data(as_text=True))


def test_login_rate_limit_engages_per_account(client, make_user):
    make_user("provider", email="ziel@test.example.org")
    statuses = [
        client.post(
            "/konto/anmelden",
            data={"email": "ziel@test.example.org", "password": f"falsch-{i}-Aa"},
            environ_base={"REMOTE_ADDR": f"10.0.0.{i}"},  # a different address every time
        ).status_code
        for i in range(12)
    ]
    assert statuses[:10] == [401] * 10
    assert statuses[10:] == [429, 429]
    # Even the right password is refused while the account is locked out.
    locked = client.post(
        "/konto/anmelden",
        data={"email": "ziel@test.example.org", "password": TEST_PASSWORD},
        environ_base={"REMOTE_ADDR": "10.0.1.1"},
    )
    assert locked.status_code == 429
    assert "Zu viele" in locked.get_data(as_text=True)


def test_login_rate_limit_engages_per_address(client):
    statuses = [
        client.post(
            "/konto/anmelden",
            data={"email": f"user{i}@test.example.org", "password": "falsch-Aa-1"},
        ).status_code
        for i in range(11)
    ]
    assert statuses[-1] == 429


def test_password_reset_flow_and_token_single_use(client, make_user, smtp_server):
    user = make_user("trainee", email="vergesslich@test.example.org")
    client.post("/konto/passwort-vergessen", data={"email": user.email})
    deliver_due()
    [mail] = smtp_server.wait_for(user.email)
    path = link_in(mail)
    response = client.post(
        path, data={"password": "Ganz-Neues-Pw-99", "password_confirm": "Ganz-Neues-Pw-99"}
    )
    assert response.status_code == 302
    assert (
        client.post(
            "/konto/anmelden", data={"email": user.email, "password": "Ganz-Neues-Pw-99"}
        ).status_code
        == 302
    )
    # The same link cannot be used twice.
    again = client.get(path)
    assert again.status_code == 400
    assert "ungültig" in again.get_data(as_text=True)


def test_forged_or_expired_tokens_get_a_clear_page(app, client, make_user):
    user = make_user("provider", confirmed=False)
    assert client.get("/konto/bestaetigen/not-a-token").status_code == 400
    app.config["EMAIL_TOKEN_MAX_AGE_SECONDS"] = -1
    try:
        from network.auth.tokens import make_token

        token = make_token("confirm", {"uid": user.id, "email": user.email})
        response = client.get(f"/konto/bestaetigen/{token}")
    finally:
        app.config["EMAIL_TOKEN_MAX_AGE_SECONDS"] = 48 * 3600
    assert response.status_code == 400
    assert "abgelaufen" in response.get_data(as_text=True)
    db.session.refresh(user)
    assert not user.is_confirmed


def test_change_password_logs_out_other_sessions(app, make_user):
    user = make_user("provider")
    first, second = app.test_client(), app.test_client()
    for c in (first, second):
        assert (
            c.post(
                "/konto/anmelden", data={"email": user.email, "password": TEST_PASSWORD}
            ).status_code
            == 302
        )
    response = first.post(
        "/konto/passwort",
        data={
            "current_password": TEST_PASSWORD,
            "password": "Anderes-Passwort-8!",
            "password_confirm": "Anderes-Passwort-8!",
        },
    )
    assert response.status_code == 302
    assert first.get("/start").status_code == 200
    assert second.get("/start").status_code == 302
    assert (
        db.session.scalar(sa.select(AuditLog).filter_by(action="account.password_changed"))
        is not None
    )


def test_change_password_with_wrong_current_password(client, login_as):
    login_as("provider")
    response = client.post(
        "/konto/passwort",
        data={
            "current_password": "falsch",
            "password": "Anderes-Passwort-8!",
            "password_confirm": "Anderes-Passwort-8!",
        },
    )
    assert response.status_code == 422
    assert "nicht richtig" in response.get_data(as_text=True)


def test_open_redirect_is_refused(client, make_user):
    user = make_user("provider")
    response = client.post(
        "/konto/anmelden?next=https://evil.example.com/",
        data={"email": user.email, "password": TEST_PASSWORD},
    )
    assert response.headers["Location"] == "/start"


def test_session_cookie_flags(app, client, make_user):
    user = make_user("provider")
    response = client.post("/konto/anmelden", data={"email": user.email, "password": TEST_PASSWORD})
    cookie = response.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
