"""``/api/v1/positions``: the region's open jobs and placements as JSON, for municipal websites.

The same filters as the search page (type, profession, radius around a municipality or a point,
start, employer offers), public ordering (nearest first with a centre, else earliest start) and
pagination. Only open positions before their deadline are ever listed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date
from typing import Any

from flask import jsonify, url_for
from flask import request as flask_request
from flask_babel import gettext as _
from werkzeug.routing import BuildError

from network.api import bp
from network.api.spec import register_paths
from network.extensions import db
from network.models import Municipality, Position
from network.positions import services
from network.positions.catalogue import profession_label, professions
from network.reference import load_municipalities
from network.vocabulary import EMPLOYER_BENEFITS, POSITION_STATUSES, POSITION_TYPES, label

__all__ = ["positions", "position", "parse_position_args", "position_json"]

MAX_PER_PAGE = 100
MAX_PAGE = 10000
MAX_RADIUS_KM = 200.0


class PositionParamError(ValueError):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def _values(args: Mapping[str, Any], key: str) -> list[str]:
    getlist = getattr(args, "getlist", None)
    raw = getlist(key) if getlist else ([args[key]] if key in args else [])
    return [part.strip() for value in raw for part in str(value).split(",") if part.strip()]


def _single(args: Mapping[str, Any], key: str) -> str | None:
    values = _values(args, key)
    return values[-1] if values else None


def _number(
    text: str | None, key: str, errors: dict[str, str], low: float, high: float
) -> float | None:
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        errors[key] = _("keine Zahl")
        return None
    if not math.isfinite(value) or not low <= value <= high:
        errors[key] = _("muss zwischen %(low)s und %(high)s liegen", low=low, high=high)
        return None
    return value


def _integer(text: str | None, key: str, errors: dict[str, str], default: int, high: int) -> int:
    if text is None:
        return default
    if not text.isdigit() or not 1 <= int(text) <= high:
        errors[key] = _("muss eine ganze Zahl von 1 bis %(high)s sein", high=high)
        return default
    return int(text)


def _codes(
    args: Mapping[str, Any], key: str, allowed: Any, errors: dict[str, str]
) -> tuple[str, ...]:
    values = _values(args, key)
    unknown = sorted({v for v in values if v not in allowed})
    if unknown:
        errors[key] = _("unbekannt: %(codes)s", codes=", ".join(unknown[:5]))
    return tuple(sorted({v for v in values if v in allowed}))


def parse_position_args(args: Mapping[str, Any]) -> tuple[services.SearchParams, int, int]:
    """Read and check the query; raises :class:`PositionParamError` naming each bad parameter."""
    errors: dict[str, str] = {}
    position_types = _codes(args, "type", POSITION_TYPES, errors)
    wanted_professions = _codes(args, "profession", professions(), errors)
    benefits = _codes(args, "benefit", EMPLOYER_BENEFITS, errors)
    near = _single(args, "near")
    if near is not None and near not in {m.ags for m in load_municipalities()}:
        errors["near"] = _("keine Gemeinde des Münsterlands (8-stelliger AGS)")
        near = None
    lat = _number(_single(args, "lat"), "lat", errors, -90, 90)
    lon = _number(_single(args, "lon"), "lon", errors, -180, 180)
    if (lat is None) != (lon is None) and "lat" not in errors and "lon" not in errors:
        errors["lat" if lat is None else "lon"] = _("lat und lon nur zusammen")
    if near is not None and lat is not None:
        errors["near"] = _("entweder near oder lat/lon")
    radius = None
    raw_radius = _single(args, "radius_km")
    if raw_radius is not None:
        radius = _number(raw_radius, "radius_km", errors, 0, MAX_RADIUS_KM)
        if radius is not None and radius <= 0:
            errors["radius_km"] = _("muss größer als 0 sein")
        if near is None and (lat is None or lon is None) and "radius_km" not in errors:
            errors["radius_km"] = _("braucht einen Mittelpunkt (near oder lat/lon)")
    start = None
    raw_start = _single(args, "start_from")
    if raw_start is not None:
        try:
            start = date.fromisoformat(raw_start)
        except ValueError:
            errors["start_from"] = _("kein Datum (JJJJ-MM-TT)")
    page = _integer(_single(args, "page"), "page", errors, 1, MAX_PAGE)
    per_page = _integer(_single(args, "per_page"), "per_page", errors, 20, MAX_PER_PAGE)
    if errors:
        raise PositionParamError(errors)
    point = (lat, lon) if lat is not None and lon is not None else None
    params = services.SearchParams(
        position_types=position_types,
        professions=wanted_professions,
        ags=near,
        radius_km=radius,
        start_from=start,
        benefits=benefits,
        point=point,
    )
    return params, page, per_page


def _organisation_url(organisation_id: int) -> str | None:
    try:
        return url_for("directory.profile", org_id=organisation_id, _external=True)
    except BuildError:
        return None


def position_json(position: Position, distance_km: float | None = None) -> dict[str, Any]:
    """The public JSON form of a position."""
    organisation = position.organisation
    place: Municipality = organisation.municipality
    return {
        "id": position.id,
        "title": position.title,
        "type": position.position_type,
        "type_label": label(POSITION_TYPES, position.position_type, "de"),
        "profession": position.profession,
        "profession_label": profession_label(position.profession, "de"),
        "description": position.description or "",
        "seats": position.seats,
        "start_date": position.start_date.isoformat() if position.start_date else None,
        "end_date": position.end_date.isoformat() if position.end_date else None,
        "hours_per_week": position.hours_per_week,
        "requirements": sorted(position.requirements or ()),
        "requirements_text": position.requirements_text or "",
        "benefits": sorted(position.benefits or ()),
        "deadline": position.deadline.isoformat() if position.deadline else None,
        "status": position.status,
        "organisation": {
            "id": organisation.id,
            "name": organisation.name,
            "kind": organisation.kind,
            "url": _organisation_url(organisation.id),
        },
        "municipality": {
            "ags": place.ags,
            "name": place.name,
            "kreis": place.kreis,
            "kreis_ags": place.kreis_ags,
            "model_region": place.model_region,
        },
        "location": {"lat": position.latitude, "lon": position.longitude},
        "distance_km": None if distance_km is None else round(float(distance_km), 3),
        "synthetic": bool(position.synthetic),
        "created_at": position.created_at.isoformat() if position.created_at else None,
        "updated_at": position.updated_at.isoformat() if position.updated_at else None,
        "url": url_for("positions.detail", position_id=position.id, _external=True),
    }


def _links(args: dict[str, Any], page: int, pages: int) -> dict[str, str | None]:
    def at(number: int) -> str:
        return url_for("api.positions", **dict(args, page=number))

    return {
        "self": at(page),
        "next": at(page + 1) if page < pages else None,
        "prev": at(page - 1) if 1 < page <= pages + 1 else None,
    }


def _query_of(params: services.SearchParams, per_page: int) -> dict[str, Any]:
    query: dict[str, Any] = {"per_page": per_page}
    if params.position_types:
        query["type"] = list(params.position_types)
    if params.professions:
        query["profession"] = list(params.professions)
    if params.benefits:
        query["benefit"] = list(params.benefits)
    if params.ags:
        query["near"] = params.ags
    if params.point:
        query["lat"], query["lon"] = params.point
    if params.radius_km:
        query["radius_km"] = params.radius_km
    if params.start_from:
        query["start_from"] = params.start_from.isoformat()
    return query


def _json(payload: Any, status: int = 200):  # type: ignore[no-untyped-def]
    response = jsonify(payload)
    response.status_code = status
    # Embedded on other sites: the data is public, so any origin may read it.
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.cache_control.public = True
    response.cache_control.max_age = 300
    return response


#: Ids in URLs: larger numbers are no row of ours (and would overflow the database driver).
ID = "int(max=2147483647)"


@bp.route("/positions")
def positions():
    """Open positions: the search page's filters, nearest or earliest first, one page as JSON."""
    try:
        params, page, per_page = parse_position_args(flask_request.args)
    except PositionParamError as err:
        return jsonify(
            error="bad_request",
            status=400,
            message=_("Ungültige Parameter: %(names)s.", names=", ".join(sorted(err.errors))),
            details=err.errors,
        ), 400
    outcome = services.search_positions(params, seeker=None, page=page, per_page=per_page)
    total = outcome.total
    pages = math.ceil(total / per_page) if total else 0
    return _json(
        {
            "items": [position_json(r.position, r.distance_km) for r in outcome.results],
            "page": page,
            "per_page": per_page,
            "total": total,
            "pages": pages,
            "order": outcome.mode,
            "links": _links(_query_of(params, per_page), page, pages),
        }
    )


@bp.route(f"/positions/<{ID}:position_id>")
def position(position_id: int):
    """One open position (404 once it is filled, closed or past its deadline)."""
    row = db.session.get(Position, position_id)
    if row is None or row.status != "open" or services.is_expired(row):
        return _json(
            {
                "error": "not_found",
                "status": 404,
                "message": _("Dieses Angebot gibt es nicht (mehr)."),
            },
            404,
        )
    return _json(position_json(row))


# --------------------------------------------------------------------------- OpenAPI

_STRING = {"type": "string"}
_DATE = {"type": "string", "format": "date"}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return dict(schema, nullable=True)


def _array_param(name: str, enum: list[str], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "style": "form",
        "explode": True,
        "description": description,
        "schema": {"type": "array", "items": {"type": "string", "enum": enum}, "maxItems": 30},
    }


POSITION_PARAMETERS: list[dict[str, Any]] = [
    _array_param("type", list(POSITION_TYPES), "Art(en) des Angebots (eine genügt)."),
    _array_param("profession", list(professions()), "Beruf(e) als Code (einer genügt)."),
    _array_param(
        "benefit", list(EMPLOYER_BENEFITS), "Der Arbeitgeber bietet alle diese Leistungen."
    ),
    {
        "name": "near",
        "in": "query",
        "required": False,
        "description": "Mittelpunkt der Umkreissuche: AGS einer Gemeinde (deren Mitte). Nicht zusammen mit lat/lon.",
        "schema": {"type": "string", "enum": [m.ags for m in load_municipalities()]},
    },
    {
        "name": "lat",
        "in": "query",
        "required": False,
        "description": "Mittelpunkt der Umkreissuche: Breite in Grad (nur zusammen mit lon).",
        "schema": {"type": "number", "minimum": -90, "maximum": 90},
    },
    {
        "name": "lon",
        "in": "query",
        "required": False,
        "description": "Mittelpunkt der Umkreissuche: Länge in Grad (nur zusammen mit lat).",
        "schema": {"type": "number", "minimum": -180, "maximum": 180},
    },
    {
        "name": "radius_km",
        "in": "query",
        "required": False,
        "description": "Umkreis in km um near oder lat/lon; ohne Umkreis wird nur nach Entfernung sortiert.",
        "schema": {
            "type": "number",
            "exclusiveMinimum": True,
            "minimum": 0,
            "maximum": MAX_RADIUS_KM,
        },
    },
    {
        "name": "start_from",
        "in": "query",
        "required": False,
        "description": "Beginn frühestens an diesem Tag (Angebote mit Beginn nach Vereinbarung erscheinen immer).",
        "schema": _DATE,
    },
    {"$ref": "#/components/parameters/page"},
    {"$ref": "#/components/parameters/per_page"},
]

POSITION_SCHEMAS: dict[str, dict[str, Any]] = {
    "Position": {
        "type": "object",
        "required": [
            "id",
            "title",
            "type",
            "profession",
            "seats",
            "status",
            "organisation",
            "municipality",
            "location",
            "url",
        ],
        "properties": {
            "id": {"type": "integer"},
            "title": _STRING,
            "type": {"type": "string", "enum": list(POSITION_TYPES)},
            "type_label": _STRING,
            "profession": _STRING,
            "profession_label": _STRING,
            "description": _STRING,
            "seats": {"type": "integer", "minimum": 0},
            "start_date": _nullable(_DATE),
            "end_date": _nullable(_DATE),
            "hours_per_week": _nullable({"type": "number"}),
            "requirements": {
                "type": "array",
                "items": _STRING,
                "description": "driving_licence, lang:<ISO 639-1> oder Qualifikationscodes",
            },
            "requirements_text": _STRING,
            "benefits": {
                "type": "array",
                "items": {"type": "string", "enum": list(EMPLOYER_BENEFITS)},
            },
            "deadline": _nullable(_DATE),
            "status": {"type": "string", "enum": list(POSITION_STATUSES)},
            "organisation": {
                "type": "object",
                "required": ["id", "name", "kind"],
                "properties": {
                    "id": {"type": "integer"},
                    "name": _STRING,
                    "kind": _STRING,
                    "url": _nullable(_STRING),
                },
            },
            "municipality": {"$ref": "#/components/schemas/MunicipalityRef"},
            "location": {
                "type": "object",
                "required": ["lat", "lon"],
                "properties": {"lat": {"type": "number"}, "lon": {"type": "number"}},
            },
            "distance_km": _nullable({"type": "number", "minimum": 0}),
            "synthetic": {"type": "boolean", "description": "true: frei erfundene Demodaten"},
            "created_at": _nullable({"type": "string", "format": "date-time"}),
            "updated_at": _nullable({"type": "string", "format": "date-time"}),
            "url": {"type": "string", "description": "Seite des Angebots (mit Bewerbung)"},
        },
    },
    "PositionPage": {
        "type": "object",
        "required": ["items", "page", "per_page", "total", "pages", "order"],
        "properties": {
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/Position"}},
            "page": {"type": "integer", "minimum": 1},
            "per_page": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE},
            "total": {"type": "integer", "minimum": 0},
            "pages": {"type": "integer", "minimum": 0},
            "order": {
                "type": "string",
                "enum": ["distance", "date"],
                "description": "distance: nächste zuerst (mit Mittelpunkt); date: früheste zuerst",
            },
            "links": {"$ref": "#/components/schemas/PageLinks"},
        },
    },
}


def _response(schema_name: str, description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {
            "application/json": {"schema": {"$ref": f"#/components/schemas/{schema_name}"}}
        },
    }


register_paths(
    {
        "/api/v1/positions": {
            "get": {
                "operationId": "listPositions",
                "tags": ["Stellen"],
                "summary": "Offene Stellen und Praxiseinsätze",
                "description": "Dieselben Filter wie die Suche auf der Website. Nur offene Angebote vor Ablauf der "
                "Bewerbungsfrist. Mit Mittelpunkt (near oder lat/lon) die nächsten zuerst, sonst der früheste "
                "Beginn zuerst. Zum Einbinden auf Websites der Kommunen (CORS offen).",
                "parameters": POSITION_PARAMETERS,
                "responses": {
                    "200": _response("PositionPage", "Eine Seite offener Angebote."),
                    "400": {"$ref": "#/components/responses/BadRequest"},
                },
            }
        },
        "/api/v1/positions/{position_id}": {
            "get": {
                "operationId": "getPosition",
                "tags": ["Stellen"],
                "summary": "Ein offenes Angebot",
                "parameters": [
                    {
                        "name": "position_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "integer", "minimum": 1, "maximum": 2147483647},
                    }
                ],
                "responses": {
                    "200": _response("Position", "Das Angebot."),
                    "404": {"$ref": "#/components/responses/NotFound"},
                },
            }
        },
    },
    POSITION_SCHEMAS,
)
