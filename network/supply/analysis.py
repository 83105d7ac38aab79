"""Supply analysis: degree of supply, per-10,000 figures and the fit of action recommendations.

Pure domain code: it imports only the standard library and :mod:`network.vocabulary`, never
Flask or SQLAlchemy, so it is tested and reused without an app. The web layer
(:mod:`network.supply.services`) reads the database, calls these functions with plain data and
renders what they return.

Degree of supply (Versorgungsgrad)
----------------------------------
The demand-planning guideline of the G-BA (Bedarfsplanungs-Richtlinie) sets for each physician
group a *general ratio* of inhabitants per physician. The degree of supply of a planning area is

    Versorgungsgrad = physicians (full-time equivalents) / (inhabitants / ratio) × 100

An area below 75 % (GPs) or 50 % (specialists) is examined for under-supply; at 110 % or more it
is over-supplied and closed to new practices (see ``network/reference/data/SOURCES.md``).

Recommendation fit
------------------
:func:`detect_gaps` derives the gaps of a municipality from its figures by the rules of
:data:`GAP_RULES`; :func:`fit_recommendations` scores each recommendation by the gaps its topics
answer and returns ``(recommendation id, score, reasons)``.
"""

from __future__ import annotations

import csv
import io
import math
import re
import statistics
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from network.vocabulary import PLACEMENT_TAGS, RECOMMENDATION_TOPICS

__all__ = [
    "SupplyError",
    "SpecialtyRatio",
    "SPECIALTY_RATIOS",
    "UNDER_SUPPLY_THRESHOLDS",
    "OVER_SUPPLY_THRESHOLD",
    "GP_TIGHT_THRESHOLD",
    "PROVIDER_KINDS",
    "supply_degree",
    "supply_status",
    "per_10000",
    "ratio_for",
    "group_of",
    "PLANNING_COLUMNS",
    "MAX_PLANNING_ROWS",
    "PlanningRow",
    "RowProblem",
    "PlanningParse",
    "parse_planning_csv",
    "latest_figures",
    "AreaFigures",
    "aggregate",
    "Baseline",
    "baseline",
    "Gap",
    "GAP_RULES",
    "detect_gaps",
    "RecommendationInfo",
    "Fit",
    "fit_recommendations",
    "fact_comparability",
    "haversine_km",
    "with_gp_figure",
    "unknown_topics",
    "EFFORT_BONUS",
    "REMOTE_HOSPITAL_KM",
    "LOW_DENSITY_SHARE",
    "MANY_OPEN_POSITIONS_FACTOR",
    "MISSING_PLACEMENTS_MIN",
]


class SupplyError(ValueError):
    """A figure cannot be computed from the given values (e.g. no inhabitants)."""


# --------------------------------------------------------------------------- ratios and thresholds


@dataclass(frozen=True, slots=True)
class SpecialtyRatio:
    """A physician group of the planning guideline and its general ratio.

    ``ratio`` is inhabitants per physician at 100 % supply, or ``None`` when it depends on the
    region type and must be given with the figures (CSV column ``ratio``).
    """

    code: str
    de: str
    en: str
    group: str  # "gp" or "specialist": selects the under-supply threshold
    ratio: float | None
    source: str

    def label(self, language: str = "de") -> str:
        return self.en if language == "en" else self.de


_BPL_RL = "G-BA, Bedarfsplanungs-Richtlinie (Neufassung in Kraft seit 30.06.2019)"
_REGION_DEPENDENT = (
    _BPL_RL + ": die Verhältniszahl hängt vom Kreis- bzw. Regionstyp ab – "
    "bitte in der Spalte „ratio“ angeben."
)

#: Physician groups of the planning guideline with their general ratio (inhabitants per
#: physician). Only the GP ratio is the same everywhere; for the specialist groups it differs by
#: region type (allgemeine fachärztliche Versorgung: Kreistyp; spezialisierte: Raumordnungsregion),
#: so the uploaded figures must carry it. The GP value 1:1,609 is the ratio of the 2019 reform
#: (before: 1:1,671, as the KVWL figures quoted in ``gp_supply_muensterland.csv`` show); the
#: G-BA adapts it from time to time and the KV applies a regional morbidity factor, so a
#: coordinator who knows the ratio the KV used gives it in the ``ratio`` column, which wins.
SPECIALTY_RATIOS: dict[str, SpecialtyRatio] = {
    s.code: s
    for s in (
        SpecialtyRatio(
            "hausaerzte",
            "Hausärzte",
            "General practitioners",
            "gp",
            1609.0,
            _BPL_RL + ", allgemeine Verhältniszahl Hausärzte 1:1.609 (vor 2019: 1:1.671)",
        ),
        SpecialtyRatio(
            "augenaerzte", "Augenärzte", "Ophthalmologists", "specialist", None, _REGION_DEPENDENT
        ),
        SpecialtyRatio(
            "chirurgen_orthopaeden",
            "Chirurgen und Orthopäden",
            "Surgeons and orthopaedists",
            "specialist",
            None,
            _REGION_DEPENDENT,
        ),
        SpecialtyRatio(
            "frauenaerzte", "Frauenärzte", "Gynaecologists", "specialist", None, _REGION_DEPENDENT
        ),
        SpecialtyRatio(
            "hautaerzte", "Hautärzte", "Dermatologists", "specialist", None, _REGION_DEPENDENT
        ),
        SpecialtyRatio(
            "hno_aerzte", "HNO-Ärzte", "ENT physicians", "specialist", None, _REGION_DEPENDENT
        ),
        SpecialtyRatio(
            "kinderaerzte",
            "Kinder- und Jugendärzte",
            "Paediatricians",
            "specialist",
            None,
            _REGION_DEPENDENT + " Die Verhältniszahl bezieht sich auf Einwohner unter 18 Jahren.",
        ),
        SpecialtyRatio(
            "nervenaerzte",
            "Nervenärzte",
            "Neurologists and psychiatrists",
            "specialist",
            None,
            _REGION_DEPENDENT,
        ),
        SpecialtyRatio(
            "psychotherapeuten",
            "Psychotherapeuten",
            "Psychotherapists",
            "specialist",
            None,
            _REGION_DEPENDENT,
        ),
        SpecialtyRatio("urologen", "Urologen", "Urologists", "specialist", None, _REGION_DEPENDENT),
        SpecialtyRatio(
            "anaesthesisten",
            "Anästhesisten",
            "Anaesthetists",
            "specialist",
            None,
            _REGION_DEPENDENT,
        ),
        SpecialtyRatio(
            "fachinternisten",
            "Fachärztlich tätige Internisten",
            "Specialist internists",
            "specialist",
            None,
            _REGION_DEPENDENT,
        ),
        SpecialtyRatio(
            "kinder_jugendpsychiater",
            "Kinder- und Jugendpsychiater",
            "Child and adolescent psychiatrists",
            "specialist",
            None,
            _REGION_DEPENDENT,
        ),
        SpecialtyRatio(
            "radiologen", "Radiologen", "Radiologists", "specialist", None, _REGION_DEPENDENT
        ),
    )
}

#: Below these degrees (in %) under-supply is examined (Bedarfsplanungs-Richtlinie; SOURCES.md).
UNDER_SUPPLY_THRESHOLDS: dict[str, float] = {"gp": 75.0, "specialist": 50.0}
#: At or above this degree (in %) an area is over-supplied and closed to new practices.
OVER_SUPPLY_THRESHOLD = 110.0
#: Health insurers see incipient GP under-supply below 90 % (westfalenspiegel.de, quoted in
#: ``gp_supply_muensterland.csv``); used only to suggest recommendations early, never as a flag.
GP_TIGHT_THRESHOLD = 90.0

#: Organisation kinds counted as health-care providers (companies, municipalities and networks
#: are members of the network but do not provide care).
PROVIDER_KINDS: frozenset[str] = frozenset(
    {
        "hospital",
        "rehab_clinic",
        "gp_practice",
        "specialist_practice",
        "mvz",
        "ambulatory_care",
        "care_home",
        "day_care",
        "therapy_practice",
        "pharmacy",
        "rescue_station",
        "school",
    }
)


def supply_degree(physicians_fte: float, inhabitants: float, ratio: float) -> float:
    """Degree of supply in percent.

    .. math:: \\text{Versorgungsgrad} = \\frac{\\text{FTE}}{\\text{inhabitants} / \\text{ratio}} \\times 100

    Parameters
    ----------
    physicians_fte : float
        Physicians counted in full-time equivalents (non-negative).
    inhabitants : float
        Inhabitants of the planning area (positive).
    ratio : float
        Inhabitants per physician at 100 % supply (positive), e.g. 1,609 for GPs.

    Returns
    -------
    float
        The degree in percent, unrounded.

    Raises
    ------
    SupplyError
        If ``inhabitants`` or ``ratio`` is not positive or ``physicians_fte`` is negative.

    Examples
    --------
    >>> round(supply_degree(10, 20_000, 1_609), 2)
    80.45
    >>> supply_degree(7.5, 16_090, 1_609)
    75.0
    """
    if not _finite(physicians_fte) or physicians_fte < 0:
        raise SupplyError(f"physicians_fte must be a non-negative number, not {physicians_fte!r}")
    if not _finite(inhabitants) or inhabitants <= 0:
        raise SupplyError(f"inhabitants must be positive, not {inhabitants!r}")
    if not _finite(ratio) or ratio <= 0:
        raise SupplyError(f"ratio must be positive, not {ratio!r}")
    # Multiplying first keeps worked examples exact in binary floating point (7.5 FTE → 75.0).
    return physicians_fte * ratio * 100.0 / inhabitants


def supply_status(degree: float | None, group: str = "gp") -> str | None:
    """Classify a degree: ``"under"``, ``"normal"`` or ``"over"`` (``None`` without a degree).

    Under-supply is *below* the group's threshold (75 % for GPs, 50 % for specialists), so exactly
    75 % is not under-supplied; over-supply starts *at* 110 %.

    Examples
    --------
    >>> supply_status(74.99), supply_status(75.0), supply_status(109.99), supply_status(110.0)
    ('under', 'normal', 'normal', 'over')
    >>> supply_status(60.0, "specialist")
    'normal'
    """
    if degree is None:
        return None
    if group not in UNDER_SUPPLY_THRESHOLDS:
        raise SupplyError(f"unknown physician group {group!r}")
    # Rounding away float noise: 74.99999999999999 from a division is 75 on paper.
    value = round(degree, 9)
    if value < UNDER_SUPPLY_THRESHOLDS[group]:
        return "under"
    if value >= OVER_SUPPLY_THRESHOLD:
        return "over"
    return "normal"


def per_10000(count: float, population: float) -> float | None:
    """``count`` per 10,000 inhabitants, or ``None`` when the population is unknown.

    >>> per_10000(3, 15_000)
    2.0
    """
    if not population or population <= 0:
        return None
    return count * 10_000.0 / population


def ratio_for(specialty: str, given: float | None = None) -> float | None:
    """The ratio that applies to figures of ``specialty``: the one given with them, else the
    specialty's general ratio (``None`` when it has none).

    >>> ratio_for("hausaerzte"), ratio_for("hausaerzte", 1581), ratio_for("augenaerzte")
    (1609.0, 1581, None)
    """
    if given is not None:
        return given
    spec = SPECIALTY_RATIOS.get(specialty)
    return spec.ratio if spec else None


def group_of(specialty: str) -> str:
    """``"gp"`` or ``"specialist"`` for a specialty code (unknown codes count as specialists)."""
    spec = SPECIALTY_RATIOS.get(specialty)
    return spec.group if spec else "specialist"


# --------------------------------------------------------------------------- planning figures CSV

#: Columns of the planning-figures CSV: (name, German alias, required, meaning). Documented on
#: the upload page; the header may use either name, in any order and case.
PLANNING_COLUMNS: tuple[tuple[str, str, bool, str], ...] = (
    ("planning_area", "planungsbereich", True, "Planungsbereich, z. B. „Mittelbereich Oelde“"),
    ("specialty", "arztgruppe", True, "Arztgruppe als Code, z. B. hausaerzte"),
    (
        "physicians_fte",
        "aerzte_vza",
        True,
        "Ärztinnen und Ärzte in Vollzeitäquivalenten, z. B. 24,5",
    ),
    ("inhabitants", "einwohner", True, "Einwohnerzahl des Planungsbereichs"),
    ("as_of", "stand", True, "Stand der Zahlen, JJJJ-MM-TT oder TT.MM.JJJJ"),
    ("source", "quelle", True, "Quelle, z. B. „KVWL, Bedarfsplan, Beschluss vom …“"),
    (
        "ags",
        "gemeinden",
        True,
        "AGS der Gemeinden des Planungsbereichs, durch Leerzeichen oder | getrennt",
    ),
    ("ratio", "verhaeltniszahl", False, "Einwohner je Arzt bei 100 % (Pflicht bei Fachärzten)"),
)

#: Uploads are capped: all planning areas of a KV region are a few hundred rows.
MAX_PLANNING_ROWS = 5000

_PROBLEM_TEXTS: dict[str, tuple[str, str]] = {
    "empty": ("Die Datei enthält keine Zeilen.", "The file has no rows."),
    "not_text": (
        "Die Datei ist keine Textdatei (CSV in UTF-8 erwartet).",
        "The file is not a text file (UTF-8 CSV expected).",
    ),
    "missing_columns": (
        "Es fehlen Spalten: {columns}. Die erste Zeile muss die Spaltennamen enthalten.",
        "Missing columns: {columns}. The first line must name the columns.",
    ),
    "too_many_rows": (
        "Mehr als {limit} Zeilen – bitte die Datei teilen.",
        "More than {limit} rows – please split the file.",
    ),
    "required": ("„{field}“ fehlt.", "“{field}” is missing."),
    "too_long": (
        "„{field}“ ist länger als {limit} Zeichen.",
        "“{field}” is longer than {limit} characters.",
    ),
    "unknown_specialty": (
        "Unbekannte Arztgruppe „{value}“. Erlaubt: {allowed}.",
        "Unknown physician group “{value}”. Allowed: {allowed}.",
    ),
    "not_a_number": (
        "„{field}“ ist keine Zahl: „{value}“.",
        "“{field}” is not a number: “{value}”.",
    ),
    "not_an_integer": (
        "„{field}“ ist keine ganze Zahl: „{value}“.",
        "“{field}” is not a whole number: “{value}”.",
    ),
    "negative": ("„{field}“ darf nicht negativ sein.", "“{field}” must not be negative."),
    "not_positive": ("„{field}“ muss größer als 0 sein.", "“{field}” must be greater than 0."),
    "implausible": (
        "„{field}“ ist unplausibel groß: {value}.",
        "“{field}” is implausibly large: {value}.",
    ),
    "bad_date": (
        "„{value}“ ist kein Datum (JJJJ-MM-TT oder TT.MM.JJJJ).",
        "“{value}” is not a date (YYYY-MM-DD or DD.MM.YYYY).",
    ),
    "bad_ags": (
        "„{value}“ ist kein Gemeindeschlüssel (8 Ziffern, z. B. 05570028).",
        "“{value}” is not a municipality key (8 digits, e.g. 05570028).",
    ),
    "unknown_ags": (
        "Keine Gemeinde im Münsterland hat den Schlüssel {value}.",
        "No municipality of the Münsterland has the key {value}.",
    ),
    "ratio_required": (
        "Für {specialty} gibt es keine einheitliche Verhältniszahl – bitte „ratio“ angeben.",
        "{specialty} has no uniform ratio – please give “ratio”.",
    ),
    "duplicate": (
        "Planungsbereich, Arztgruppe und Stand stehen schon in Zeile {first}.",
        "Planning area, physician group and date already appear in line {first}.",
    ),
}


@dataclass(frozen=True, slots=True)
class RowProblem:
    """Why one line of an upload was refused: line number, column, reason code and values."""

    line: int
    field: str
    code: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def text(self, language: str = "de") -> str:
        """The reason in ``language`` (German by default)."""
        de, en = _PROBLEM_TEXTS.get(self.code, (self.code, self.code))
        template = en if language == "en" else de
        try:
            return template.format(field=self.field, **self.params)
        except (KeyError, IndexError):
            return template


@dataclass(frozen=True, slots=True)
class PlanningRow:
    """One valid line of planning figures; ``ratio`` is the one given in the file, if any."""

    line: int
    planning_area: str
    specialty: str
    physicians_fte: float
    inhabitants: int
    as_of: str
    source: str
    ags: tuple[str, ...]
    ratio: float | None = None

    @property
    def degree(self) -> float:
        return supply_degree(
            self.physicians_fte, self.inhabitants, ratio_for(self.specialty, self.ratio)
        )


@dataclass(frozen=True, slots=True)
class PlanningParse:
    """The outcome of :func:`parse_planning_csv`: the valid rows, the problems, the lines read."""

    rows: tuple[PlanningRow, ...]
    problems: tuple[RowProblem, ...]
    lines_read: int

    @property
    def rejected_lines(self) -> int:
        return len({p.line for p in self.problems})


_NUMBER = re.compile(r"^[+-]?\d+(?:[.,]\d+)?$")
_GROUPED_INT = re.compile(r"^\d{1,3}(?:[. \u00a0\u202f']\d{3})+$")


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def _number(raw: str) -> float | None:
    text = raw.strip().replace("\u00a0", "").replace(" ", "")
    if not _NUMBER.match(text):
        return None
    return float(text.replace(",", "."))


def _integer(raw: str) -> int | None:
    text = raw.strip()
    if _GROUPED_INT.match(text):
        text = re.sub(r"[. \u00a0\u202f']", "", text)
    return int(text) if text.isdigit() else None


def _date(raw: str) -> str | None:
    text = raw.strip()
    match = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", text) or None
    if match:
        year, month, day = match.groups()
    else:
        match = re.fullmatch(r"(\d{1,2})\.(\d{1,2})\.(\d{4})", text)
        if not match:
            return None
        day, month, year = match.groups()
    try:
        return date(int(year), int(month), int(day)).isoformat()
    except ValueError:
        return None


def _specialty_code(raw: str) -> str | None:
    text = raw.strip().lower()
    if text in SPECIALTY_RATIOS:
        return text
    for spec in SPECIALTY_RATIOS.values():  # the German or English label works too
        if text in (spec.de.lower(), spec.en.lower()):
            return spec.code
    return None


def _header_map(header: Sequence[str]) -> dict[str, int]:
    aliases = {alias: name for name, alias, _req, _doc in PLANNING_COLUMNS}
    positions: dict[str, int] = {}
    for index, raw in enumerate(header):
        key = raw.strip().lstrip("\ufeff").lower().replace(" ", "_").replace("-", "_")
        name = key if key in {c[0] for c in PLANNING_COLUMNS} else aliases.get(key)
        if name and name not in positions:
            positions[name] = index
    return positions


def parse_planning_csv(text: str, known_ags: Collection[str]) -> PlanningParse:
    """Validate a planning-figures CSV line by line; keep the good rows, explain the bad ones.

    The delimiter (``,`` or ``;``) is taken from the header line; numbers may use a decimal
    comma; AGS codes that lost their leading zero in a spreadsheet (7 digits) are padded.

    Parameters
    ----------
    text : str
        The file's content (a leading byte-order mark is ignored).
    known_ags : collection of str
        The AGS codes a row may name.

    Returns
    -------
    PlanningParse
        Valid rows in file order, and one :class:`RowProblem` per refused value with its line.

    Examples
    --------
    >>> csv_text = (
    ...     "planning_area;specialty;physicians_fte;inhabitants;as_of;source;ags\\n"
    ...     "MB Oelde;hausaerzte;10;20000;2024-01-01;KVWL;05570028\\n"
    ...     "MB Oelde;zahnaerzte;1;x;2024-01-01;KVWL;05570028\\n"
    ... )
    >>> result = parse_planning_csv(csv_text, {"05570028"})
    >>> [round(r.degree, 2) for r in result.rows]
    [80.45]
    >>> [(p.line, p.field, p.code) for p in result.problems]
    [(3, 'specialty', 'unknown_specialty'), (3, 'inhabitants', 'not_an_integer')]
    """
    text = text.lstrip("\ufeff")
    lines = text.splitlines()
    first = next((line for line in lines if line.strip()), "")
    if not first:
        return PlanningParse((), (RowProblem(1, "", "empty"),), 0)
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = next(reader)
    columns = _header_map(header)
    missing = [
        name
        for name, _alias, required, _doc in PLANNING_COLUMNS
        if required and name not in columns
    ]
    if missing:
        return PlanningParse(
            (), (RowProblem(1, "", "missing_columns", {"columns": ", ".join(missing)}),), 1
        )

    known = frozenset(known_ags)
    rows: list[PlanningRow] = []
    problems: list[RowProblem] = []
    seen: dict[tuple[str, str, str], int] = {}
    lines_read = 1
    for record in reader:
        line = reader.line_num
        lines_read = line
        if not any(cell.strip() for cell in record):
            continue
        if len(rows) + len({p.line for p in problems}) >= MAX_PLANNING_ROWS:
            problems.append(RowProblem(line, "", "too_many_rows", {"limit": MAX_PLANNING_ROWS}))
            break
        values = {
            name: (record[i] if i < len(record) else "").strip() for name, i in columns.items()
        }
        row, row_problems = _check_row(line, values, known)
        if row is not None:
            key = (row.planning_area.lower(), row.specialty, row.as_of)
            if key in seen:
                row_problems.append(
                    RowProblem(line, "planning_area", "duplicate", {"first": seen[key]})
                )
            else:
                seen[key] = line
        if row_problems:
            problems.extend(row_problems)
        elif row is not None:
            rows.append(row)
    return PlanningParse(tuple(rows), tuple(problems), lines_read)


def _check_row(
    line: int, values: Mapping[str, str], known: frozenset[str]
) -> tuple[PlanningRow | None, list[RowProblem]]:
    problems: list[RowProblem] = []

    def problem(name: str, code: str, **params: Any) -> None:
        problems.append(RowProblem(line, name, code, params))

    area = values.get("planning_area", "")
    if not area:
        problem("planning_area", "required")
    elif len(area) > 120:
        problem("planning_area", "too_long", limit=120)

    specialty = _specialty_code(values.get("specialty", ""))
    if not values.get("specialty"):
        problem("specialty", "required")
    elif specialty is None:
        problem(
            "specialty",
            "unknown_specialty",
            value=values["specialty"],
            allowed=", ".join(SPECIALTY_RATIOS),
        )

    fte = _number(values.get("physicians_fte", ""))
    if not values.get("physicians_fte"):
        problem("physicians_fte", "required")
    elif fte is None:
        problem("physicians_fte", "not_a_number", value=values["physicians_fte"])
    elif fte < 0:
        problem("physicians_fte", "negative")
    elif fte > 100_000:
        problem("physicians_fte", "implausible", value=values["physicians_fte"])

    inhabitants = _integer(values.get("inhabitants", ""))
    if not values.get("inhabitants"):
        problem("inhabitants", "required")
    elif inhabitants is None:
        problem("inhabitants", "not_an_integer", value=values["inhabitants"])
    elif inhabitants <= 0:
        problem("inhabitants", "not_positive")
    elif inhabitants > 100_000_000:
        problem("inhabitants", "implausible", value=values["inhabitants"])

    as_of = _date(values.get("as_of", ""))
    if not values.get("as_of"):
        problem("as_of", "required")
    elif as_of is None:
        problem("as_of", "bad_date", value=values["as_of"])

    source = values.get("source", "")
    if not source:
        problem("source", "required")
    elif len(source) > 400:
        problem("source", "too_long", limit=400)

    codes: list[str] = []
    raw_ags = values.get("ags", "")
    if not raw_ags:
        problem("ags", "required")
    for token in (t for t in re.split(r"[\s,;|/]+", raw_ags) if t):
        code = token.zfill(8) if token.isdigit() and len(token) == 7 else token
        if not re.fullmatch(r"\d{8}", code):
            problem("ags", "bad_ags", value=token)
        elif code not in known:
            problem("ags", "unknown_ags", value=code)
        elif code not in codes:
            codes.append(code)

    ratio = None
    raw_ratio = values.get("ratio", "")
    if raw_ratio:
        ratio = _number(raw_ratio)
        if ratio is None:
            problem("ratio", "not_a_number", value=raw_ratio)
        elif ratio <= 0:
            problem("ratio", "not_positive")
    elif specialty is not None and SPECIALTY_RATIOS[specialty].ratio is None:
        problem("ratio", "ratio_required", specialty=SPECIALTY_RATIOS[specialty].de)

    if problems:
        return None, problems
    return (
        PlanningRow(
            line=line,
            planning_area=area,
            specialty=specialty or "",
            physicians_fte=float(fte or 0.0),
            inhabitants=int(inhabitants or 0),
            as_of=as_of or "",
            source=source,
            ags=tuple(sorted(codes)),
            ratio=ratio,
        ),
        [],
    )


def latest_figures(
    figures: Iterable[Mapping[str, Any]], specialty_code: str = "hausaerzte"
) -> dict[str, dict[str, Any]]:
    """For each AGS, the newest figure of ``specialty_code`` covering it, with its degree.

    ``figures`` are mappings with the keys of :class:`PlanningRow` (``ratio`` the one given
    with the figures or ``None``, ``municipalities`` as the list of AGS). When two planning areas of the same date cover one
    municipality, the lower degree is kept: the view must not hide a gap.

    Returns
    -------
    dict
        AGS → the figure plus ``degree``, ``status`` and ``ratio``.
    """
    best: dict[str, dict[str, Any]] = {}
    for figure in figures:
        code = figure["specialty"]
        ratio = ratio_for(code, figure.get("ratio"))
        if code != specialty_code or ratio is None:
            continue
        degree = supply_degree(figure["physicians_fte"], figure["inhabitants"], ratio)
        entry = dict(
            figure, degree=degree, status=supply_status(degree, group_of(code)), ratio=ratio
        )
        for ags in figure["municipalities"]:
            current = best.get(ags)
            if (
                current is None
                or figure["as_of"] > current["as_of"]
                or (figure["as_of"] == current["as_of"] and degree < current["degree"])
            ):
                best[ags] = entry
    return best


# --------------------------------------------------------------------------- figures per area


@dataclass(frozen=True, slots=True)
class AreaFigures:
    """Plain figures of one municipality, model region or Kreis.

    Counts come from the platform (registered organisations, open positions, trainee profiles);
    ``population`` from the census; ``gp_degree`` from uploaded planning figures (for an
    aggregate: the lowest degree of its municipalities, so a gap is never averaged away).
    """

    key: str
    name: str
    level: str  # "municipality" | "model_region" | "kreis"
    population: int
    providers_by_kind: Mapping[str, int] = field(default_factory=dict)
    staff: int = 0
    open_positions: int = 0
    training_places: int = 0
    trainees: int = 0
    nursing_trainers: int = 0
    placement_types: frozenset[str] = frozenset()
    gp_degree: float | None = None
    gp_status: str | None = None
    gp_planning_area: str = ""
    gp_as_of: str = ""
    gp_source: str = ""
    nearest_hospital_km: float | None = None
    urbanisation_degree: int | None = None
    area_km2: float | None = None
    kreis: str = ""
    members: tuple[str, ...] = ()

    @property
    def providers(self) -> int:
        return sum(n for kind, n in self.providers_by_kind.items() if kind in PROVIDER_KINDS)

    @property
    def gp_practices(self) -> int:
        return self.providers_by_kind.get("gp_practice", 0) + self.providers_by_kind.get("mvz", 0)

    @property
    def providers_per_10k(self) -> float | None:
        return per_10000(self.providers, self.population)

    @property
    def staff_per_10k(self) -> float | None:
        return per_10000(self.staff, self.population)

    @property
    def open_positions_per_10k(self) -> float | None:
        return per_10000(self.open_positions, self.population)

    @property
    def training_places_per_10k(self) -> float | None:
        return per_10000(self.training_places, self.population)

    @property
    def trainees_per_10k(self) -> float | None:
        return per_10000(self.trainees, self.population)

    @property
    def missing_placement_types(self) -> tuple[str, ...]:
        return tuple(tag for tag in PLACEMENT_TAGS if tag not in self.placement_types)


def aggregate(parts: Sequence[AreaFigures], key: str, name: str, level: str) -> AreaFigures:
    """Sum the figures of several municipalities into one region.

    Counts and inhabitants add up; placement types are united; the GP degree is the lowest of the
    parts (with that part's planning area, date and source); distances and settlement type do not
    aggregate and stay ``None``.

    >>> a = AreaFigures("1", "A", "municipality", 10_000, {"gp_practice": 2}, gp_degree=80.0)
    >>> b = AreaFigures("2", "B", "municipality", 30_000, {"gp_practice": 1, "sme": 4}, gp_degree=70.0)
    >>> region = aggregate([a, b], "r", "A–B", "model_region")
    >>> region.population, region.providers, region.providers_per_10k, region.gp_degree
    (40000, 3, 0.75, 70.0)
    """
    kinds: dict[str, int] = {}
    for part in parts:
        for kind, count in part.providers_by_kind.items():
            kinds[kind] = kinds.get(kind, 0) + count
    rated = [p for p in parts if p.gp_degree is not None]
    worst = min(rated, key=lambda p: p.gp_degree) if rated else None  # type: ignore[arg-type, return-value]
    return AreaFigures(
        key=key,
        name=name,
        level=level,
        population=sum(p.population for p in parts),
        providers_by_kind=kinds,
        staff=sum(p.staff for p in parts),
        open_positions=sum(p.open_positions for p in parts),
        training_places=sum(p.training_places for p in parts),
        trainees=sum(p.trainees for p in parts),
        nursing_trainers=sum(p.nursing_trainers for p in parts),
        placement_types=frozenset().union(*(p.placement_types for p in parts))
        if parts
        else frozenset(),
        gp_degree=worst.gp_degree if worst else None,
        gp_status=worst.gp_status if worst else None,
        gp_planning_area=worst.gp_planning_area if worst else "",
        gp_as_of=worst.gp_as_of if worst else "",
        gp_source=worst.gp_source if worst else "",
        area_km2=sum(p.area_km2 or 0.0 for p in parts) or None,
        kreis=parts[0].kreis if parts and len({p.kreis for p in parts}) == 1 else "",
        members=tuple(p.key for p in parts),
    )


@dataclass(frozen=True, slots=True)
class Baseline:
    """Regional medians the relative gap rules compare a municipality with."""

    providers_per_10k: float
    open_positions_per_10k: float
    trainees_per_10k: float


def baseline(figures: Iterable[AreaFigures]) -> Baseline:
    """Medians over the municipalities (those without inhabitants are left out).

    >>> baseline([AreaFigures("1", "A", "municipality", 10_000, {"gp_practice": 1}),
    ...           AreaFigures("2", "B", "municipality", 10_000, {"gp_practice": 3})])
    Baseline(providers_per_10k=2.0, open_positions_per_10k=0.0, trainees_per_10k=0.0)
    """
    items = [f for f in figures if f.population > 0]
    if not items:
        return Baseline(0.0, 0.0, 0.0)
    return Baseline(
        providers_per_10k=statistics.median(f.providers_per_10k or 0.0 for f in items),
        open_positions_per_10k=statistics.median(f.open_positions_per_10k or 0.0 for f in items),
        trainees_per_10k=statistics.median(f.trainees_per_10k or 0.0 for f in items),
    )


# --------------------------------------------------------------------------- gaps and fit

#: Distance to the nearest hospital from which a municipality counts as remote (km, straight
#: line between the census centre and the hospital site; roads are longer).
REMOTE_HOSPITAL_KM = 15.0
#: A municipality counts as thinly networked below this share of the regional median density.
LOW_DENSITY_SHARE = 0.5
#: Open positions per 10,000 above this multiple of the median suggest hard-to-fill jobs.
MANY_OPEN_POSITIONS_FACTOR = 1.5
#: Mandatory nursing placement types missing in a municipality from which placements are a gap.
MISSING_PLACEMENTS_MIN = 2

#: The documented rules: (gap code, condition, topics with weights). :func:`detect_gaps`
#: implements exactly these; the recommendation library page lists them.
GAP_RULES: tuple[tuple[str, str, dict[str, float]], ...] = (
    (
        "gp_under_supply",
        "GP degree of supply below 75 % (planning guideline: under-supply is examined)",
        {"gp_succession": 1.0, "telemedicine": 0.8, "networking": 0.3},
    ),
    (
        "gp_tight",
        "GP degree of supply from 75 % to below 90 % (insurers: incipient under-supply)",
        {"gp_succession": 0.7, "telemedicine": 0.5},
    ),
    (
        "no_gp_registered",
        "no GP practice or MVZ of the municipality is registered in the network",
        {"gp_succession": 0.5, "telemedicine": 0.5, "networking": 0.3},
    ),
    (
        "no_nursing_training",
        "no organisation offers nursing training places and no apprenticeship is open",
        {"nursing_recruitment": 1.0, "networking": 0.3, "marketing": 0.3},
    ),
    (
        "missing_placements",
        "two or more mandatory nursing placement types are offered by no organisation",
        {"nursing_recruitment": 0.8, "networking": 0.7, "mobility": 0.3},
    ),
    (
        "low_provider_density",
        "providers per 10,000 inhabitants below half the regional median",
        {"networking": 1.0, "marketing": 0.5, "gp_succession": 0.2},
    ),
    (
        "remote",
        "nearest hospital more than 15 km away, or a thinly populated municipality",
        {"mobility": 1.0, "telemedicine": 0.6, "housing": 0.3},
    ),
    (
        "many_open_positions",
        "open positions per 10,000 inhabitants at least 1.5 times the regional median",
        {"marketing": 1.0, "housing": 0.7, "childcare": 0.7, "mobility": 0.3},
    ),
    (
        "few_trainees",
        "trainee profiles per 10,000 below half the median while training places are open",
        {"marketing": 0.8, "nursing_recruitment": 0.6, "housing": 0.3},
    ),
)
_RULE_TOPICS = {code: topics for code, _doc, topics in GAP_RULES}

_GAP_TEXTS: dict[str, tuple[str, str]] = {
    "gp_under_supply": (
        "Hausärztlicher Versorgungsgrad {degree} % im Planungsbereich {area} (Stand {as_of}) – "
        "unter 75 %, Unterversorgung wird geprüft.",
        "GP degree of supply {degree} % in planning area {area} (as of {as_of}) – below 75 %, "
        "under-supply is examined.",
    ),
    "gp_tight": (
        "Hausärztlicher Versorgungsgrad {degree} % im Planungsbereich {area} (Stand {as_of}) – "
        "unter 90 %, eine Lücke droht.",
        "GP degree of supply {degree} % in planning area {area} (as of {as_of}) – below 90 %, a "
        "gap is looming.",
    ),
    "no_gp_registered": (
        "Keine Hausarztpraxis und kein MVZ aus {name} ist im Netzwerk registriert.",
        "No GP practice or MVZ of {name} is registered in the network.",
    ),
    "no_nursing_training": (
        "In {name} bietet keine Organisation Ausbildungsplätze in der Pflege an.",
        "No organisation in {name} offers nursing training places.",
    ),
    "missing_placements": (
        "{count} von 5 Pflichteinsätzen der Pflegeausbildung bietet in {name} niemand an.",
        "{count} of the 5 mandatory nursing placements are offered by nobody in {name}.",
    ),
    "low_provider_density": (
        "{value} Anbieter je 10.000 Einwohner – weniger als die Hälfte des regionalen Medians "
        "({median}).",
        "{value} providers per 10,000 inhabitants – less than half the regional median ({median}).",
    ),
    "remote": (
        "Nächstes Krankenhaus rund {km} km entfernt (Luftlinie).",
        "Nearest hospital about {km} km away (straight line).",
    ),
    "remote_rural": (
        "Gering besiedelte Gemeinde mit {area} km² Fläche – weite Wege.",
        "Thinly populated municipality of {area} km² – long distances.",
    ),
    "many_open_positions": (
        "{value} offene Stellen je 10.000 Einwohner – deutlich mehr als der regionale Median "
        "({median}).",
        "{value} open positions per 10,000 inhabitants – well above the regional median ({median}).",
    ),
    "few_trainees": (
        "{places} offene Ausbildungs- und Praxisplätze, aber wenige Interessierte aus {name}.",
        "{places} open training places, but few interested trainees from {name}.",
    ),
}


def _format(value: float, language: str, digits: int = 1) -> str:
    text = f"{value:,.{digits}f}"
    if language == "en":
        return text
    return text.replace(",", "\u2009").replace(".", ",").replace("\u2009", ".")


@dataclass(frozen=True, slots=True)
class Gap:
    """A gap found in an area's figures: rule code, severity in (0, 1], values for the reason."""

    code: str
    severity: float
    params: Mapping[str, Any] = field(default_factory=dict)
    variant: str = ""

    @property
    def topics(self) -> Mapping[str, float]:
        return _RULE_TOPICS[self.code]

    def text(self, language: str = "de") -> str:
        """The reason in ``language`` (German by default), numbers formatted for it."""
        de, en = _GAP_TEXTS[self.variant or self.code]
        values = {
            key: (_format(value, language) if isinstance(value, float) else value)
            for key, value in self.params.items()
        }
        return (en if language == "en" else de).format(**values)


def detect_gaps(figures: AreaFigures, region: Baseline) -> tuple[Gap, ...]:
    """The gaps of one municipality by the rules of :data:`GAP_RULES`, most severe first.

    Parameters
    ----------
    figures : AreaFigures
        The municipality's figures.
    region : Baseline
        Regional medians (from :func:`baseline` over all municipalities).

    Examples
    --------
    >>> f = AreaFigures("05570028", "Oelde", "municipality", 29_000, {"gp_practice": 3},
    ...                 gp_degree=70.0, gp_status="under", gp_planning_area="MB Oelde",
    ...                 gp_as_of="2024-01-01", placement_types=frozenset(PLACEMENT_TAGS),
    ...                 nursing_trainers=1)
    >>> [g.code for g in detect_gaps(f, Baseline(1.0, 0.0, 0.0))]
    ['gp_under_supply']
    """
    gaps: list[Gap] = []
    if figures.gp_degree is not None:
        degree = figures.gp_degree
        common = {
            "degree": round(degree, 1),
            "area": figures.gp_planning_area,
            "as_of": figures.gp_as_of,
        }
        if figures.gp_status == "under" or supply_status(degree) == "under":
            # An official trigger of the planning guideline: the weightiest gap (0.8 just below
            # 75 %, 1.0 from 65 % down).
            gaps.append(Gap("gp_under_supply", _clamp(0.8 + (75.0 - degree) / 50.0), common))
        elif degree < GP_TIGHT_THRESHOLD:
            gaps.append(Gap("gp_tight", _clamp(0.3 + (GP_TIGHT_THRESHOLD - degree) / 50.0), common))
    if figures.gp_practices == 0 and figures.population > 0:
        gaps.append(Gap("no_gp_registered", 0.5, {"name": figures.name}))

    if figures.nursing_trainers == 0 and figures.training_places == 0:
        gaps.append(Gap("no_nursing_training", 0.6, {"name": figures.name}))
    missing = figures.missing_placement_types
    if len(missing) >= MISSING_PLACEMENTS_MIN:
        gaps.append(
            Gap(
                "missing_placements",
                _clamp(len(missing) / len(PLACEMENT_TAGS)),
                {"count": len(missing), "name": figures.name, "types": missing},
            )
        )

    density = figures.providers_per_10k
    if (
        density is not None
        and region.providers_per_10k > 0
        and density < LOW_DENSITY_SHARE * region.providers_per_10k
    ):
        gaps.append(
            Gap(
                "low_provider_density",
                _clamp(1.0 - density / region.providers_per_10k),
                {"value": density, "median": float(region.providers_per_10k)},
            )
        )

    km = figures.nearest_hospital_km
    if km is not None and km > REMOTE_HOSPITAL_KM:
        gaps.append(
            Gap("remote", _clamp(0.5 + (km - REMOTE_HOSPITAL_KM) / 30.0), {"km": round(km)})
        )
    elif figures.urbanisation_degree == 3 and (figures.area_km2 or 0) >= 100:
        gaps.append(
            Gap("remote", 0.5, {"area": round(figures.area_km2 or 0)}, variant="remote_rural")
        )

    open_rate = figures.open_positions_per_10k
    if (
        open_rate is not None
        and figures.open_positions >= 3
        and open_rate >= MANY_OPEN_POSITIONS_FACTOR * max(region.open_positions_per_10k, 1e-9)
    ):
        ratio = open_rate / region.open_positions_per_10k if region.open_positions_per_10k else 3.0
        gaps.append(
            Gap(
                "many_open_positions",
                _clamp(0.4 + (ratio - MANY_OPEN_POSITIONS_FACTOR) / 5.0),
                {"value": open_rate, "median": float(region.open_positions_per_10k)},
            )
        )

    trainee_rate = figures.trainees_per_10k
    if (
        trainee_rate is not None
        and figures.training_places > 0
        and trainee_rate < LOW_DENSITY_SHARE * region.trainees_per_10k
    ):
        gaps.append(
            Gap("few_trainees", 0.5, {"places": figures.training_places, "name": figures.name})
        )

    return tuple(sorted(gaps, key=lambda g: (-g.severity, g.code)))


def _clamp(value: float, low: float = 0.05, high: float = 1.0) -> float:
    return round(min(high, max(low, value)), 3)


@dataclass(frozen=True, slots=True)
class RecommendationInfo:
    """What the fit needs to know of a recommendation."""

    id: int
    topics: frozenset[str]
    effort: str = "medium"


#: Quick wins come first among equally fitting recommendations.
EFFORT_BONUS: dict[str, float] = {"low": 0.1, "medium": 0.05, "high": 0.0}


@dataclass(frozen=True, slots=True)
class Fit:
    """A recommendation that answers some of an area's gaps, with the gaps as reasons."""

    recommendation_id: int
    score: float
    reasons: tuple[Gap, ...]

    def __iter__(self):  # type: ignore[no-untyped-def]
        # Unpacks as the documented triple: ``rec_id, score, reasons = fit``.
        return iter((self.recommendation_id, self.score, self.reasons))


def fit_recommendations(
    gaps: Sequence[Gap], recommendations: Iterable[RecommendationInfo], *, limit: int | None = 5
) -> list[Fit]:
    """Rank recommendations by how well their topics answer the gaps.

    A gap contributes ``severity × weight`` where ``weight`` is the largest weight the gap's
    rule gives to one of the recommendation's topics. The score is the largest contribution plus
    half of the others, plus a small bonus for low effort (:data:`EFFORT_BONUS`): a
    recommendation that answers the weightiest gap well beats one that touches many gaps a
    little. Recommendations that answer no gap are left out.

    Parameters
    ----------
    gaps : sequence of Gap
        From :func:`detect_gaps`.
    recommendations : iterable of RecommendationInfo
        The library.
    limit : int or None, optional (default=5)
        How many to return; ``None`` for all.

    Returns
    -------
    list of Fit
        Best first (ties: lower id first); each unpacks to ``(id, score, reasons)`` with the
        contributing gaps as reasons, largest contribution first.

    Examples
    --------
    >>> gap = Gap("gp_under_supply", 0.6, {"degree": 70.0, "area": "A", "as_of": "2024-01-01"})
    >>> library = [RecommendationInfo(1, frozenset({"gp_succession"}), "high"),
    ...            RecommendationInfo(2, frozenset({"housing"}), "low")]
    >>> [(f.recommendation_id, f.score) for f in fit_recommendations([gap], library)]
    [(1, 0.6)]
    """
    if limit is not None and limit < 0:
        raise SupplyError(f"limit must be non-negative, not {limit}")
    fits: list[Fit] = []
    for rec in recommendations:
        contributions = []
        for gap in gaps:
            weight = max((w for topic, w in gap.topics.items() if topic in rec.topics), default=0.0)
            if weight > 0:
                contributions.append((gap.severity * weight, gap))
        if not contributions:
            continue
        ordered = sorted(contributions, key=lambda item: -item[0])
        score = (
            ordered[0][0]
            + 0.5 * sum(c for c, _gap in ordered[1:])
            + EFFORT_BONUS.get(rec.effort, 0.0)
        )
        reasons = tuple(g for _c, g in ordered)
        fits.append(Fit(rec.id, round(score, 3), reasons))
    fits.sort(key=lambda f: (-f.score, f.recommendation_id))
    return fits if limit is None else fits[:limit]


def unknown_topics(topics: Iterable[str]) -> list[str]:
    """Topics that are not in :data:`network.vocabulary.RECOMMENDATION_TOPICS`."""
    return [t for t in topics if t not in RECOMMENDATION_TOPICS]


# --------------------------------------------------------------------------- published facts


def fact_comparability(as_of: str, note: str = "") -> str:
    """How a published supply fact relates to today's planning rules.

    ``"pre_2019"``: planning before the reform of 30.06.2019 (other ratio: not comparable with
    later degrees); ``"undated"``: the source gives no date; ``"dated"``: otherwise.

    Examples
    --------
    >>> fact_comparability("article 2019-05 (planning before the 2019 reform)")
    'pre_2019'
    >>> fact_comparability("Bedarfsplanungs-Richtlinie 2014 basis")
    'pre_2019'
    >>> fact_comparability("undated in stored copy")
    'undated'
    >>> fact_comparability("Bundesarztregister, end of 2019 (article 2020-04)")
    'dated'
    """
    text = f"{as_of} {note}".lower()
    if "before the 2019 reform" in text or "1,671" in text or "1.671" in text:
        return "pre_2019"
    years = [int(y) for y in re.findall(r"\b(?:19|20)\d{2}\b", as_of)]
    if years and max(years) < 2019:
        return "pre_2019"
    if "undated" in text or not years:
        return "undated"
    return "dated"


# --------------------------------------------------------------------------- geometry


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in km (mean Earth radius 6,371 km).

    >>> round(haversine_km(52.279214, 7.438651, 52.189765, 7.852660))  # Rheine – Lengerich
    30
    """
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(min(1.0, math.sqrt(a)))


def with_gp_figure(figures: AreaFigures, figure: Mapping[str, Any] | None) -> AreaFigures:
    """``figures`` with the GP degree of ``figure`` (an entry of :func:`latest_figures`)."""
    if figure is None:
        return figures
    return replace(
        figures,
        gp_degree=figure["degree"],
        gp_status=figure["status"],
        gp_planning_area=figure["planning_area"],
        gp_as_of=figure["as_of"],
        gp_source=figure.get("source", ""),
    )
