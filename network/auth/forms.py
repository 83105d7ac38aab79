"""Account forms; every one carries a CSRF token (Flask-WTF)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Email, EqualTo, Length

from network.validators import password_strength

__all__ = [
    "RegistrationForm",
    "LoginForm",
    "ResetRequestForm",
    "ResetPasswordForm",
    "ChangePasswordForm",
    "ResendConfirmationForm",
]


class RegistrationForm(FlaskForm):
    name = StringField(
        _l("Name"),
        validators=[DataRequired(_l("Bitte geben Sie Ihren Namen an.")), Length(max=120)],
    )
    email = EmailField(
        _l("E-Mail-Adresse"),
        validators=[
            DataRequired(_l("Bitte geben Sie Ihre E-Mail-Adresse an.")),
            Email(_l("Bitte geben Sie eine gültige E-Mail-Adresse an.")),
            Length(max=254),
        ],
    )
    role = SelectField(
        _l("Ich bin …"),
        choices=[
            ("provider", _l("Anbieter: ich handle für eine Organisation")),
            ("trainee", _l("Auszubildende/r oder Fachkraft auf der Suche")),
        ],
        default="provider",
    )
    language = SelectField(
        _l("Sprache"), choices=[("de", "Deutsch"), ("en", "English")], default="de"
    )
    password = PasswordField(
        _l("Passwort"),
        validators=[DataRequired(_l("Bitte wählen Sie ein Passwort.")), password_strength()],
        description=_l(
            "Mindestens 10 Zeichen, drei Zeichenarten – oder eine Passphrase ab 16 Zeichen."
        ),
    )
    password_confirm = PasswordField(
        _l("Passwort wiederholen"),
        validators=[
            DataRequired(_l("Bitte wiederholen Sie das Passwort.")),
            EqualTo("password", _l("Die Passwörter stimmen nicht überein.")),
        ],
    )
    submit = SubmitField(_l("Konto anlegen"))


class LoginForm(FlaskForm):
    email = EmailField(
        _l("E-Mail-Adresse"),
        validators=[DataRequired(_l("Bitte geben Sie Ihre E-Mail-Adresse an."))],
    )
    password = PasswordField(
        _l("Passwort"), validators=[DataRequired(_l("Bitte geben Sie Ihr Passwort an."))]
    )
    remember = BooleanField(_l("Angemeldet bleiben"))
    submit = SubmitField(_l("Anmelden"))


class ResendConfirmationForm(FlaskForm):
    email = EmailField(
        _l("E-Mail-Adresse"),
        validators=[DataRequired(), Email(_l("Bitte geben Sie eine gültige E-Mail-Adresse an."))],
    )
    submit = SubmitField(_l("Bestätigungslink erneut senden"))


class ResetRequestForm(FlaskForm):
    email = EmailField(
        _l("E-Mail-Adresse"),
        validators=[
            DataRequired(_l("Bitte geben Sie Ihre E-Mail-Adresse an.")),
            Email(_l("Bitte geben Sie eine gültige E-Mail-Adresse an.")),
        ],
    )
    submit = SubmitField(_l("Link zum Zurücksetzen senden"))


class ResetPasswordForm(FlaskForm):
    email = EmailField(_l("E-Mail-Adresse"))  # filled from the token; used by the strength check
    password = PasswordField(
        _l("Neues Passwort"),
        validators=[DataRequired(_l("Bitte wählen Sie ein Passwort.")), password_strength()],
    )
    password_confirm = PasswordField(
        _l("Neues Passwort wiederholen"),
        validators=[
            DataRequired(_l("Bitte wiederholen Sie das Passwort.")),
            EqualTo("password", _l("Die Passwörter stimmen nicht überein.")),
        ],
    )
    submit = SubmitField(_l("Passwort speichern"))


class ChangePasswordForm(FlaskForm):
    email = EmailField(_l("E-Mail-Adresse"))
    current_password = PasswordField(
        _l("Aktuelles Passwort"),
        validators=[DataRequired(_l("Bitte geben Sie Ihr aktuelles Passwort an."))],
    )
    password = PasswordField(
        _l("Neues Passwort"),
        validators=[DataRequired(_l("Bitte wählen Sie ein Passwort.")), password_strength()],
    )
    password_confirm = PasswordField(
        _l("Neues Passwort wiederholen"),
        validators=[
            DataRequired(_l("Bitte wiederholen Sie das Passwort.")),
            EqualTo("password", _l("Die Passwörter stimmen nicht überein.")),
        ],
    )
    submit = SubmitField(_l("Passwort ändern"))
