"""Account operations: the only place that writes users."""

from __future__ import annotations

import hmac

import sqlalchemy as sa
from flask import current_app, url_for
from flask_babel import gettext as _

from network.audit import record
from network.auth.tokens import TokenError, TokenInvalid, make_token, read_token
from network.extensions import db
from network.mail import queue_email
from network.models import User
from network.models.base import utcnow
from network.models.user import PASSWORD_METHOD

__all__ = [
    "AccountError",
    "load_user",
    "normalise_email",
    "register_user",
    "send_confirmation",
    "confirm_email",
    "authenticate",
    "request_password_reset",
    "reset_password",
    "change_password",
    "default_digest_frequency",
]

# Checking a password against this hash when the account does not exist makes a failed log-in
# take as long for unknown addresses as for wrong passwords (no account enumeration by timing).
_DUMMY_HASH: str | None = None


class AccountError(Exception):
    """An account operation cannot be done; the message is shown to the user."""


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def default_digest_frequency(role: str) -> str:
    """Coordinators want the queue daily; everyone else a weekly summary."""
    return "daily" if role in ("coordinator", "admin") else "weekly"


def load_user(session_id: str) -> User | None:
    """Flask-Login loader: ``"<id>:<security_stamp>"``; an outdated stamp logs the session out."""
    try:
        user_id, stamp = (int(part) for part in session_id.split(":", 1))
    except ValueError:
        return None
    user = db.session.get(User, user_id)
    if user is None or user.security_stamp != stamp:
        return None
    return user


def _find(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.email == normalise_email(email)))


def register_user(name: str, email: str, password: str, role: str, language: str) -> User:
    if role not in ("provider", "trainee"):
        raise AccountError(_("Diese Rolle kann man nicht selbst wählen."))
    if _find(email) is not None:
        raise AccountError(
            _(
                "Für diese E-Mail-Adresse gibt es schon ein Konto. Melden Sie sich an oder setzen Sie das Passwort zurück."
            )
        )
    user = User(
        name=name.strip(),
        email=normalise_email(email),
        role=role,
        language=language if language in ("de", "en") else "de",
        digest_frequency=default_digest_frequency(role),
    )
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    record("account.registered", "user", user.id, actor_id=user.id, role=role)
    send_confirmation(user)
    db.session.commit()
    return user


def send_confirmation(user: User) -> None:
    token = make_token("confirm", {"uid": user.id, "email": user.email})
    link = current_app.config["BASE_URL"] + url_for("auth.confirm", token=token)
    queue_email(
        user.email,
        _("Bitte bestätigen Sie Ihre E-Mail-Adresse"),
        "auth/confirm",
        language=user.language,
        category="account",
        user=user,
        link=link,
        hours=current_app.config["EMAIL_TOKEN_MAX_AGE_SECONDS"] // 3600,
    )


def confirm_email(token: str) -> User:
    """Confirm the address in ``token``; raises :class:`TokenError` when expired or forged."""
    data = read_token("confirm", token, current_app.config["EMAIL_TOKEN_MAX_AGE_SECONDS"])
    user = db.session.get(User, data.get("uid"))
    if user is None or user.email != data.get("email"):
        raise TokenInvalid("no such account")
    if user.email_confirmed_at is None:
        user.email_confirmed_at = utcnow()
        record("account.confirmed", "user", user.id, actor_id=user.id)
        db.session.commit()
    return user


def authenticate(email: str, password: str) -> User | None:
    """The user with these credentials, or ``None`` — the same answer and effort either way."""
    global _DUMMY_HASH
    user = _find(email)
    if user is None:
        if _DUMMY_HASH is None:
            from werkzeug.security import generate_password_hash

            _DUMMY_HASH = generate_password_hash("not-a-real-password", method=PASSWORD_METHOD)
        from werkzeug.security import check_password_hash

        check_password_hash(_DUMMY_HASH, password)
        return None
    if not user.check_password(password) or not user.active:
        return None
    user.last_login_at = utcnow()
    db.session.commit()
    return user


def request_password_reset(email: str) -> None:
    """Queue a reset link if the account exists; the caller says the same thing either way."""
    user = _find(email)
    if user is None:
        return
    token = make_token("reset", {"uid": user.id, "stamp": user.security_stamp})
    link = current_app.config["BASE_URL"] + url_for("auth.reset_password", token=token)
    queue_email(
        user.email,
        _("Passwort zurücksetzen"),
        "auth/reset",
        language=user.language,
        category="account",
        user=user,
        link=link,
        minutes=current_app.config["RESET_TOKEN_MAX_AGE_SECONDS"] // 60,
    )
    db.session.commit()


def user_for_reset_token(token: str) -> User:
    data = read_token("reset", token, current_app.config["RESET_TOKEN_MAX_AGE_SECONDS"])
    user = db.session.get(User, data.get("uid"))
    # A used token is dead: setting the password bumped the stamp it was signed with.
    if user is None or not hmac.compare_digest(str(user.security_stamp), str(data.get("stamp"))):
        raise TokenInvalid("token already used")
    return user


def reset_password(token: str, password: str) -> User:
    user = user_for_reset_token(token)
    _set_new_password(user, password)
    if user.email_confirmed_at is None:
        user.email_confirmed_at = utcnow()  # the reset link proved the address
    record("account.password_reset", "user", user.id, actor_id=user.id)
    db.session.commit()
    return user


def change_password(user: User, current_password: str, new_password: str) -> None:
    if not user.check_password(current_password):
        raise AccountError(_("Das aktuelle Passwort ist nicht richtig."))
    _set_new_password(user, new_password)
    record("account.password_changed", "user", user.id, actor_id=user.id)
    db.session.commit()


def _set_new_password(user: User, password: str) -> None:
    user.set_password(password)
    user.security_stamp += 1


__all__ += ["user_for_reset_token", "TokenError"]
