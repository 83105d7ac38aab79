"""The OpenAPI 3.0 document of the read API, assembled from the paths each area registers.

Another area adds its operations at import time::

    from network.api.spec import register_paths

    register_paths(
        {"/api/v1/positions": {"get": {"summary": "...", "parameters": [...], "responses": {...}}}},
        {"Position": {"type": "object", "properties": {...}}},
    )

Paths are absolute (``/api/v1/...``). Shared pieces may be referenced with ``$ref``:
``#/components/parameters/page`` and ``.../per_page``, ``#/components/schemas/Error`` and
``.../PageLinks``, ``#/components/responses/BadRequest`` and ``.../NotFound``.
"""

from __future__ import annotations

import copy
from typing import Any

from network.reference import load_kreise, load_municipalities
from network.vocabulary import MODEL_REGIONS, ORGANISATION_KINDS, TAGS

__all__ = ["register_paths", "build_spec", "OPENAPI_VERSION", "API_VERSION"]

OPENAPI_VERSION = "3.0.3"
API_VERSION = "1.0.0"

_paths: dict[str, dict[str, Any]] = {}
_schemas: dict[str, dict[str, Any]] = {}


def register_paths(
    paths: dict[str, dict[str, Any]], schemas: dict[str, dict[str, Any]] | None = None
) -> None:
    """Add path items (merged per path, by method) and component schemas to the document.

    Raises
    ------
    ValueError
        When a path's method or a schema name is registered twice with different content.
    """
    for path, item in paths.items():
        target = _paths.setdefault(path, {})
        for method, operation in item.items():
            if method in target and target[method] != operation:
                raise ValueError(f"{method.upper()} {path} is registered twice")
            target[method] = copy.deepcopy(operation)
    for name, schema in (schemas or {}).items():
        if name in _schemas and _schemas[name] != schema:
            raise ValueError(f"schema {name!r} is registered twice")
        _schemas[name] = copy.deepcopy(schema)


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return dict(schema, nullable=True)


_STRING = {"type": "string"}
_AGS_CODES = [m.ags for m in load_municipalities()]
_KREIS_CODES = [k["kreis_ags"] for k in load_kreise()]


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


#: The directory filters, shared by the HTML directory and ``/api/v1/organisations``.
ORGANISATION_PARAMETERS: list[dict[str, Any]] = [
    {
        "name": "q",
        "in": "query",
        "required": False,
        "description": "Suchtext: jedes Wort als Wortanfang in Name, Adresse, Beschreibung, Leistungen und "
        "Schlagwörtern, als Teil des Namens oder als Gemeindename.",
        "schema": {"type": "string", "maxLength": 200},
    },
    _array_param("kind", list(ORGANISATION_KINDS), "Art(en) der Organisation (eine genügt)."),
    _array_param("ags", _AGS_CODES, "Gemeinde(n) als 8-stelliger AGS."),
    _array_param("kreis", _KREIS_CODES, "Kreis(e) als 5-stelliger Schlüssel."),
    _array_param("model_region", list(MODEL_REGIONS), "KommKom-Modellregion(en)."),
    _array_param("offers", list(TAGS), "Bietet mindestens eines dieser Angebote."),
    _array_param("needs", list(TAGS), "Sucht mindestens einen dieser Bedarfe."),
    {
        "name": "near",
        "in": "query",
        "required": False,
        "description": "Mittelpunkt der Umkreissuche: AGS einer Gemeinde (deren Mitte). Nicht zusammen mit lat/lon.",
        "schema": {"type": "string", "enum": _AGS_CODES},
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
        "description": "Umkreis in km (Standard 20, wenn ein Mittelpunkt gegeben ist; braucht near oder lat/lon).",
        "schema": {"type": "number", "exclusiveMinimum": True, "minimum": 0, "maximum": 200},
    },
    {
        "name": "sort",
        "in": "query",
        "required": False,
        "description": "Sortierung; Standard: distance mit Mittelpunkt, sonst name.",
        "schema": {"type": "string", "enum": ["name", "distance"]},
    },
    {"$ref": "#/components/parameters/page"},
    {"$ref": "#/components/parameters/per_page"},
]

_ORGANISATION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": [
        "id",
        "name",
        "kind",
        "municipality",
        "location",
        "offers",
        "needs",
        "visibility",
        "synthetic",
        "url",
    ],
    "properties": {
        "id": {"type": "integer"},
        "external_id": _nullable(_STRING),
        "name": _STRING,
        "kind": {"type": "string", "enum": list(ORGANISATION_KINDS)},
        "kind_label": _STRING,
        "municipality": {"$ref": "#/components/schemas/MunicipalityRef"},
        "address": {
            "type": "object",
            "properties": {"street": _STRING, "postcode": _STRING},
        },
        "location": {
            "type": "object",
            "required": ["lat", "lon", "exact"],
            "properties": {
                "lat": {"type": "number"},
                "lon": {"type": "number"},
                "exact": {"type": "boolean", "description": "false: die Mitte der Gemeinde"},
            },
        },
        "distance_km": _nullable({"type": "number", "minimum": 0}),
        "contact": {
            "type": "object",
            "properties": {"name": _STRING, "email": _STRING, "phone": _STRING, "website": _STRING},
        },
        "description": _STRING,
        "services": _STRING,
        "staff_count": _nullable({"type": "integer", "minimum": 0}),
        "offers": {"type": "array", "items": {"type": "string"}},
        "needs": {"type": "array", "items": {"type": "string"}},
        "free_tags": {"type": "array", "items": _STRING},
        "visibility": {"type": "string", "enum": ["public", "members"]},
        "synthetic": {"type": "boolean", "description": "true: frei erfundene Demodaten"},
        "source": _STRING,
        "updated_at": {"type": "string", "format": "date-time"},
        "url": {"type": "string", "description": "Profilseite im Verzeichnis"},
    },
}

_BASE_SCHEMAS: dict[str, dict[str, Any]] = {
    "Error": {
        "type": "object",
        "required": ["error", "status"],
        "properties": {
            "error": {"description": "Kurzer Fehlercode oder Text"},
            "status": {"type": "integer"},
            "message": _STRING,
            "details": {
                "type": "object",
                "additionalProperties": _STRING,
                "description": "Fehlermeldung je ungültigem Parameter",
            },
        },
    },
    "PageLinks": {
        "type": "object",
        "properties": {"self": _STRING, "next": _nullable(_STRING), "prev": _nullable(_STRING)},
    },
    "MunicipalityRef": {
        "type": "object",
        "required": ["ags", "name"],
        "properties": {
            "ags": {"type": "string", "pattern": r"^\d{8}$"},
            "name": _STRING,
            "kreis": _STRING,
            "kreis_ags": _STRING,
            "model_region": _nullable(_STRING),
        },
    },
    "Organisation": _ORGANISATION_SCHEMA,
    "OrganisationPage": {
        "type": "object",
        "required": ["items", "page", "per_page", "total", "pages"],
        "properties": {
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/Organisation"}},
            "page": {"type": "integer", "minimum": 1},
            "per_page": {"type": "integer", "minimum": 1, "maximum": 100},
            "total": {"type": "integer", "minimum": 0},
            "pages": {"type": "integer", "minimum": 0},
            "links": {"$ref": "#/components/schemas/PageLinks"},
        },
    },
    "Municipality": {
        "type": "object",
        "required": ["ags", "name", "kreis", "lat", "lon", "population", "organisation_count"],
        "properties": {
            "ags": {"type": "string", "pattern": r"^\d{8}$"},
            "name": _STRING,
            "name_official": _STRING,
            "kreis": _STRING,
            "kreis_ags": _STRING,
            "lat": {"type": "number"},
            "lon": {"type": "number"},
            "population": {"type": "integer"},
            "area_km2": {"type": "number"},
            "model_region": _nullable(_STRING),
            "organisation_count": {"type": "integer", "minimum": 0},
            "source": _STRING,
        },
    },
    "MunicipalityPage": {
        "type": "object",
        "required": ["items", "page", "per_page", "total", "pages"],
        "properties": {
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/Municipality"}},
            "page": {"type": "integer", "minimum": 1},
            "per_page": {"type": "integer", "minimum": 1, "maximum": 100},
            "total": {"type": "integer", "minimum": 0},
            "pages": {"type": "integer", "minimum": 0},
            "links": {"$ref": "#/components/schemas/PageLinks"},
        },
    },
}

_PARAMETERS = {
    "page": {
        "name": "page",
        "in": "query",
        "required": False,
        "description": "Seite, ab 1.",
        "schema": {"type": "integer", "minimum": 1, "maximum": 10000, "default": 1},
    },
    "per_page": {
        "name": "per_page",
        "in": "query",
        "required": False,
        "description": "Einträge pro Seite (höchstens 100).",
        "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20},
    },
}


def _json(schema_name: str, description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {
            "application/json": {"schema": {"$ref": f"#/components/schemas/{schema_name}"}}
        },
    }


_RESPONSES = {
    "BadRequest": _json("Error", "Ungültige Parameter; details nennt jeden mit Grund."),
    "NotFound": _json("Error", "Nicht gefunden (oder nur für angemeldete Nutzer sichtbar)."),
}

register_paths(
    {
        "/api/v1/organisations": {
            "get": {
                "operationId": "listOrganisations",
                "tags": ["Verzeichnis"],
                "summary": "Organisationen suchen",
                "description": "Dieselbe Suche wie im Verzeichnis: Text, Filter, Umkreis, Sortierung, Seiten. "
                "Organisationen mit Sichtbarkeit „members“ erscheinen nur für angemeldete Nutzer (Sitzung).",
                "parameters": ORGANISATION_PARAMETERS,
                "responses": {
                    "200": _json("OrganisationPage", "Eine Seite Organisationen."),
                    "400": {"$ref": "#/components/responses/BadRequest"},
                },
            }
        },
        "/api/v1/organisations/{org_id}": {
            "get": {
                "operationId": "getOrganisation",
                "tags": ["Verzeichnis"],
                "summary": "Eine Organisation",
                "parameters": [
                    {
                        "name": "org_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "integer", "minimum": 1, "maximum": 2147483647},
                    }
                ],
                "responses": {
                    "200": _json("Organisation", "Die Organisation."),
                    "404": {"$ref": "#/components/responses/NotFound"},
                },
            }
        },
        "/api/v1/municipalities": {
            "get": {
                "operationId": "listMunicipalities",
                "tags": ["Gemeinden"],
                "summary": "Gemeinden des Münsterlands",
                "description": "Die 66 Städte und Gemeinden mit AGS, Kreis, Mittelpunkt, Einwohnern und der Zahl "
                "der (für Sie sichtbaren) Organisationen.",
                "parameters": [
                    {
                        "name": "q",
                        "in": "query",
                        "required": False,
                        "description": "Teil des Gemeindenamens.",
                        "schema": {"type": "string", "maxLength": 200},
                    },
                    _array_param("kreis", _KREIS_CODES, "Kreis(e) als 5-stelliger Schlüssel."),
                    _array_param("model_region", list(MODEL_REGIONS), "KommKom-Modellregion(en)."),
                    {"$ref": "#/components/parameters/page"},
                    {"$ref": "#/components/parameters/per_page"},
                ],
                "responses": {
                    "200": _json("MunicipalityPage", "Eine Seite Gemeinden."),
                    "400": {"$ref": "#/components/responses/BadRequest"},
                },
            }
        },
    },
    _BASE_SCHEMAS,
)


def build_spec() -> dict[str, Any]:
    """The complete OpenAPI document (a fresh copy each time)."""
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "Gesundheitsregion Münsterland – Lese-API",
            "version": API_VERSION,
            "description": "Öffentliche Daten des Netzwerks: Organisationen, Gemeinden und was andere Bereiche "
            "ergänzen. Nur lesend (GET). Listen sind seitenweise (page, per_page ≤ 100). Ungültige Parameter "
            "ergeben 400 mit einer Meldung je Parameter. Synthetische Demodaten tragen synthetic=true.",
            "license": {"name": "Daten der Gemeinden: dl-de/by-2-0 (siehe /ueber)"},
        },
        "servers": [{"url": "/"}],
        "paths": copy.deepcopy(dict(sorted(_paths.items()))),
        "components": {
            "schemas": copy.deepcopy(_schemas),
            "parameters": copy.deepcopy(_PARAMETERS),
            "responses": copy.deepcopy(_RESPONSES),
        },
    }


def _resolve(spec: dict[str, Any], item: dict[str, Any]) -> dict[str, Any]:
    ref = item.get("$ref")
    if not ref:
        return item
    node: Any = spec
    for part in ref.lstrip("#/").split("/"):
        node = node[part]
    return node


def _schema_summary(schema: dict[str, Any]) -> str:
    if schema.get("type") == "array":
        inner = schema.get("items", {})
        return "[" + _schema_summary(inner) + ", …]"
    if "enum" in schema:
        values = [str(v) for v in schema["enum"]]
        return " | ".join(values[:6]) + (" | …" if len(values) > 6 else "")
    text = schema.get("type", "any")
    bounds = [f"{k} {schema[k]}" for k in ("minimum", "maximum", "maxLength") if k in schema]
    return text + (f" ({', '.join(bounds)})" if bounds else "")


def describe_operations(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """Operations with resolved parameters and responses, for the human-readable API page."""
    operations = []
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            parameters = [_resolve(spec, p) for p in operation.get("parameters", [])]
            operations.append(
                {
                    "path": path,
                    "method": method.upper(),
                    "summary": operation.get("summary", ""),
                    "description": operation.get("description", ""),
                    "parameters": [
                        {
                            "name": p["name"],
                            "in": p["in"],
                            "required": p.get("required", False),
                            "schema": _schema_summary(p.get("schema", {})),
                            "description": p.get("description", ""),
                        }
                        for p in parameters
                    ],
                    "responses": {
                        code: _resolve(spec, response).get("description", "")
                        for code, response in operation.get("responses", {}).items()
                    },
                }
            )
    return operations


__all__ += ["describe_operations"]
