"""Digest forms; every one carries a CSRF token (Flask-WTF)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from network import vocabulary
from network.i18n import current_language

__all__ = ["DigestSettingsForm", "AnnouncementForm", "ActionForm", "WEEKDAY_LABELS"]

WEEKDAY_LABELS = (
    _l("Montag"),
    _l("Dienstag"),
    _l("Mittwoch"),
    _l("Donnerstag"),
    _l("Freitag"),
    _l("Samstag"),
    _l("Sonntag"),
)


class DigestSettingsForm(FlaskForm):
    frequency = SelectField(
        _l("Wie oft möchten Sie die Zusammenfassung erhalten?"),
        validators=[
            DataRequired(_l("Bitte wählen Sie, wie oft Sie die Zusammenfassung erhalten möchten."))
        ],
    )
    weekday = SelectField(
        _l("Wochentag (bei wöchentlicher Zusammenfassung)"),
        coerce=int,
        choices=[(number, label) for number, label in enumerate(WEEKDAY_LABELS)],
        description=_l("Die Zusammenfassung kommt morgens an diesem Tag."),
    )
    language = SelectField(
        _l("Sprache der Zusammenfassung"), choices=[("de", "Deutsch"), ("en", "English")]
    )
    submit = SubmitField(_l("Speichern"))

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        language = current_language()
        self.frequency.choices = [
            (code, term.label(language)) for code, term in vocabulary.DIGEST_FREQUENCIES.items()
        ]


class AnnouncementForm(FlaskForm):
    title = StringField(
        _l("Titel"),
        validators=[
            DataRequired(_l("Bitte geben Sie einen Titel an.")),
            Length(max=200, message=_l("Höchstens 200 Zeichen.")),
        ],
    )
    body = TextAreaField(
        _l("Text"), validators=[Optional(), Length(max=5000, message=_l("Höchstens 5000 Zeichen."))]
    )
    event_date = DateField(
        _l("Datum der Veranstaltung"),
        validators=[Optional()],
        description=_l("Leer lassen, wenn es keine Veranstaltung ist."),
    )
    location = StringField(
        _l("Ort"), validators=[Optional(), Length(max=200, message=_l("Höchstens 200 Zeichen."))]
    )
    submit = SubmitField(_l("Veröffentlichen"))

    def validate_event_date(self, field) -> None:  # type: ignore[no-untyped-def]
        # DateField's own message is English; say it in German.
        if field.raw_data and field.raw_data[0] and field.data is None:
            field.errors[:] = []
            raise ValueError(_l("Bitte geben Sie ein gültiges Datum an."))


class ActionForm(FlaskForm):
    """A button that only needs the CSRF token (retry a message, start a run)."""

    submit = SubmitField(_l("Ausführen"))
