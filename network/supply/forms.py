"""Forms of the supply area; every one carries a CSRF token (Flask-WTF)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import SelectField, SelectMultipleField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from network.supply.services import EFFORTS
from network.vocabulary import RECOMMENDATION_TOPICS

__all__ = [
    "PlanningUploadForm",
    "RecommendationForm",
    "DeleteForm",
    "LibraryFilterForm",
    "MAX_PLANNING_BYTES",
]

#: A planning CSV of every planning area of a KV region stays far below this.
MAX_PLANNING_BYTES = 2 * 1024 * 1024


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _topic_choices() -> list[tuple[str, str]]:
    from flask_babel import get_locale

    language = get_locale().language if get_locale() else "de"
    return [(code, term.label(language)) for code, term in RECOMMENDATION_TOPICS.items()]


class PlanningUploadForm(FlaskForm):
    file = FileField(
        _l("CSV-Datei mit Planungszahlen"),
        validators=[FileRequired(_l("Bitte wählen Sie eine CSV-Datei aus."))],
        description=_l("UTF-8, Trennzeichen Komma oder Semikolon, höchstens 2 MB."),
    )
    submit = SubmitField(_l("Hochladen und prüfen"))

    def validate_file(self, field) -> None:  # type: ignore[no-untyped-def]
        name = (field.data.filename or "").lower() if field.data else ""
        if name and not name.endswith((".csv", ".txt")):
            raise ValidationError(_l("Bitte laden Sie eine CSV-Datei hoch (Endung .csv)."))


class RecommendationForm(FlaskForm):
    title = StringField(
        _l("Titel"),
        validators=[DataRequired(_l("Bitte geben Sie einen Titel an.")), Length(max=200)],
    )
    summary = TextAreaField(
        _l("Kurzfassung"),
        validators=[
            DataRequired(_l("Bitte fassen Sie die Empfehlung in ein, zwei Sätzen zusammen.")),
            Length(max=1000),
        ],
    )
    body = TextAreaField(_l("Beschreibung und Schritte"), validators=[Length(max=20000)])
    topics = MultiCheckboxField(
        _l("Themen"),
        choices=[],
        validators=[DataRequired(_l("Bitte wählen Sie mindestens ein Thema."))],
        description=_l(
            "Die Themen bestimmen, welchen Gemeinden die Empfehlung vorgeschlagen wird."
        ),
    )
    effort = SelectField(
        _l("Aufwand"), choices=[(k, v) for k, v in EFFORTS.items()], default="medium"
    )
    actors = StringField(
        _l("Wer handelt?"),
        validators=[Length(max=300)],
        description=_l("Zum Beispiel: Kommune, Wirtschaftsförderung, Kliniken, Pflegeschulen"),
    )
    examples = TextAreaField(
        _l("Beispiele aus den Modellkommunen"),
        validators=[Length(max=5000)],
        description=_l("Beispielansätze; bitte nur Tatsachen, die belegt sind."),
    )
    submit = SubmitField(_l("Speichern"))

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.topics.choices = _topic_choices()


class DeleteForm(FlaskForm):
    submit = SubmitField(_l("Löschen"))


class LibraryFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET filter changes nothing

    topic = SelectField(_l("Thema"), choices=[], default="")
    effort = SelectField(_l("Aufwand"), choices=[], default="")
    submit = SubmitField(_l("Filtern"))

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.topic.choices = [("", _l("alle Themen")), *_topic_choices()]
        self.effort.choices = [("", _l("jeder Aufwand")), *EFFORTS.items()]
