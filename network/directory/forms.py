"""Directory forms; every one carries a CSRF token (Flask-WTF), messages in German."""

from __future__ import annotations

import json
import re
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
    ValidationError,
)
from wtforms.validators import DataRequired, Email, Length, Optional, Regexp
from wtforms.widgets import CheckboxInput, ListWidget

from network.directory.csv_io import normalise_free_tags, normalise_website, within_region
from network.directory.editing import FIELDS, ProfileData, normalise_snapshot
from network.i18n import current_language
from network.validators import valid_ags
from network.vocabulary import ORGANISATION_KINDS, TAGS, label

__all__ = ["OrganisationForm", "ActionForm", "ImportForm", "MultiCheckboxField"]


class MultiCheckboxField(SelectMultipleField):
    """A group of checkboxes (rendered by the ``checkboxes`` macro)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def pre_validate(self, form: Any) -> None:
        known = {value for value, _label in self.choices}
        unknown = [v for v in (self.data or []) if v not in known]
        if unknown:
            raise ValidationError(_l("Unbekannte Auswahl: %(values)s", values=", ".join(unknown)))


def _coordinate(text: str | None) -> float | None:
    value = (text or "").strip().replace(",", ".")
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        raise ValidationError(
            _l("Bitte eine Zahl in Dezimalgrad angeben, z. B. 52,1834.")
        ) from None


class OrganisationForm(FlaskForm):
    kind = SelectField(
        _l("Art der Organisation"),
        validators=[DataRequired(_l("Bitte wählen Sie die Art der Organisation."))],
        validate_choice=False,
    )
    name = StringField(
        _l("Name"),
        validators=[
            DataRequired(_l("Bitte geben Sie den Namen an.")),
            Length(max=200, message=_l("Höchstens 200 Zeichen.")),
        ],
    )
    street = StringField(
        _l("Straße und Hausnummer"),
        validators=[Length(max=200, message=_l("Höchstens 200 Zeichen."))],
    )
    postcode = StringField(
        _l("Postleitzahl"),
        validators=[
            Optional(),
            Regexp(r"^\d{5}$", message=_l("Die Postleitzahl besteht aus 5 Ziffern.")),
        ],
    )
    ags = SelectField(
        _l("Gemeinde"),
        validators=[DataRequired(_l("Bitte wählen Sie die Gemeinde.")), valid_ags],
        validate_choice=False,
        description=_l(
            "Ohne genauen Standort zeigt die Karte die Organisation in der Gemeindemitte."
        ),
    )
    latitude = StringField(
        _l("Breite (genauer Standort, optional)"),
        description=_l("Dezimalgrad, z. B. 52,1834 – nur zusammen mit der Länge."),
    )
    longitude = StringField(
        _l("Länge (genauer Standort, optional)"), description=_l("Dezimalgrad, z. B. 7,8653.")
    )
    contact_name = StringField(
        _l("Ansprechperson"), validators=[Length(max=120, message=_l("Höchstens 120 Zeichen."))]
    )
    contact_email = EmailField(
        _l("E-Mail für Kontakt"),
        validators=[
            Optional(),
            Email(_l("Bitte geben Sie eine gültige E-Mail-Adresse an.")),
            Length(max=254, message=_l("Höchstens 254 Zeichen.")),
        ],
    )
    phone = StringField(
        _l("Telefon"),
        validators=[
            Optional(),
            Length(max=40, message=_l("Höchstens 40 Zeichen.")),
            Regexp(
                r"^[0-9+()/ .\-]+$",
                message=_l("Bitte nur Ziffern, Leerzeichen und + ( ) / - verwenden."),
            ),
        ],
    )
    website = StringField(
        _l("Website"), validators=[Length(max=300, message=_l("Höchstens 300 Zeichen."))]
    )
    description = TextAreaField(
        _l("Beschreibung"), validators=[Length(max=10000, message=_l("Höchstens 10.000 Zeichen."))]
    )
    services = TextAreaField(
        _l("Leistungen und Schwerpunkte"),
        validators=[Length(max=10000, message=_l("Höchstens 10.000 Zeichen."))],
    )
    staff_count = StringField(
        _l("Beschäftigte (ungefähr)"),
        validators=[Optional(), Regexp(r"^\d{1,7}$", message=_l("Bitte eine ganze Zahl angeben."))],
    )
    offers = MultiCheckboxField(
        _l("Wir bieten"), description=_l("Was Sie anderen im Netzwerk anbieten können.")
    )
    needs = MultiCheckboxField(_l("Wir suchen"), description=_l("Wofür Sie Partner suchen."))
    free_tags = StringField(
        _l("Weitere Schlagwörter"),
        validators=[Length(max=500, message=_l("Höchstens 500 Zeichen."))],
        description=_l("Durch Komma getrennt, z. B. Wundversorgung, Demenz."),
    )
    visibility = RadioField(
        _l("Sichtbarkeit"),
        choices=[
            ("public", _l("Öffentlich: für alle sichtbar, auch in der API")),
            ("members", _l("Nur für angemeldete Nutzerinnen und Nutzer")),
        ],
        default="public",
        validators=[DataRequired(_l("Bitte wählen Sie die Sichtbarkeit."))],
    )
    confirm_duplicate = BooleanField(_l("Es ist eine andere Organisation – trotzdem anlegen"))
    version = HiddenField()
    base = HiddenField()
    submit = SubmitField(_l("Speichern"))

    def __init__(
        self, *args: Any, municipalities: list[tuple[str, str]] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        language = current_language()
        self.kind.choices = [("", _l("– bitte wählen –"))] + [
            (code, label(ORGANISATION_KINDS, code, language)) for code in ORGANISATION_KINDS
        ]
        self.ags.choices = [("", _l("– bitte wählen –"))] + list(municipalities or [])
        tags = sorted(
            ((code, label(TAGS, code, language)) for code in TAGS), key=lambda item: item[1]
        )
        self.offers.choices = tags
        self.needs.choices = list(tags)

    # --- validation beyond single fields

    def validate_kind(self, field: Any) -> None:
        if field.data and field.data not in ORGANISATION_KINDS:
            raise ValidationError(_l("Bitte wählen Sie eine Art aus der Liste."))

    def validate_website(self, field: Any) -> None:
        if field.data and normalise_website(field.data) is None:
            raise ValidationError(
                _l("Bitte eine Web-Adresse angeben, z. B. https://www.beispiel.de.")
            )

    def validate_latitude(self, field: Any) -> None:
        _coordinate(field.data)

    def validate_longitude(self, field: Any) -> None:
        lon = _coordinate(field.data)
        try:
            lat = _coordinate(self.latitude.data)
        except ValidationError:
            return
        if (lat is None) != (lon is None):
            raise ValidationError(
                _l("Bitte Breite und Länge zusammen angeben – oder beide leer lassen.")
            )
        if lat is not None and lon is not None and not within_region(lat, lon):
            raise ValidationError(
                _l(
                    "Dieser Punkt liegt nicht im Münsterland (etwa 51,6–52,5 °N und 6,4–8,3 °O). Breite und Länge vertauscht?"
                )
            )

    # --- plain data in and out

    def to_data(self) -> ProfileData:
        """The submitted values as :class:`ProfileData` (call after validation)."""
        lat, lon = _coordinate(self.latitude.data), _coordinate(self.longitude.data)
        return ProfileData(
            kind=self.kind.data,
            name=" ".join((self.name.data or "").split()),
            ags=self.ags.data,
            street=(self.street.data or "").strip(),
            postcode=(self.postcode.data or "").strip(),
            latitude=None if lat is None else round(lat, 7),
            longitude=None if lon is None else round(lon, 7),
            contact_name=(self.contact_name.data or "").strip(),
            contact_email=(self.contact_email.data or "").strip().lower(),
            phone=(self.phone.data or "").strip(),
            website=normalise_website(self.website.data or "") or "",
            description=(self.description.data or "").strip(),
            services=(self.services.data or "").strip(),
            staff_count=int(self.staff_count.data)
            if (self.staff_count.data or "").strip()
            else None,
            offers=frozenset(self.offers.data or ()),
            needs=frozenset(self.needs.data or ()),
            free_tags=normalise_free_tags(self.free_tags.data or ""),
            visibility=self.visibility.data or "public",
        )

    def fill(self, values: dict[str, Any]) -> None:
        """Put plain values (a snapshot) into the fields."""
        clean = normalise_snapshot(values)
        for name in FIELDS:
            value = clean[name]
            if name in ("latitude", "longitude"):
                value = (
                    ""
                    if value is None
                    else f"{value:.7f}".rstrip("0").rstrip(".").replace(".", ",")
                )
            elif name == "staff_count":
                value = "" if value is None else str(value)
            getattr(self, name).data = value

    def base_snapshot(self) -> dict[str, Any] | None:
        """The values the form was loaded with (from the hidden field), if readable."""
        try:
            values = json.loads(self.base.data or "")
        except ValueError:
            return None
        return normalise_snapshot(values) if isinstance(values, dict) else None

    def base_version(self) -> int:
        text = (self.version.data or "").strip()
        return int(text) if re.fullmatch(r"\d{1,9}", text) else -1


class ActionForm(FlaskForm):
    """A button that posts (join, approve, decline): only the CSRF token."""

    submit = SubmitField(_l("Absenden"))


class ImportForm(FlaskForm):
    file = FileField(
        _l("CSV-Datei"),
        validators=[FileRequired(_l("Bitte wählen Sie eine CSV-Datei aus."))],
        description=_l(
            "UTF-8 (auch mit BOM), Trennzeichen Semikolon oder Komma, erste Zeile mit den Spaltennamen."
        ),
    )
    submit = SubmitField(_l("Importieren"))

    def validate_file(self, field: Any) -> None:
        name = (getattr(field.data, "filename", "") or "").lower()
        if name and not name.endswith((".csv", ".txt")):
            raise ValidationError(_l("Bitte eine Datei mit der Endung .csv hochladen."))
