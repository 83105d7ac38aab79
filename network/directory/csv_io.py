"""CSV files of organisations: read and validate an import, write an export and an error report.

No database access here: the caller passes what it knows (the valid AGS codes), and gets plain
rows back, each with its line number in the file and, if rejected, the reasons in German.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from network.vocabulary import ORGANISATION_KINDS, TAGS

__all__ = [
    "COLUMNS",
    "REQUIRED_COLUMNS",
    "COLUMN_HELP",
    "CsvFileError",
    "ParsedRow",
    "ParsedFile",
    "parse_csv",
    "validate_row",
    "export_header",
    "export_row",
    "write_csv",
    "report_csv",
    "MUENSTERLAND_BOUNDS",
    "within_region",
]

#: Columns in export order. ``external_id`` (or ``id`` from an export) identifies a row.
COLUMNS: tuple[str, ...] = (
    "external_id",
    "id",
    "kind",
    "name",
    "street",
    "postcode",
    "ags",
    "latitude",
    "longitude",
    "contact_name",
    "contact_email",
    "phone",
    "website",
    "description",
    "services",
    "staff_count",
    "offers",
    "needs",
    "free_tags",
    "visibility",
    "synthetic",
    "source",
)
REQUIRED_COLUMNS = ("name", "kind", "ags")

#: (column, German explanation) for the import page.
COLUMN_HELP: tuple[tuple[str, Any], ...] = (
    (
        "external_id",
        _l(
            "Ihre eindeutige Kennung der Organisation (bis 80 Zeichen). Schlüssel für das Aktualisieren: gleiche Kennung = gleiche Organisation."
        ),
    ),
    (
        "id",
        _l(
            "Die interne Nummer aus einem Export dieser Plattform; nur nötig, wenn external_id leer ist."
        ),
    ),
    ("kind", _l("Art als Code, z. B. gp_practice, hospital, ambulatory_care (Liste unten).")),
    ("name", _l("Name der Organisation (Pflicht, bis 200 Zeichen).")),
    ("street", _l("Straße und Hausnummer.")),
    ("postcode", _l("Postleitzahl, 5 Ziffern.")),
    ("ags", _l("Amtlicher Gemeindeschlüssel, 8 Ziffern, z. B. 05566040 für Lengerich (Pflicht).")),
    (
        "latitude",
        _l("Breite des genauen Standorts (Dezimalgrad, Punkt oder Komma); leer = Gemeindemitte."),
    ),
    ("longitude", _l("Länge des genauen Standorts; nur zusammen mit latitude.")),
    ("contact_name", _l("Ansprechperson.")),
    ("contact_email", _l("E-Mail-Adresse für Kontakt.")),
    ("phone", _l("Telefon.")),
    ("website", _l("Website, mit oder ohne https://.")),
    ("description", _l("Beschreibung.")),
    ("services", _l("Leistungen und Schwerpunkte.")),
    ("staff_count", _l("Zahl der Beschäftigten (ganze Zahl).")),
    ("offers", _l("Angebote als Codes, getrennt durch | (z. B. placement:ambulatory|shuttle).")),
    ("needs", _l("Bedarfe als Codes, getrennt durch |.")),
    ("free_tags", _l("Weitere Schlagwörter, durch Komma getrennt.")),
    (
        "visibility",
        _l("public (öffentlich) oder members (nur für angemeldete Nutzer); leer = public."),
    ),
    ("synthetic", _l("1, wenn es sich um erfundene Demodaten handelt; sonst leer oder 0.")),
    ("source", _l("Quelle der Angaben (bei realen Daten).")),
)

#: The Münsterland's municipal boundaries (51.66–52.47 °N, 6.39–8.32 °E) plus a margin for
#: sites just across a border.
MUENSTERLAND_BOUNDS = (51.55, 52.60, 6.20, 8.50)

_LIMITS = {
    "external_id": 80,
    "name": 200,
    "street": 200,
    "contact_name": 120,
    "contact_email": 254,
    "phone": 40,
    "website": 300,
    "free_tags": 500,
    "description": 10000,
    "services": 10000,
    "source": 2000,
}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_TRUE = {"1", "true", "ja", "yes", "x", "wahr"}
_FALSE = {"", "0", "false", "nein", "no", "falsch"}
_VISIBILITY = {
    "": "public",
    "public": "public",
    "öffentlich": "public",
    "members": "members",
    "mitglieder": "members",
}


def within_region(lat: float, lon: float) -> bool:
    """True when the point lies in or near the Münsterland."""
    min_lat, max_lat, min_lon, max_lon = MUENSTERLAND_BOUNDS
    return min_lat <= lat <= max_lat and min_lon <= lon <= max_lon


class CsvFileError(ValueError):
    """The file as a whole cannot be read (encoding, header); nothing is imported."""

    def __init__(self, message: str, line: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


@dataclass
class ParsedRow:
    line: int
    raw: dict[str, str]
    values: dict[str, Any] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.reasons

    @property
    def key(self) -> tuple[str, str] | None:
        if self.values.get("external_id"):
            return ("external_id", self.values["external_id"])
        if self.values.get("id") is not None:
            return ("id", str(self.values["id"]))
        return None


@dataclass
class ParsedFile:
    header: list[str]
    delimiter: str
    rows: list[tuple[int, list[str]]]
    ignored_columns: list[str]


def _decode(data: bytes) -> str:
    try:
        # utf-8-sig drops the byte-order mark Excel writes in front of "CSV UTF-8".
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise CsvFileError(
            _(
                "Die Datei ist nicht UTF-8-kodiert (ungültiges Zeichen in Zeile %(line)s). Bitte speichern "
                "Sie sie als „CSV UTF-8“ (in Excel: Speichern unter → CSV UTF-8) und laden Sie sie erneut hoch.",
                line=line,
            ),
            line=line,
        ) from err


def _delimiter(header_line: str) -> str:
    return ";" if header_line.count(";") >= header_line.count(",") else ","


def parse_csv(data: bytes) -> ParsedFile:
    """Decode and split a file; rows keep the line number on which they start.

    Raises
    ------
    CsvFileError
        Not UTF-8, empty, no header, or a required column missing.
    """
    text = _decode(data)
    if "\x00" in text:
        raise CsvFileError(_("Die Datei enthält Binärdaten und ist keine CSV-Datei."))
    lines = text.splitlines()
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        raise CsvFileError(_("Die Datei ist leer."))
    delimiter = _delimiter(lines[first])
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: list[tuple[int, list[str]]] = []
    header: list[str] | None = None
    previous_end = 0
    try:
        for record in reader:
            start = previous_end + 1
            previous_end = reader.line_num
            if not any(cell.strip() for cell in record):
                continue
            if header is None:
                header = [cell.strip().lower() for cell in record]
                continue
            rows.append((start, record))
    except csv.Error as err:
        raise CsvFileError(
            _(
                "Die Datei ist ab Zeile %(line)s keine gültige CSV-Datei: %(error)s",
                line=previous_end + 1,
                error=str(err),
            ),
            line=previous_end + 1,
        ) from err
    assert header is not None
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if "external_id" not in header and "id" not in header:
        missing.insert(0, "external_id")
    if missing:
        raise CsvFileError(
            _(
                "Der Datei fehlen Spalten: %(columns)s. Die erste Zeile muss die Spaltennamen enthalten "
                "(getrennt durch Semikolon oder Komma).",
                columns=", ".join(missing),
            ),
            line=first + 1,
        )
    duplicates = sorted({c for c in header if c and header.count(c) > 1})
    if duplicates:
        raise CsvFileError(
            _("Spalten kommen doppelt vor: %(columns)s.", columns=", ".join(duplicates)),
            line=first + 1,
        )
    ignored = [c for c in header if c not in COLUMNS]
    return ParsedFile(header=header, delimiter=delimiter, rows=rows, ignored_columns=ignored)


def _code(value: str, vocabulary: dict) -> str | None:
    lowered = value.strip().lower()
    for code, term in vocabulary.items():
        if lowered in (code.lower(), term.de.lower(), term.en.lower()):
            return code
    return None


def _float(text: str) -> float | None:
    try:
        value = float(text.strip().replace(",", "."))
    except ValueError:
        return None
    return value if value == value and abs(value) != float("inf") else None


def _tags(text: str) -> tuple[frozenset[str], list[str]]:
    parts = [p.strip() for p in re.split(r"[|,]", text) if p.strip()]
    known, unknown = set(), []
    for part in parts:
        code = _code(part, TAGS)
        if code is None:
            unknown.append(part)
        else:
            known.add(code)
    return frozenset(known), unknown


def normalise_website(text: str) -> str | None:
    """``https://``-prefixed URL, or ``None`` when it is no web address."""
    value = text.strip()
    if not value:
        return ""
    if not re.match(r"^[a-z][a-z0-9+.-]*://", value, re.IGNORECASE):
        if ":" in value.split("/")[0] or " " in value:
            return None
        value = "https://" + value
    if not re.match(r"^https?://[^\s/]+\.[^\s/]+", value, re.IGNORECASE):
        return None
    return value


def normalise_free_tags(text: str) -> str:
    """Comma-separated, trimmed, without duplicates (case-insensitive), order kept."""
    seen: dict[str, str] = {}
    for part in re.split(r"[,|;]", text or ""):
        part = " ".join(part.split())
        if part and part.lower() not in seen:
            seen[part.lower()] = part
    return ", ".join(seen.values())


def validate_row(line: int, header: list[str], cells: list[str], known_ags: set[str]) -> ParsedRow:
    """Check one record; ``values`` holds the clean value of every known column present."""
    raw = {name: (cells[i] if i < len(cells) else "") for i, name in enumerate(header) if name}
    row = ParsedRow(line=line, raw=raw)
    reasons = row.reasons
    if len(cells) > len(header) and any(c.strip() for c in cells[len(header) :]):
        reasons.append(
            _(
                "Die Zeile hat %(found)s Felder, die Kopfzeile nur %(expected)s.",
                found=len(cells),
                expected=len(header),
            )
        )
    get = {k: v.strip() for k, v in raw.items()}
    values = row.values

    for name, limit in _LIMITS.items():
        if name in get and len(get[name]) > limit:
            reasons.append(
                _("%(column)s ist zu lang (höchstens %(limit)s Zeichen).", column=name, limit=limit)
            )

    if "external_id" in get:
        values["external_id"] = get["external_id"] or None
    if get.get("id"):
        if re.fullmatch(r"\d{1,12}", get["id"]):
            values["id"] = int(get["id"])
        else:
            reasons.append(_("id „%(value)s“ ist keine Nummer.", value=get["id"]))
    if not values.get("external_id") and values.get("id") is None and not get.get("id"):
        reasons.append(_("external_id fehlt (oder id aus einem Export dieser Plattform)."))

    if not get.get("name"):
        reasons.append(_("Name fehlt."))
    else:
        values["name"] = " ".join(get["name"].split())

    kind = get.get("kind", "")
    if not kind:
        reasons.append(_("Art (kind) fehlt."))
    elif (code := _code(kind, ORGANISATION_KINDS)) is None:
        reasons.append(
            _(
                "Unbekannte Art „%(value)s“ (erlaubt: %(allowed)s).",
                value=kind,
                allowed=", ".join(ORGANISATION_KINDS),
            )
        )
    else:
        values["kind"] = code

    ags = re.sub(r"\s", "", get.get("ags", ""))
    if re.fullmatch(r"\d{7}", ags):
        ags = "0" + ags  # spreadsheets drop the leading zero of "05…"
    if not ags:
        reasons.append(_("AGS (Gemeindeschlüssel) fehlt."))
    elif not re.fullmatch(r"\d{8}", ags):
        reasons.append(
            _(
                "AGS „%(value)s“ ist ungültig: Der Gemeindeschlüssel besteht aus genau 8 Ziffern.",
                value=get.get("ags", ""),
            )
        )
    elif ags not in known_ags:
        reasons.append(_("Keine Gemeinde im Münsterland hat den AGS %(value)s.", value=ags))
    else:
        values["ags"] = ags

    if "latitude" in get or "longitude" in get:
        lat_text, lon_text = get.get("latitude", ""), get.get("longitude", "")
        if not lat_text and not lon_text:
            values["latitude"] = values["longitude"] = None
        elif not lat_text or not lon_text:
            reasons.append(_("Koordinaten: Breite und Länge bitte nur zusammen angeben."))
        else:
            lat, lon = _float(lat_text), _float(lon_text)
            if lat is None or lon is None:
                reasons.append(
                    _(
                        "Koordinaten „%(lat)s, %(lon)s“ sind keine Zahlen.",
                        lat=lat_text,
                        lon=lon_text,
                    )
                )
            elif not within_region(lat, lon):
                reasons.append(
                    _(
                        "Koordinaten %(lat)s, %(lon)s liegen nicht im Münsterland.",
                        lat=lat_text,
                        lon=lon_text,
                    )
                )
            else:
                values["latitude"], values["longitude"] = round(lat, 7), round(lon, 7)

    for name in ("street", "contact_name", "phone", "description", "services", "source"):
        if name in get:
            values[name] = get[name]
    if "postcode" in get:
        if get["postcode"] and not re.fullmatch(r"\d{5}", get["postcode"]):
            reasons.append(
                _("Postleitzahl „%(value)s“ muss aus 5 Ziffern bestehen.", value=get["postcode"])
            )
        else:
            values["postcode"] = get["postcode"]
    if "contact_email" in get:
        if get["contact_email"] and not _EMAIL.match(get["contact_email"]):
            reasons.append(
                _("E-Mail-Adresse „%(value)s“ ist ungültig.", value=get["contact_email"])
            )
        else:
            values["contact_email"] = get["contact_email"].lower()
    if "website" in get:
        website = normalise_website(get["website"])
        if website is None:
            reasons.append(
                _(
                    "Website „%(value)s“ ist keine Web-Adresse (http:// oder https://).",
                    value=get["website"],
                )
            )
        else:
            values["website"] = website
    if "staff_count" in get:
        if not get["staff_count"]:
            values["staff_count"] = None
        elif re.fullmatch(r"\d{1,7}", get["staff_count"]):
            values["staff_count"] = int(get["staff_count"])
        else:
            reasons.append(
                _("Beschäftigte „%(value)s“ ist keine ganze Zahl.", value=get["staff_count"])
            )
    for name, message in (
        ("offers", _("Unbekannte Angebote: %(values)s.")),
        ("needs", _("Unbekannte Bedarfe: %(values)s.")),
    ):
        if name in get:
            tags, unknown = _tags(get[name])
            if unknown:
                reasons.append(message % {"values": ", ".join(unknown)})
            else:
                values[name] = tags
    if "free_tags" in get:
        values["free_tags"] = normalise_free_tags(get["free_tags"])
    if "visibility" in get:
        visibility = _VISIBILITY.get(get["visibility"].lower())
        if visibility is None:
            reasons.append(
                _(
                    "Sichtbarkeit „%(value)s“: erlaubt sind public oder members.",
                    value=get["visibility"],
                )
            )
        else:
            values["visibility"] = visibility
    if "synthetic" in get:
        flag = get["synthetic"].lower()
        if flag in _TRUE:
            values["synthetic"] = True
        elif flag in _FALSE:
            values["synthetic"] = False
        else:
            reasons.append(
                _("synthetic „%(value)s“: erlaubt sind 1 oder 0.", value=get["synthetic"])
            )
    return row


def export_header() -> list[str]:
    return list(COLUMNS)


def _number(value: float | None) -> str:
    return "" if value is None else repr(float(value))


def export_row(org: Any) -> list[str]:
    """One organisation as CSV cells, so that importing the export changes nothing."""
    exact = bool(org.exact_location)
    return [
        org.external_id or "",
        str(org.id),
        org.kind,
        org.name,
        org.street or "",
        org.postcode or "",
        org.ags,
        _number(org.latitude) if exact else "",
        _number(org.longitude) if exact else "",
        org.contact_name or "",
        org.contact_email or "",
        org.phone or "",
        org.website or "",
        org.description or "",
        org.services or "",
        "" if org.staff_count is None else str(org.staff_count),
        "|".join(sorted(org.offers)),
        "|".join(sorted(org.needs)),
        org.free_tags or "",
        org.visibility or "public",
        "1" if org.synthetic else "0",
        org.source or "",
    ]


def write_csv(rows: Iterable[list[str]], *, bom: bool = True) -> Iterator[str]:
    """Yield CSV text chunk by chunk (semicolons, UTF-8 BOM first: Excel opens it as intended)."""
    if bom:
        yield "\ufeff"
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    for row in rows:
        writer.writerow(row)
        if buffer.tell() > 64 * 1024:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue()


def report_csv(header: list[str], rejected: list[ParsedRow]) -> str:
    """The rejected rows with line number and reasons, then their original cells."""
    columns = [c for c in header if c]
    rows = [[_("Zeile"), _("Grund")] + columns]
    rows += [
        [str(r.line), " | ".join(r.reasons)] + [r.raw.get(c, "") for c in columns] for r in rejected
    ]
    return "".join(write_csv(rows))
