"""Forms of the rounds area; every POST form carries a CSRF token (Flask-WTF)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from network.vocabulary import PLACEMENT_TAGS, TAGS

__all__ = [
    "RoundForm",
    "PlacementForm",
    "ConfirmForm",
    "RunForm",
    "RankingForm",
    "TraineeSelectionForm",
    "TraineeFilterForm",
    "OrganisationSearchForm",
]


class RoundForm(FlaskForm):
    name = StringField(
        _l("Name der Runde"),
        validators=[
            DataRequired(_l("Bitte geben Sie der Runde einen Namen.")),
            Length(max=200, message=_l("Höchstens 200 Zeichen.")),
        ],
        description=_l("Zum Beispiel „Pflichteinsätze Pädiatrie Herbst 2026“."),
    )
    description = TextAreaField(
        _l("Beschreibung"),
        validators=[Optional(), Length(max=5000, message=_l("Höchstens 5000 Zeichen."))],
        description=_l("Zeitraum, Ablauf, Ansprechperson – das sehen alle Teilnehmenden."),
    )
    ranking_deadline = DateField(
        _l("Frist für die Rangfolgen der Auszubildenden"),
        validators=[Optional()],
        description=_l("Bis einschließlich diesem Tag können Auszubildende ihre Rangfolge ändern."),
    )
    submit = SubmitField(_l("Speichern"))


class PlacementForm(FlaskForm):
    organisation_id = SelectField(
        _l("Organisation"),
        coerce=int,
        validators=[
            DataRequired(_l("Bitte wählen Sie eine Organisation.")),
        ],
    )
    position_id = SelectField(
        _l("Verknüpfte Stelle (optional)"),
        coerce=int,
        default=0,
        description=_l(
            "Eine veröffentlichte Praxiseinsatz- oder Ausbildungsstelle dieser Organisation."
        ),
    )
    name = StringField(
        _l("Bezeichnung (optional)"),
        validators=[Optional(), Length(max=200, message=_l("Höchstens 200 Zeichen."))],
        description=_l("Leer: Einsatzart und Organisation bzw. der Titel der Stelle."),
    )
    placement_tag = SelectField(
        _l("Einsatzart (optional)"),
        choices=[("", _l("– keine Angabe –"))] + [(code, TAGS[code].de) for code in PLACEMENT_TAGS],
        validators=[Optional()],
    )
    seats = IntegerField(
        _l("Plätze"),
        default=1,
        validators=[
            InputRequired(_l("Bitte geben Sie die Zahl der Plätze an.")),
            NumberRange(min=1, max=1000, message=_l("Bitte eine Zahl zwischen 1 und 1000.")),
        ],
    )
    submit = SubmitField(_l("Einsatzort hinzufügen"))

    def __init__(self, *args, language: str = "de", **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.placement_tag.choices = [("", self.placement_tag.choices[0][1])] + [
            (code, TAGS[code].label(language)) for code in PLACEMENT_TAGS
        ]


class ConfirmForm(FlaskForm):
    """A button that changes state (open, publish, delete, remove): CSRF only."""

    submit = SubmitField(_l("Bestätigen"))


class RunForm(FlaskForm):
    fill_missing = BooleanField(
        _l("Für Einsatzorte ohne Rangfolge der Einrichtung den Vorschlag nach Passung verwenden"),
        default=True,
    )
    submit = SubmitField(_l("Zuteilung berechnen"))


class RankingForm(FlaskForm):
    """The ranking editors: the order comes as repeated ``order`` fields, the button as ``action``."""


class TraineeSelectionForm(FlaskForm):
    """The checkbox list of trainees: ``shown`` and ``selected`` are read as lists."""


class TraineeFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET filter changes nothing

    q = StringField(_l("Name oder E-Mail"), validators=[Optional(), Length(max=100)])
    profession = SelectField(_l("Beruf laut Suchprofil"), validators=[Optional()])
    only_selected = BooleanField(_l("Nur ausgewählte zeigen"))


class OrganisationSearchForm(FlaskForm):
    class Meta:
        csrf = False

    org_q = StringField(
        _l("Organisation suchen (Name oder Gemeinde)"), validators=[Optional(), Length(max=100)]
    )
