"""Validators shared by the forms of several blueprints."""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from wtforms import ValidationError

from network.extensions import db

__all__ = ["password_strength", "valid_ags", "password_problem", "AGS_PATTERN"]

AGS_PATTERN = re.compile(r"^\d{8}$")

# The most common passwords of public breach lists; a full list would be a data file.
_COMMON_PASSWORDS = {
    "passwort123",
    "password123",
    "1234567890",
    "qwertz1234",
    "qwerty1234",
    "hallo12345",
    "passwort1234",
    "password1234",
    "0123456789",
    "letmein1234",
    "willkommen1",
    "willkommen123",
    "sommer2024!",
    "sommer2025!",
    "winter2025!",
    "münster2025",
    "muenster2025",
    "abcdefghij",
}


def password_problem(password: str, email: str = "") -> str | None:
    """Why ``password`` is too weak, or ``None``: at least 10 characters, not a common password,
    not the e-mail's name, and mixing at least three of lower case, upper case, digits, symbols
    (unless it is a passphrase of 16 characters or more)."""
    if len(password) < 10:
        return str(_l("Das Passwort muss mindestens 10 Zeichen lang sein."))
    lowered = password.lower()
    if lowered in _COMMON_PASSWORDS:
        return str(_l("Dieses Passwort ist zu verbreitet. Bitte wählen Sie ein anderes."))
    local_part = email.split("@")[0].lower()
    if len(local_part) >= 3 and local_part in lowered:
        return str(_l("Das Passwort darf nicht Ihre E-Mail-Adresse enthalten."))
    classes = sum(
        bool(re.search(pattern, password))
        for pattern in (r"[a-zäöüß]", r"[A-ZÄÖÜ]", r"\d", r"[^\w\s]")
    )
    if len(password) < 16 and classes < 3:
        return str(
            _l(
                "Bitte mischen Sie Klein- und Großbuchstaben, Ziffern oder Sonderzeichen "
                "(mindestens drei Arten) – oder wählen Sie eine Passphrase ab 16 Zeichen."
            )
        )
    return None


def password_strength(email_field: str = "email"):  # type: ignore[no-untyped-def]
    """WTForms validator around :func:`password_problem`."""

    def check(form, field) -> None:  # type: ignore[no-untyped-def]
        email = getattr(form, email_field).data if hasattr(form, email_field) else ""
        problem = password_problem(field.data or "", email or "")
        if problem:
            raise ValidationError(problem)

    return check


def valid_ags(form, field) -> None:  # type: ignore[no-untyped-def]
    """An 8-digit AGS of a municipality the platform knows."""
    from network.models import Municipality

    value = (field.data or "").strip()
    if not value:
        return
    if not AGS_PATTERN.match(value):
        raise ValidationError(
            _l(
                "Der Gemeindeschlüssel (AGS) besteht aus genau 8 Ziffern, z. B. 05566040 für Lengerich."
            )
        )
    if db.session.get(Municipality, value) is None:
        raise ValidationError(
            _l("Keine Gemeinde im Münsterland hat den Schlüssel %(ags)s.", ags=value)
        )
