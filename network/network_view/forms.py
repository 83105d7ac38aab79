"""Forms of the network view: record a collaboration, and one-button actions (CSRF only)."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    HiddenField,
    RadioField,
    SelectField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from network.i18n import current_language
from network.network_view.services import NOTE_MAX_LENGTH
from network.vocabulary import COLLABORATION_KINDS

__all__ = ["CollaborationForm", "ActionForm"]


def _optional_int(value: Any) -> int | None:
    """Radio values are ids; anything else is "nothing chosen" (a German message follows)."""
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class _LocalDateField(DateField):
    """An ``<input type="date">`` whose parse error is a German sentence."""

    def process_formdata(self, valuelist: list[str]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError as err:
            raise ValueError(str(_l("Bitte geben Sie ein gültiges Datum an."))) from err


class CollaborationForm(FlaskForm):
    """Record a collaboration with another organisation (chosen from a name search)."""

    partner_q = HiddenField()
    partner_id = RadioField(
        _l("Partnerorganisation"),
        coerce=_optional_int,
        validate_choice=False,
        validators=[
            DataRequired(_l("Bitte wählen Sie die Partnerorganisation aus der Suche aus."))
        ],
    )
    kind = SelectField(
        _l("Art der Kooperation"),
        validators=[DataRequired(_l("Bitte wählen Sie eine Art der Kooperation."))],
    )
    since = _LocalDateField(
        _l("Seit"),
        validators=[Optional()],
        description=_l("Wann die Zusammenarbeit begonnen hat (freiwillig)."),
    )
    note = TextAreaField(
        _l("Notiz"),
        validators=[
            Optional(),
            Length(
                max=NOTE_MAX_LENGTH,
                message=_l("Die Notiz darf höchstens %(max)d Zeichen lang sein."),
            ),
        ],
        description=_l("Worum geht es? Beide Organisationen sehen die Notiz."),
    )
    submit = SubmitField(_l("Kooperation eintragen"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        language = current_language()
        self.kind.choices = [("", _l("– bitte wählen –"))] + [
            (code, term.label(language)) for code, term in COLLABORATION_KINDS.items()
        ]
        self.partner_id.choices = []

    def set_partners(self, partners: list[Any]) -> None:
        """Offer ``partners`` (organisations found by the name search) as the radio choices."""
        self.partner_id.choices = [
            (org.id, f"{org.name} ({org.municipality.name})" if org.municipality else org.name)
            for org in partners
        ]


class ActionForm(FlaskForm):
    """A button that only needs the CSRF token (confirm, decline, end)."""

    submit = SubmitField(_l("Ausführen"))
