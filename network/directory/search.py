"""Directory search: query parameters, the full-text index and one search function.

One function, :func:`search_organisations`, serves the HTML directory and the JSON API, on SQLite
and PostgreSQL alike:

* full text through SQLite FTS5 (an external-content table ``organisation_fts`` kept in step by
  triggers) or PostgreSQL (a generated ``tsvector`` column ``organisation.search_vector`` with a
  GIN index); every word of the query is matched as a prefix, all words must match;
* filters as indexed ``IN`` lists (kind, municipality / district / model region resolved to AGS
  codes, offers and needs through ``ix_organisation_tag_lookup``);
* a radius: a latitude/longitude bounding box in SQL (``ix_organisation_lat_lon``), then the exact
  great-circle distance with numpy on the few rows left.

The full-text objects are not part of the models. Migration ``0002`` creates them for
``flask db upgrade``; :func:`ensure_search_index` creates the same objects after
``db.create_all()`` (a metadata ``after_create`` hook), so both paths search identically.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal

import numpy as np
import sqlalchemy as sa
from flask_babel import gettext as _
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import event

from network.extensions import db
from network.matching.geo import bounding_box, haversine_km
from network.models import Organisation, OrganisationTag
from network.reference import load_kreise, load_municipalities
from network.vocabulary import MODEL_REGIONS, ORGANISATION_KINDS, TAGS

__all__ = [
    "SEARCH_INDEX_TABLE",
    "SEARCH_VECTOR_COLUMN",
    "SEARCH_VECTOR_INDEX",
    "is_search_index_object",
    "ensure_search_index",
    "drop_search_index",
    "rebuild_search_index",
    "SearchParams",
    "SearchParamError",
    "SearchHit",
    "ResultPage",
    "parse_search_args",
    "text_tokens",
    "search_organisations",
    "MAX_PER_PAGE",
    "MAX_PAGE",
    "RADIUS_CHOICES",
    "DEFAULT_RADIUS_KM",
]

# --------------------------------------------------------------------------- the full-text index

#: SQLite: the FTS5 tables ``organisation_fts`` (words) and ``organisation_fts_trigram`` (name
#: substrings); FTS5's own shadow tables are named ``organisation_fts_*`` as well.
SEARCH_INDEX_TABLE = "organisation_fts"
#: PostgreSQL: the generated column on ``organisation`` and its GIN index.
SEARCH_VECTOR_COLUMN = "search_vector"
SEARCH_VECTOR_INDEX = "ix_organisation_search_vector"
#: Every index outside the models starts with this (the GIN index and the covering indexes).
SEARCH_INDEX_PREFIX = "ix_organisation_search_"

#: Columns of ``organisation`` that are searched as text (the migration repeats this list).
TEXT_COLUMNS = (
    "name",
    "street",
    "postcode",
    "contact_name",
    "description",
    "services",
    "free_tags",
)

_COLS = ", ".join(TEXT_COLUMNS)
_NEW = ", ".join(f"new.{c}" for c in TEXT_COLUMNS)
_OLD = ", ".join(f"old.{c}" for c in TEXT_COLUMNS)

SQLITE_CREATE = (
    f"CREATE VIRTUAL TABLE IF NOT EXISTS organisation_fts USING fts5({_COLS}, "
    "content='organisation', content_rowid='id', "
    "tokenize='unicode61 remove_diacritics 2', prefix='2 3')",
    f"CREATE TRIGGER IF NOT EXISTS organisation_fts_ai AFTER INSERT ON organisation BEGIN "
    f"INSERT INTO organisation_fts(rowid, {_COLS}) VALUES (new.id, {_NEW}); END",
    f"CREATE TRIGGER IF NOT EXISTS organisation_fts_ad AFTER DELETE ON organisation BEGIN "
    f"INSERT INTO organisation_fts(organisation_fts, rowid, {_COLS}) VALUES ('delete', old.id, {_OLD}); END",
    f"CREATE TRIGGER IF NOT EXISTS organisation_fts_au AFTER UPDATE OF {_COLS} ON organisation BEGIN "
    f"INSERT INTO organisation_fts(organisation_fts, rowid, {_COLS}) VALUES ('delete', old.id, {_OLD}); "
    f"INSERT INTO organisation_fts(rowid, {_COLS}) VALUES (new.id, {_NEW}); END",
    # Names by substring ("praxis" finds "Gemeinschaftspraxis": German compounds).
    "CREATE VIRTUAL TABLE IF NOT EXISTS organisation_fts_trigram USING fts5(name, "
    "content='organisation', content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER IF NOT EXISTS organisation_fts_trigram_ai AFTER INSERT ON organisation BEGIN "
    "INSERT INTO organisation_fts_trigram(rowid, name) VALUES (new.id, new.name); END",
    "CREATE TRIGGER IF NOT EXISTS organisation_fts_trigram_ad AFTER DELETE ON organisation BEGIN "
    "INSERT INTO organisation_fts_trigram(organisation_fts_trigram, rowid, name) VALUES ('delete', old.id, old.name); END",
    "CREATE TRIGGER IF NOT EXISTS organisation_fts_trigram_au AFTER UPDATE OF name ON organisation BEGIN "
    "INSERT INTO organisation_fts_trigram(organisation_fts_trigram, rowid, name) VALUES ('delete', old.id, old.name); "
    "INSERT INTO organisation_fts_trigram(rowid, name) VALUES (new.id, new.name); END",
)
#: Covering indexes for the directory's commonest questions, on both databases: a radius search
#: (bounding box, kind, visibility) and the public list in name order (count and pages).
SEARCH_INDEXES = (
    "CREATE INDEX IF NOT EXISTS ix_organisation_search_geo ON organisation (latitude, longitude, kind, visibility)",
    "CREATE INDEX IF NOT EXISTS ix_organisation_search_name ON organisation (visibility, name)",
)
SEARCH_INDEXES_DROP = (
    "DROP INDEX IF EXISTS ix_organisation_search_name",
    "DROP INDEX IF EXISTS ix_organisation_search_geo",
)
SQLITE_CREATE = SQLITE_CREATE + SEARCH_INDEXES
SQLITE_DROP = SEARCH_INDEXES_DROP + (
    "DROP TRIGGER IF EXISTS organisation_fts_trigram_au",
    "DROP TRIGGER IF EXISTS organisation_fts_trigram_ad",
    "DROP TRIGGER IF EXISTS organisation_fts_trigram_ai",
    "DROP TABLE IF EXISTS organisation_fts_trigram",
    "DROP TRIGGER IF EXISTS organisation_fts_au",
    "DROP TRIGGER IF EXISTS organisation_fts_ad",
    "DROP TRIGGER IF EXISTS organisation_fts_ai",
    "DROP TABLE IF EXISTS organisation_fts",
)
SQLITE_REBUILD = (
    "INSERT INTO organisation_fts(organisation_fts) VALUES ('rebuild')",
    "INSERT INTO organisation_fts_trigram(organisation_fts_trigram) VALUES ('rebuild')",
)

_PG_DOCUMENT = " || ' ' || ".join(f"coalesce({c}, '')" for c in TEXT_COLUMNS)
POSTGRES_CREATE = (
    f"ALTER TABLE organisation ADD COLUMN IF NOT EXISTS search_vector tsvector "
    f"GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, {_PG_DOCUMENT})) STORED",
    "CREATE INDEX IF NOT EXISTS ix_organisation_search_vector ON organisation USING gin (search_vector)",
    *SEARCH_INDEXES,
)
POSTGRES_DROP = SEARCH_INDEXES_DROP + (
    "DROP INDEX IF EXISTS ix_organisation_search_vector",
    "ALTER TABLE organisation DROP COLUMN IF EXISTS search_vector",
)


def is_search_index_object(name: str | None, type_: str) -> bool:
    """True for the full-text objects that live outside the models.

    For Alembic's ``include_object`` hook and the migration-versus-model comparison: the FTS5
    tables and their shadow tables (``organisation_fts*``) on SQLite, the generated column
    ``organisation.search_vector`` on PostgreSQL, and the indexes ``ix_organisation_search_*``
    (the GIN index on PostgreSQL, two covering indexes on both).
    """
    if not name:
        return False
    if type_ == "table":
        return name == SEARCH_INDEX_TABLE or name.startswith(SEARCH_INDEX_TABLE + "_")
    if type_ == "column":
        return name == SEARCH_VECTOR_COLUMN
    if type_ == "index":
        return name.startswith(SEARCH_INDEX_PREFIX)
    return False


def ensure_search_index(connection: sa.Connection) -> None:
    """Create the full-text objects if missing (idempotent; the same SQL as migration 0002)."""
    dialect = connection.dialect.name
    statements = (
        SQLITE_CREATE if dialect == "sqlite" else POSTGRES_CREATE if dialect == "postgresql" else ()
    )
    for statement in statements:
        connection.exec_driver_sql(statement)


def drop_search_index(connection: sa.Connection) -> None:
    """Remove the full-text objects (before the tables are dropped)."""
    dialect = connection.dialect.name
    statements = (
        SQLITE_DROP if dialect == "sqlite" else POSTGRES_DROP if dialect == "postgresql" else ()
    )
    for statement in statements:
        connection.exec_driver_sql(statement)


def rebuild_search_index(connection: sa.Connection) -> None:
    """Re-read every organisation into the index (after rows were written with triggers off)."""
    ensure_search_index(connection)
    if connection.dialect.name == "sqlite":
        for statement in SQLITE_REBUILD:
            connection.exec_driver_sql(statement)
    # PostgreSQL's generated column is always current.


def _after_create(target: sa.MetaData, connection: sa.Connection, **kw: Any) -> None:
    if "organisation" in target.tables:
        ensure_search_index(connection)


def _before_drop(target: sa.MetaData, connection: sa.Connection, **kw: Any) -> None:
    inspector = sa.inspect(connection)
    if inspector.has_table("organisation"):
        drop_search_index(connection)


if not event.contains(db.metadata, "after_create", _after_create):
    event.listen(db.metadata, "after_create", _after_create)
    event.listen(db.metadata, "before_drop", _before_drop)


# --------------------------------------------------------------------------- parameters

MAX_PER_PAGE = 100
DEFAULT_PER_PAGE = 20
#: OFFSET must stay a small integer on every database.
MAX_PAGE = 10_000
MAX_QUERY_LENGTH = 200
MAX_RADIUS_KM = 200.0
DEFAULT_RADIUS_KM = 20.0
RADIUS_CHOICES = (5, 10, 20, 30, 50, 100)
SORTS = ("name", "distance")
_MAX_TOKENS = 8
_WORD = re.compile(r"[^\W_]+")


@cache
def _municipality_index() -> dict[str, Any]:
    return {m.ags: m for m in load_municipalities()}


@cache
def _kreis_members() -> dict[str, tuple[str, ...]]:
    members: dict[str, list[str]] = {k["kreis_ags"]: [] for k in load_kreise()}
    for m in load_municipalities():
        members.setdefault(m.kreis_ags, []).append(m.ags)
    return {k: tuple(v) for k, v in members.items()}


class SearchParamError(ValueError):
    """Some query parameters are unusable; ``errors`` maps each to a message for the user."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class SearchParams:
    """A validated directory query (the HTML form and the API share it)."""

    q: str = ""
    kinds: tuple[str, ...] = ()
    ags: tuple[str, ...] = ()
    kreise: tuple[str, ...] = ()
    model_regions: tuple[str, ...] = ()
    offers: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()
    near: str = ""
    lat: float | None = None
    lon: float | None = None
    radius_km: float | None = None
    sort: str = "name"
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE

    @property
    def centre(self) -> tuple[float, float] | None:
        """The centre of the radius search: an exact point, else the chosen municipality."""
        if self.lat is not None and self.lon is not None:
            return (self.lat, self.lon)
        if self.near:
            place = _municipality_index()[self.near]
            return (place.latitude, place.longitude)
        return None

    def as_args(self) -> dict[str, Any]:
        """Query-string arguments that reproduce this search (for links and pagination)."""
        args: dict[str, Any] = {}
        if self.q:
            args["q"] = self.q
        for key, values in (
            ("kind", self.kinds),
            ("ags", self.ags),
            ("kreis", self.kreise),
            ("model_region", self.model_regions),
            ("offers", self.offers),
            ("needs", self.needs),
        ):
            if values:
                args[key] = list(values)
        if self.near:
            args["near"] = self.near
        if self.lat is not None and self.lon is not None:
            args["lat"] = self.lat
            args["lon"] = self.lon
        if self.radius_km is not None:
            args["radius_km"] = _format_number(self.radius_km)
        if self.sort != ("distance" if self.centre else "name"):
            args["sort"] = self.sort
        if self.per_page != DEFAULT_PER_PAGE:
            args["per_page"] = self.per_page
        return args


def _format_number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _raw(args: Mapping[str, Any], key: str) -> list[str]:
    getlist = getattr(args, "getlist", None)
    if getlist is not None:
        return [str(v) for v in getlist(key)]
    value = args.get(key)
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, (list, tuple)) else [str(value)]


def _values(args: Mapping[str, Any], key: str) -> list[str]:
    # Repeated parameters and comma-separated lists are both accepted.
    return [part.strip() for value in _raw(args, key) for part in value.split(",") if part.strip()]


def _one(args: Mapping[str, Any], key: str) -> str:
    raw = _raw(args, key)
    return raw[-1].strip() if raw else ""


def _number(text: str, errors: dict[str, str], key: str, message: str) -> float | None:
    if not text:
        return None
    try:
        value = float(text.replace(",", "."))
    except ValueError:
        errors[key] = message
        return None
    if not math.isfinite(value):
        errors[key] = message
        return None
    return value


def _integer(
    text: str, errors: dict[str, str], key: str, default: int, low: int, high: int, message: str
) -> int:
    if not text:
        return default
    if not re.fullmatch(r"[+]?\d{1,9}", text):
        errors[key] = message
        return default
    value = int(text)
    if not low <= value <= high:
        errors[key] = message
        return default
    return value


def _codes(
    args: Mapping[str, Any], key: str, known: Any, errors: dict[str, str], message: str
) -> tuple[str, ...]:
    values = _values(args, key)
    unknown = [v for v in values if v not in known]
    if unknown:
        errors[key] = message % {"values": ", ".join(unknown[:5])}
    return tuple(dict.fromkeys(v for v in values if v in known))


def parse_search_args(
    args: Mapping[str, Any], *, default_per_page: int = DEFAULT_PER_PAGE
) -> SearchParams:
    """Validate directory query parameters (a ``request.args`` MultiDict or a plain dict).

    Raises
    ------
    SearchParamError
        With a German (or English, by locale) message per unusable parameter.
    """
    errors: dict[str, str] = {}
    q = _one(args, "q")
    if "\x00" in q or len(q) > MAX_QUERY_LENGTH:
        errors["q"] = _("Der Suchtext darf höchstens %(n)s Zeichen lang sein.", n=MAX_QUERY_LENGTH)
        q = ""
    kinds = _codes(args, "kind", ORGANISATION_KINDS, errors, _("Unbekannte Art: %(values)s."))
    ags = _codes(
        args, "ags", _municipality_index(), errors, _("Unbekannte Gemeinde (AGS): %(values)s.")
    )
    kreise = _codes(args, "kreis", _kreis_members(), errors, _("Unbekannter Kreis: %(values)s."))
    regions = _codes(
        args, "model_region", MODEL_REGIONS, errors, _("Unbekannte Modellregion: %(values)s.")
    )
    offers = _codes(args, "offers", TAGS, errors, _("Unbekanntes Angebot: %(values)s."))
    needs = _codes(args, "needs", TAGS, errors, _("Unbekannter Bedarf: %(values)s."))

    near = _one(args, "near")
    if near and near not in _municipality_index():
        errors["near"] = _("Unbekannte Gemeinde (AGS): %(values)s.", values=near)
        near = ""
    lat = _number(
        _one(args, "lat"), errors, "lat", _("Die Breite muss eine Zahl zwischen -90 und 90 sein.")
    )
    lon = _number(
        _one(args, "lon"), errors, "lon", _("Die Länge muss eine Zahl zwischen -180 und 180 sein.")
    )
    if lat is not None and not -90.0 <= lat <= 90.0:
        errors["lat"] = _("Die Breite muss eine Zahl zwischen -90 und 90 sein.")
        lat = None
    if lon is not None and not -180.0 <= lon <= 180.0:
        errors["lon"] = _("Die Länge muss eine Zahl zwischen -180 und 180 sein.")
        lon = None
    if (lat is None) != (lon is None) and "lat" not in errors and "lon" not in errors:
        errors["lat" if lat is None else "lon"] = _("Bitte geben Sie Breite und Länge zusammen an.")
        lat = lon = None
    if near and lat is not None:
        errors["near"] = _(
            "Bitte wählen Sie entweder eine Gemeinde oder einen Punkt als Mittelpunkt."
        )
    has_centre = bool(near) or (lat is not None and lon is not None)

    radius = _number(
        _one(args, "radius_km"),
        errors,
        "radius_km",
        _("Der Umkreis muss eine Zahl zwischen 0 und %(max)s km sein.", max=int(MAX_RADIUS_KM)),
    )
    if radius is not None and not 0.0 < radius <= MAX_RADIUS_KM:
        errors["radius_km"] = _(
            "Der Umkreis muss eine Zahl zwischen 0 und %(max)s km sein.", max=int(MAX_RADIUS_KM)
        )
        radius = None
    if radius is not None and not has_centre and "radius_km" not in errors:
        errors["radius_km"] = _(
            "Für den Umkreis wählen Sie bitte eine Gemeinde oder einen Punkt als Mittelpunkt."
        )
    if has_centre and radius is None:
        radius = DEFAULT_RADIUS_KM

    sort = _one(args, "sort") or ("distance" if has_centre else "name")
    if sort not in SORTS:
        errors["sort"] = _("Sortierung nach „name“ oder „distance“.")
        sort = "name"
    elif sort == "distance" and not has_centre:
        errors["sort"] = _("Nach Entfernung sortieren geht nur mit einem Mittelpunkt.")

    page = _integer(
        _one(args, "page"),
        errors,
        "page",
        1,
        1,
        MAX_PAGE,
        _("Die Seite muss eine Zahl von 1 bis %(max)s sein.", max=MAX_PAGE),
    )
    per_page = _integer(
        _one(args, "per_page"),
        errors,
        "per_page",
        default_per_page,
        1,
        MAX_PER_PAGE,
        _("Pro Seite sind 1 bis %(max)s Einträge möglich.", max=MAX_PER_PAGE),
    )
    if errors:
        raise SearchParamError(errors)
    return SearchParams(
        q=q,
        kinds=kinds,
        ags=ags,
        kreise=kreise,
        model_regions=regions,
        offers=offers,
        needs=needs,
        near=near,
        lat=lat,
        lon=lon,
        radius_km=radius,
        sort=sort,
        page=page,
        per_page=per_page,
    )


# --------------------------------------------------------------------------- searching


def text_tokens(query: str) -> list[str]:
    """The words of a search text: letters and digits only, at least two characters, at most 8.

    Everything else (quotes, operators, ``*``) is dropped, so user input can never become FTS5 or
    ``tsquery`` syntax.

    >>> text_tokens('Haus-Arzt "Lengerich" OR *x')
    ['haus', 'arzt', 'lengerich', 'or']
    """
    tokens = [w.lower()[:40] for w in _WORD.findall(query or "") if len(w) >= 2]
    return list(dict.fromkeys(tokens))[:_MAX_TOKENS]


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@cache
def _place_words() -> tuple[tuple[str, tuple[str, ...]], ...]:
    return tuple(
        (m.ags, tuple(_fold(w) for w in _WORD.findall(m.name))) for m in load_municipalities()
    )


def _places_starting_with(token: str) -> list[str]:
    """AGS codes of municipalities with a word of their name starting with ``token``."""
    folded = _fold(token)
    return [ags for ags, words in _place_words() if any(w.startswith(folded) for w in words)]


def _sqlite_token_rows(token: str, n: int) -> tuple[str, list[sa.BindParameter[Any]]]:
    """SQLite: the row ids matching one word, as one UNION (see :func:`_token_condition`)."""
    sources = [f"SELECT rowid FROM organisation_fts WHERE organisation_fts MATCH :fts_{n}"]
    binds = [sa.bindparam(f"fts_{n}", f'"{token}"*')]
    if len(token) >= 3:
        sources.append(
            f"SELECT rowid FROM organisation_fts_trigram WHERE organisation_fts_trigram MATCH :tri_{n}"
        )
        binds.append(sa.bindparam(f"tri_{n}", f'"{token}"'))
    places = _places_starting_with(token)
    if places:
        sources.append(f"SELECT id FROM organisation WHERE ags IN :places_{n}")
        binds.append(sa.bindparam(f"places_{n}", places, expanding=True))
    return " UNION ".join(sources), binds


def _token_condition(token: str, dialect: str, n: int, columns: _Columns) -> sa.ColumnElement[bool]:
    """One word of the query: a word prefix in the texts, part of the name, or the place's name.

    German compounds make the second necessary ("praxis" finds "Gemeinschaftspraxis"); the
    third lets "Praxis Lengerich" find practices in Lengerich.
    """
    parts: list[sa.ColumnElement[bool]] = []
    if dialect == "postgresql":
        parts.append(
            sa.text(
                f"organisation.search_vector @@ to_tsquery('simple'::regconfig, :ts_{n})"
            ).bindparams(**{f"ts_{n}": f"{token}:*"})
        )
        if len(token) >= 3:
            parts.append(Organisation.name.ilike(f"%{token}%"))
    else:  # any other database: slow but correct substring search
        parts.extend(sa.func.lower(getattr(Organisation, c)).contains(token) for c in TEXT_COLUMNS)
    places = _places_starting_with(token)
    if places:
        parts.append(columns.ags.in_(places))
    return sa.or_(*parts)


def _text_condition(
    tokens: Sequence[str], dialect: str, columns: _Columns
) -> sa.ColumnElement[bool]:
    """All words of the query must match (see :func:`_token_condition`)."""
    if dialect == "sqlite":
        # One IN over the INTERSECT of each word's UNION of row ids: SQLite can drive a query
        # from it (a rare word touches only its rows), and no word's matches are probed one by
        # one against another's. Separate INs or an OR would make SQLite scan instead.
        unions, binds = [], []
        for n, token in enumerate(tokens):
            rows, token_binds = _sqlite_token_rows(token, n)
            unions.append(f"SELECT rowid FROM ({rows})" if len(tokens) > 1 else rows)
            binds.extend(token_binds)
        select = sa.text(" INTERSECT ".join(unions)).bindparams(*binds)
        return columns.id_for_text.in_(select.columns(sa.column("rowid", sa.Integer)))
    # Each word gets its own bind-parameter names: text() clauses share a namespace.
    return sa.and_(*(_token_condition(t, dialect, n, columns) for n, t in enumerate(tokens)))


def _ags_filter(params: SearchParams) -> set[str] | None:
    """Municipality, district and model region narrow to one AGS set (``None``: no restriction)."""
    allowed: set[str] | None = None
    for group in (
        set(params.ags) if params.ags else None,
        {a for k in params.kreise for a in _kreis_members()[k]} if params.kreise else None,
        {a for r in params.model_regions for a in MODEL_REGIONS[r][1]}
        if params.model_regions
        else None,
    ):
        if group is not None:
            allowed = group if allowed is None else allowed & group
    return allowed


@dataclass(frozen=True)
class _Columns:
    """The columns as the WHERE clause names them: plain, or (SQLite) hidden from the planner."""

    id_for_sets: Any
    id_for_text: Any
    kind: Any
    ags: Any
    visibility: Any


#: Which index a SQLite query should start from (see :func:`_columns`).
_Driver = Literal["geo", "text", "name"]

#: Above this many text matches, a page in name order is cheaper to find by walking the name
#: index than by sorting every match (measured at 100,000 organisations: the walk costs ~15 ms
#: whatever the word, sorting ~1 ms per 1,000 matches).
_TEXT_DRIVES_BELOW = 10_000


def _columns(dialect: str, driver: _Driver) -> _Columns:
    """Steer SQLite's planner, which has no statistics unless someone ran ANALYZE.

    ``geo``: a radius search is driven by the covering index ``ix_organisation_search_geo`` (its
    cost is bounded by the organisations in the bounding box). ``text``: the matches of the
    query's words drive (cheap for rare words). ``name``: the public list is walked in name
    order (``ix_organisation_search_name``), the right plan for a page of a common word. Every
    column that must not drive is written as ``+column`` or ``id + 0``, which SQLite cannot use
    as an index. Large tag lists never drive a query (a row lookup per tagged organisation).
    """
    if dialect != "sqlite":
        o = Organisation
        return _Columns(o.id, o.id, o.kind, o.ags, o.visibility)
    unindexed_id = Organisation.id + 0
    o = Organisation
    if driver == "name":
        return _Columns(unindexed_id, unindexed_id, o.kind, o.ags, o.visibility)

    def plus(column: Any) -> Any:
        return sa.literal_column(f"+organisation.{column.key}", column.type)

    return _Columns(
        unindexed_id,
        o.id if driver == "text" else unindexed_id,
        plus(Organisation.kind),
        plus(Organisation.ags),
        plus(Organisation.visibility),
    )


def _conditions(
    params: SearchParams, include_members_only: bool, dialect: str, driver: _Driver
) -> list[sa.ColumnElement[bool]]:
    columns = _columns(dialect, driver)
    conditions: list[sa.ColumnElement[bool]] = []
    if not include_members_only:
        conditions.append(columns.visibility == "public")
    if params.kinds:
        conditions.append(columns.kind.in_(params.kinds))
    allowed = _ags_filter(params)
    if allowed is not None:
        conditions.append(columns.ags.in_(sorted(allowed)) if allowed else sa.false())
    for direction, tags in (("offer", params.offers), ("need", params.needs)):
        if tags:
            # Any of the chosen tags: the lookup index (direction, tag, organisation_id) answers it.
            conditions.append(
                columns.id_for_sets.in_(
                    sa.select(OrganisationTag.organisation_id).where(
                        OrganisationTag.direction == direction, OrganisationTag.tag.in_(tags)
                    )
                )
            )
    tokens = text_tokens(params.q)
    if tokens:
        conditions.append(_text_condition(tokens, dialect, columns))
    return conditions


@dataclass(frozen=True)
class SearchHit:
    organisation: Organisation
    distance_km: float | None = None


class ResultPage(Pagination):
    """A page of :class:`SearchHit`; works with the ``pagination`` template macro."""

    def __init__(self, hits: list[SearchHit], total: int, params: SearchParams) -> None:
        self.params = params
        super().__init__(
            page=params.page,
            per_page=params.per_page,
            max_per_page=MAX_PER_PAGE,
            error_out=False,
            hits=hits,
            total=total,
        )

    def _query_items(self) -> list[SearchHit]:
        return self._query_args["hits"]

    def _query_count(self) -> int:
        return self._query_args["total"]


@dataclass
class _Ranked:
    ids: list[int] = field(default_factory=list)
    distances: dict[int, float] = field(default_factory=dict)
    total: int = 0


def _rank_within_radius(params: SearchParams, conditions: list[sa.ColumnElement[bool]]) -> _Ranked:
    lat, lon = params.centre  # type: ignore[misc]
    radius = params.radius_km or DEFAULT_RADIUS_KM
    min_lat, max_lat, min_lon, max_lon = bounding_box(lat, lon, radius)
    box = [
        Organisation.latitude.between(min_lat, max_lat),
        Organisation.longitude.between(min_lon, max_lon),
    ]
    columns = [Organisation.id, Organisation.latitude, Organisation.longitude]
    if params.sort == "name":
        columns.append(Organisation.name)
    # Core, not the ORM: a wide radius returns tens of thousands of plain tuples, and the ORM's
    # per-row bookkeeping would cost five times the query itself.
    rows = db.session.connection().execute(sa.select(*columns).where(*conditions, *box)).all()
    if not rows:
        return _Ranked()
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    lats = np.fromiter((r[1] for r in rows), dtype=np.float64, count=len(rows))
    lons = np.fromiter((r[2] for r in rows), dtype=np.float64, count=len(rows))
    distances = np.atleast_1d(haversine_km(lat, lon, lats, lons))
    inside = np.flatnonzero(distances <= radius)
    if params.sort == "name":
        order = sorted(inside.tolist(), key=lambda i: (rows[i][3], rows[i][0]))
    else:
        order = inside[np.lexsort((ids[inside], distances[inside]))].tolist()
    start = (params.page - 1) * params.per_page
    chosen = order[start : start + params.per_page]
    return _Ranked(
        ids=[int(ids[i]) for i in chosen],
        distances={int(ids[i]): float(distances[i]) for i in chosen},
        total=len(order),
    )


def _rank_by_name(
    params: SearchParams, conditions_for: Callable[[_Driver], list[sa.ColumnElement[bool]]]
) -> _Ranked:
    """A page in name order; with a text query, SQLite counts from the matches and then picks
    the cheaper way to the page (see :data:`_TEXT_DRIVES_BELOW`)."""
    has_text = bool(text_tokens(params.q))
    counting = conditions_for("text" if has_text else "name")
    total = (
        db.session.scalar(sa.select(sa.func.count()).select_from(Organisation).where(*counting))
        or 0
    )
    start = (params.page - 1) * params.per_page
    if start >= total:
        return _Ranked(total=total)
    paging = counting if has_text and total < _TEXT_DRIVES_BELOW else conditions_for("name")
    ids = db.session.scalars(
        sa.select(Organisation.id)
        .where(*paging)
        .order_by(Organisation.name, Organisation.id)
        .offset(start)
        .limit(params.per_page)
    ).all()
    return _Ranked(ids=list(ids), total=total)


def search_organisations(params: SearchParams, *, include_members_only: bool = False) -> ResultPage:
    """One page of organisations matching ``params``, with distances when a centre is given.

    Parameters
    ----------
    params : SearchParams
        From :func:`parse_search_args`.
    include_members_only : bool, optional (default=False)
        Also find organisations visible to logged-in users only (``visibility == "members"``).
    """
    dialect = db.session.get_bind().dialect.name

    def conditions_for(driver: _Driver) -> list[sa.ColumnElement[bool]]:
        return _conditions(params, include_members_only, dialect, driver)

    ranked = (
        _rank_within_radius(params, conditions_for("geo"))
        if params.centre is not None
        else _rank_by_name(params, conditions_for)
    )
    hits: list[SearchHit] = []
    if ranked.ids:
        loaded = {
            o.id: o
            for o in db.session.scalars(
                sa.select(Organisation).where(Organisation.id.in_(ranked.ids))
            ).unique()
        }
        hits = [SearchHit(loaded[i], ranked.distances.get(i)) for i in ranked.ids if i in loaded]
    return ResultPage(hits, ranked.total, params)
