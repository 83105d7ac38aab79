"""Forms of the toolbox; every one carries a CSRF token (Flask-WTF)."""

from __future__ import annotations

import re

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, ValidationError

from network.extensions import db
from network.models import CampaignPage
from network.toolbox.services import CATEGORIES, scope_choices

__all__ = ["UploadForm", "CampaignForm", "DeleteForm", "LICENCE_SUGGESTIONS", "slugify"]

LICENCE_SUGGESTIONS = (
    "CC BY 4.0",
    "CC BY-SA 4.0",
    "CC0 1.0",
    "Frei für Mitglieder des Netzwerks Gesundheitsregion Münsterland",
    "Alle Rechte vorbehalten – Nutzung nur nach Rücksprache",
)

SLUG_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def slugify(text: str) -> str:
    """``"Pflege in Rheine!"`` → ``"pflege-in-rheine"``."""
    translit = str.maketrans(
        {"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "Ä": "ae", "Ö": "oe", "Ü": "ue"}
    )
    return re.sub(r"[^a-z0-9]+", "-", text.translate(translit).lower()).strip("-")[:80]


class UploadForm(FlaskForm):
    title = StringField(
        _l("Titel"),
        validators=[DataRequired(_l("Bitte geben Sie einen Titel an.")), Length(max=200)],
    )
    description = TextAreaField(
        _l("Beschreibung"),
        validators=[Length(max=5000)],
        description=_l("Wofür ist das Material gedacht, für wen, in welchem Format?"),
    )
    category = SelectField(_l("Art"), choices=list(CATEGORIES.items()), default="template")
    licence = StringField(
        _l("Lizenz"),
        validators=[DataRequired(_l("Bitte geben Sie die Lizenz an.")), Length(max=200)],
        description=_l("Zum Beispiel CC BY 4.0 – wer darf das Material wie nutzen?"),
    )
    usage_notes = TextAreaField(
        _l("Hinweise zur Nutzung"),
        validators=[Length(max=5000)],
        description=_l("Namensnennung, Logos, Bildrechte, was angepasst werden darf."),
    )
    file = FileField(
        _l("Datei"),
        validators=[FileRequired(_l("Bitte wählen Sie eine Datei aus."))],
        description=_l("PDF, PNG, JPEG, SVG, DOCX, ODT oder TXT, höchstens 10 MB."),
    )
    submit = SubmitField(_l("Hochladen"))


class CampaignForm(FlaskForm):
    title = StringField(
        _l("Titel"),
        validators=[DataRequired(_l("Bitte geben Sie einen Titel an.")), Length(max=200)],
    )
    slug = StringField(
        _l("Adresse (Kurzname)"),
        validators=[Length(max=80)],
        description=_l(
            "Kleinbuchstaben, Ziffern und Bindestriche; leer lassen, um ihn aus dem Titel zu bilden."
        ),
    )
    intro = TextAreaField(
        _l("Einleitung"),
        validators=[DataRequired(_l("Bitte schreiben Sie eine Einleitung.")), Length(max=10000)],
        description=_l(
            "Was macht die Region für Auszubildende und Fachkräfte attraktiv? Absätze mit einer Leerzeile trennen."
        ),
    )
    scope = SelectField(
        _l("Gebiet"), choices=[], validators=[DataRequired(_l("Bitte wählen Sie ein Gebiet."))]
    )
    published = BooleanField(_l("Veröffentlicht (öffentlich sichtbar)"))
    submit = SubmitField(_l("Speichern"))

    def __init__(self, *args, page_id: int | None = None, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self._page_id = page_id
        self.scope.choices = scope_choices()

    def validate_slug(self, field) -> None:  # type: ignore[no-untyped-def]
        value = (field.data or "").strip() or slugify(self.title.data or "")
        field.data = value
        if not value:
            raise ValidationError(_l("Bitte geben Sie einen Kurznamen an."))
        if not SLUG_PATTERN.match(value):
            raise ValidationError(
                _l(
                    "Nur Kleinbuchstaben, Ziffern und einzelne Bindestriche, z. B. pflege-in-rheine."
                )
            )
        clash = db.session.scalar(sa.select(CampaignPage.id).where(CampaignPage.slug == value))
        if clash is not None and clash != self._page_id:
            raise ValidationError(_l("Diese Adresse ist schon vergeben."))


class DeleteForm(FlaskForm):
    submit = SubmitField(_l("Löschen"))
