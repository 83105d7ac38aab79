"""Forms of the positions area; every POST form carries a CSRF token (Flask-WTF).

Choices are filled when a form is built, in the language of the request.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    FloatField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)
from wtforms.widgets import CheckboxInput, ListWidget

from network.i18n import current_language
from network.positions import uploads
from network.positions.catalogue import LANGUAGES, professions
from network.positions.services import (
    PROVIDER_APPLICATION_STATUSES,
    RADIUS_CHOICES,
    municipalities,
    today_local,
)
from network.vocabulary import (
    APPLICATION_STATUSES,
    EMPLOYER_BENEFITS,
    POSITION_STATUSES,
    POSITION_TYPES,
)

__all__ = [
    "SearchForm",
    "ProfileForm",
    "PositionForm",
    "PositionStatusForm",
    "ApplicationForm",
    "AnswerForm",
    "InviteForm",
    "SaveSearchForm",
    "DeleteAccountForm",
    "ConfirmForm",
]

DATE_MESSAGE = _l("Bitte geben Sie ein gültiges Datum an (TT.MM.JJJJ).")


class LocalDateField(DateField):
    """An ``<input type="date">`` whose parse error is our own German sentence."""

    def __init__(self, label: Any = None, validators: Any = None, **kwargs: Any) -> None:
        kwargs.setdefault("format", "%Y-%m-%d")
        super().__init__(label, validators, **kwargs)

    def process_formdata(self, valuelist: list[str]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError as err:
            raise ValueError(str(DATE_MESSAGE)) from err


class MultiCheckboxField(SelectMultipleField):
    """Several checkboxes; unknown submitted codes are ignored rather than shown as an error."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def pre_validate(self, form: Any) -> None:
        allowed = {str(value) for value, *_rest in self.choices or ()}
        self.data = [v for v in self.data or [] if v in allowed]


def _vocabulary_choices(terms: dict) -> list[tuple[str, str]]:
    language = current_language()
    return [(code, term.label(language)) for code, term in terms.items()]


def _sort_key(text: str) -> str:
    # "Ärztin" belongs with the A's, not after "Z".
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().casefold()


def _profession_choices() -> list[tuple[str, str]]:
    language = current_language()
    return sorted(
        ((code, term.label(language)) for code, term in professions().items()),
        key=lambda choice: _sort_key(choice[1]),
    )


def _municipality_choices(empty_label: str) -> list[tuple[str, str]]:
    # "Münster (kreisfreie Stadt)" names itself; the others get their district.
    return [("", empty_label)] + [
        (m.ags, m.kreis if m.kreis.startswith(m.name) else f"{m.name} ({m.kreis})")
        for m in municipalities()
    ]


class SearchForm(FlaskForm):
    """The filters of the public search (GET, so no CSRF token)."""

    class Meta:
        csrf = False

    art = MultiCheckboxField(_l("Art des Angebots"))
    beruf = MultiCheckboxField(_l("Beruf"))
    ort = SelectField(_l("Ort"), validate_choice=False)
    umkreis = SelectField(_l("Umkreis"), validate_choice=False)
    beginn = LocalDateField(_l("Beginn frühestens am"), validators=[Optional()])
    angebot = MultiCheckboxField(_l("Arbeitgeber bietet"))
    s = HiddenField(default="1")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.art.choices = _vocabulary_choices(POSITION_TYPES)
        self.beruf.choices = _profession_choices()
        self.ort.choices = _municipality_choices(str(_l("– ganze Region –")))
        self.umkreis.choices = [("", str(_l("beliebig")))] + [
            (str(km), f"{km} km") for km in RADIUS_CHOICES
        ]
        self.angebot.choices = _vocabulary_choices(EMPLOYER_BENEFITS)

    def offer_radius(self, radius_km: float | None) -> None:
        """Make a radius from a profile selectable even if it is not one of the usual steps."""
        if radius_km:
            value = str(int(radius_km)) if float(radius_km).is_integer() else str(radius_km)
            if value not in {v for v, _label in self.umkreis.choices}:
                self.umkreis.choices.append((value, f"{value} km"))

    #: True when the search may measure from the trainee's own location (profile point).
    centre_from_profile = False

    def validate_umkreis(self, field: Any) -> None:
        if field.data and not self.ort.data and not self.centre_from_profile:
            raise ValidationError(
                _l("Bitte wählen Sie einen Ort, um den der Umkreis gezogen wird.")
            )


class ProfileForm(FlaskForm):
    professions = MultiCheckboxField(_l("Berufe, die mich interessieren"))
    position_types = MultiCheckboxField(_l("Art des Angebots"))
    home_ags = SelectField(_l("Wohnort"), validate_choice=False)
    latitude = FloatField(
        _l("Genauer Standort: Breitengrad (optional)"),
        validators=[
            Optional(),
            NumberRange(
                47.0, 55.1, _l("Bitte einen Breitengrad in Deutschland angeben (47 bis 55).")
            ),
        ],
    )
    longitude = FloatField(
        _l("Genauer Standort: Längengrad (optional)"),
        validators=[
            Optional(),
            NumberRange(
                5.8, 15.1, _l("Bitte einen Längengrad in Deutschland angeben (5,8 bis 15).")
            ),
        ],
    )
    max_distance_km = IntegerField(
        _l("Höchste Entfernung in km"),
        default=25,
        validators=[
            InputRequired(_l("Bitte geben Sie an, wie weit Sie fahren würden.")),
            NumberRange(1, 200, _l("Bitte eine Entfernung zwischen 1 und 200 km angeben.")),
        ],
    )
    earliest_start = LocalDateField(_l("Frühester Beginn"), validators=[Optional()])
    qualifications = TextAreaField(
        _l("Abschlüsse und Qualifikationen"),
        validators=[Length(max=2000, message=_l("Bitte höchstens 2000 Zeichen."))],
    )
    languages = MultiCheckboxField(_l("Sprachen"))
    driving_licence = BooleanField(_l("Ich habe einen Führerschein (Klasse B)"))
    wanted_benefits = MultiCheckboxField(_l("Das wünsche ich mir vom Arbeitgeber"))
    about = TextAreaField(
        _l("Kurz über mich"),
        validators=[Length(max=2000, message=_l("Bitte höchstens 2000 Zeichen."))],
    )
    visible_to_providers = BooleanField(
        _l("Anbieter in der Region dürfen mein Profil sehen und mich zur Bewerbung einladen."),
        description=_l(
            "Sichtbar werden Name, Wohnort, Wünsche, Qualifikationen und Ihr Text – nicht Ihre E-Mail-Adresse. "
            "Sie können diese Einwilligung jederzeit zurücknehmen."
        ),
    )
    submit = SubmitField(_l("Profil speichern"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.professions.choices = _profession_choices()
        self.position_types.choices = _vocabulary_choices(POSITION_TYPES)
        self.home_ags.choices = _municipality_choices(str(_l("– bitte wählen –")))
        self.languages.choices = _vocabulary_choices(LANGUAGES)
        self.wanted_benefits.choices = _vocabulary_choices(EMPLOYER_BENEFITS)

    def validate_home_ags(self, field: Any) -> None:
        known = {value for value, _label in self.home_ags.choices}
        if field.data and field.data not in known:
            raise ValidationError(_l("Bitte wählen Sie einen Ort aus der Liste."))
        if not field.data and (self.latitude.data is None or self.longitude.data is None):
            raise ValidationError(
                _l("Bitte wählen Sie Ihren Wohnort oder geben Sie Breiten- und Längengrad an.")
            )

    def validate_longitude(self, field: Any) -> None:
        if (field.data is None) != (self.latitude.data is None):
            raise ValidationError(_l("Bitte geben Sie Breiten- und Längengrad zusammen an."))


class PositionForm(FlaskForm):
    organisation_id = SelectField(_l("Organisation"), coerce=int, validate_choice=False)
    position_type = SelectField(
        _l("Art des Angebots"), validators=[DataRequired(_l("Bitte wählen Sie die Art."))]
    )
    profession = SelectField(
        _l("Beruf"), validators=[DataRequired(_l("Bitte wählen Sie den Beruf."))]
    )
    title = StringField(
        _l("Titel"),
        validators=[
            DataRequired(_l("Bitte geben Sie einen Titel an.")),
            Length(max=200, message=_l("Bitte höchstens 200 Zeichen.")),
        ],
    )
    description = TextAreaField(
        _l("Beschreibung"),
        validators=[Length(max=10000, message=_l("Bitte höchstens 10000 Zeichen."))],
    )
    seats = IntegerField(
        _l("Anzahl der Plätze"),
        default=1,
        validators=[
            InputRequired(_l("Bitte geben Sie die Zahl der Plätze an.")),
            NumberRange(1, 500, _l("Bitte zwischen 1 und 500 Plätze angeben.")),
        ],
    )
    start_date = LocalDateField(_l("Beginn"), validators=[Optional()])
    end_date = LocalDateField(_l("Ende (bei befristeten Einsätzen)"), validators=[Optional()])
    hours_per_week = FloatField(
        _l("Stunden pro Woche"),
        validators=[Optional(), NumberRange(1, 60, _l("Bitte zwischen 1 und 60 Stunden angeben."))],
    )
    driving_licence = BooleanField(_l("Führerschein erforderlich"))
    languages = MultiCheckboxField(_l("Erforderliche Sprachkenntnisse"))
    requirements_text = TextAreaField(
        _l("Weitere Voraussetzungen"),
        validators=[Length(max=4000, message=_l("Bitte höchstens 4000 Zeichen."))],
    )
    benefits = MultiCheckboxField(_l("Das bieten wir"))
    deadline = LocalDateField(_l("Bewerbungsfrist"), validators=[Optional()])
    status = SelectField(_l("Status"), default="open")
    submit = SubmitField(_l("Speichern"))

    def __init__(self, *args: Any, organisations: list | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.organisation_id.choices = [(o.id, o.name) for o in organisations or ()]
        self.position_type.choices = [("", str(_l("– bitte wählen –")))] + _vocabulary_choices(
            POSITION_TYPES
        )
        self.profession.choices = [("", str(_l("– bitte wählen –")))] + _profession_choices()
        self.languages.choices = _vocabulary_choices(LANGUAGES)
        self.benefits.choices = _vocabulary_choices(EMPLOYER_BENEFITS)
        self.status.choices = _vocabulary_choices(POSITION_STATUSES)

    def validate_organisation_id(self, field: Any) -> None:
        if self.organisation_id.choices and field.data not in {
            value for value, _label in self.organisation_id.choices
        }:
            raise ValidationError(_l("Bitte wählen Sie eine Ihrer Organisationen."))

    def validate_end_date(self, field: Any) -> None:
        if field.data and self.start_date.data and field.data < self.start_date.data:
            raise ValidationError(_l("Das Ende liegt vor dem Beginn."))

    def validate_deadline(self, field: Any) -> None:
        if field.data and field.data < today_local() and self.status.data == "open":
            raise ValidationError(
                _l(
                    "Die Bewerbungsfrist liegt in der Vergangenheit. Bitte ein heutiges oder späteres Datum angeben."
                )
            )


class PositionStatusForm(FlaskForm):
    status = SelectField(_l("Status"))
    submit = SubmitField(_l("Status ändern"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.status.choices = _vocabulary_choices(POSITION_STATUSES)


class ApplicationForm(FlaskForm):
    message = TextAreaField(
        _l("Ihre Nachricht an die Einrichtung"),
        validators=[
            DataRequired(_l("Bitte schreiben Sie ein paar Sätze zu Ihrer Bewerbung.")),
            Length(max=5000, message=_l("Bitte höchstens 5000 Zeichen.")),
        ],
    )
    attachment = FileField(
        _l("Anhang (optional)"),
        description=_l("Lebenslauf oder Zeugnisse als PDF, DOCX oder ODT, höchstens 5 MB."),
    )
    submit = SubmitField(_l("Bewerbung absenden"))

    #: The checked file, set by :meth:`validate_attachment`.
    checked_attachment: uploads.CheckedAttachment | None = None

    def validate_attachment(self, field: Any) -> None:
        upload = field.data
        if upload is None or not getattr(upload, "filename", ""):
            self.checked_attachment = None
            return
        try:
            self.checked_attachment = uploads.check_attachment(upload.filename, upload.stream)
        except uploads.AttachmentError as err:
            raise ValidationError(
                str(err)
                + " "
                + str(_l("Ihre Nachricht ist erhalten geblieben; bitte wählen Sie die Datei neu."))
            ) from err


class AnswerForm(FlaskForm):
    status = SelectField(_l("Status der Bewerbung"))
    note = TextAreaField(
        _l("Nachricht an die Bewerberin oder den Bewerber"),
        validators=[Length(max=5000, message=_l("Bitte höchstens 5000 Zeichen."))],
    )
    submit = SubmitField(_l("Antwort senden"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        language = current_language()
        self.status.choices = [
            (code, APPLICATION_STATUSES[code].label(language))
            for code in PROVIDER_APPLICATION_STATUSES
        ]


class InviteForm(FlaskForm):
    message = TextAreaField(
        _l("Persönliche Nachricht (optional)"),
        validators=[Length(max=2000, message=_l("Bitte höchstens 2000 Zeichen."))],
    )
    submit = SubmitField(_l("Zur Bewerbung einladen"))


class SaveSearchForm(FlaskForm):
    name = StringField(
        _l("Name der Suche"),
        validators=[
            DataRequired(_l("Bitte geben Sie der Suche einen Namen.")),
            Length(max=120, message=_l("Bitte höchstens 120 Zeichen.")),
        ],
    )
    submit = SubmitField(_l("Suche speichern"))


class DeleteAccountForm(FlaskForm):
    password = PasswordField(
        _l("Ihr Passwort zur Bestätigung"),
        validators=[DataRequired(_l("Bitte geben Sie Ihr Passwort an."))],
    )
    confirm = BooleanField(
        _l("Ich möchte mein Konto und alle meine Daten endgültig löschen."),
        validators=[DataRequired(_l("Bitte bestätigen Sie die Löschung."))],
    )
    submit = SubmitField(_l("Konto und Daten löschen"))


class ConfirmForm(FlaskForm):
    """A button that only needs the CSRF token (withdraw, delete)."""

    submit = SubmitField(_l("Bestätigen"))
