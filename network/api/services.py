"""Read models of the API: search through the directory's service, serialise to plain JSON."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from flask import url_for
from flask_babel import gettext as _

from network.directory.search import (
    MAX_PAGE,
    MAX_PER_PAGE,
    ResultPage,
    SearchHit,
    SearchParamError,
    parse_search_args,
    search_organisations,
)
from network.extensions import db
from network.models import Municipality, Organisation
from network.reference import load_kreise
from network.vocabulary import MODEL_REGIONS, ORGANISATION_KINDS, label

__all__ = [
    "ApiParamError",
    "organisation_page",
    "organisation_json",
    "visible_organisation",
    "municipality_page",
]


class ApiParamError(ValueError):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def organisation_json(org: Organisation, distance_km: float | None = None) -> dict[str, Any]:
    """The public JSON form of an organisation (same fields as the profile page)."""
    place = org.municipality
    return {
        "id": org.id,
        "external_id": org.external_id,
        "name": org.name,
        "kind": org.kind,
        "kind_label": label(ORGANISATION_KINDS, org.kind, "de"),
        "municipality": {
            "ags": place.ags,
            "name": place.name,
            "kreis": place.kreis,
            "kreis_ags": place.kreis_ags,
            "model_region": place.model_region,
        },
        "address": {"street": org.street or "", "postcode": org.postcode or ""},
        "location": {"lat": org.latitude, "lon": org.longitude, "exact": bool(org.exact_location)},
        "distance_km": None if distance_km is None else round(distance_km, 3),
        "contact": {
            "name": org.contact_name or "",
            "email": org.contact_email or "",
            "phone": org.phone or "",
            "website": org.website or "",
        },
        "description": org.description or "",
        "services": org.services or "",
        "staff_count": org.staff_count,
        "offers": sorted(org.offers),
        "needs": sorted(org.needs),
        "free_tags": [t.strip() for t in (org.free_tags or "").split(",") if t.strip()],
        "visibility": org.visibility,
        "synthetic": bool(org.synthetic),
        "source": org.source or "",
        "updated_at": org.updated_at.isoformat() if org.updated_at else None,
        "url": url_for("directory.profile", org_id=org.id, _external=True),
    }


def _links(
    endpoint: str, args: dict[str, Any], page: int, pages: int, **values: Any
) -> dict[str, str | None]:
    def at(number: int) -> str:
        return url_for(endpoint, **dict(args, page=number), **values)

    return {
        "self": at(page),
        "next": at(page + 1) if page < pages else None,
        "prev": at(page - 1) if 1 < page <= pages + 1 else None,
    }


def _page_json(
    items: list[dict[str, Any]], page: int, per_page: int, total: int, links: dict
) -> dict[str, Any]:
    return {
        "items": items,
        "page": page,
        "per_page": per_page,
        "total": total,
        "pages": math.ceil(total / per_page) if total else 0,
        "links": links,
    }


def organisation_page(args: Mapping[str, Any], *, include_members_only: bool) -> dict[str, Any]:
    """``/api/v1/organisations``: the directory search as JSON.

    Raises
    ------
    ApiParamError
        For unusable parameters (message per parameter).
    """
    try:
        params = parse_search_args(args)
    except SearchParamError as err:
        raise ApiParamError(err.errors) from err
    result: ResultPage = search_organisations(params, include_members_only=include_members_only)
    hits: list[SearchHit] = result.items
    query = dict(params.as_args(), per_page=params.per_page)
    pages = result.pages
    return _page_json(
        [organisation_json(hit.organisation, hit.distance_km) for hit in hits],
        params.page,
        params.per_page,
        result.total or 0,
        _links("api.organisations", query, params.page, pages),
    )


def visible_organisation(org_id: int, *, include_members_only: bool) -> dict[str, Any] | None:
    """One organisation as JSON, or ``None`` when missing or hidden from this caller."""
    if not 0 < org_id <= 2**31 - 1:
        return None
    org = db.session.get(Organisation, org_id)
    if org is None or (org.visibility != "public" and not include_members_only):
        return None
    return organisation_json(org)


def _list(args: Mapping[str, Any], key: str) -> list[str]:
    getlist = getattr(args, "getlist", None)
    raw = getlist(key) if getlist else ([args[key]] if key in args else [])
    return [part.strip() for value in raw for part in str(value).split(",") if part.strip()]


def _int(
    args: Mapping[str, Any], key: str, default: int, high: int, errors: dict[str, str], message: str
) -> int:
    getlist = getattr(args, "getlist", None)
    raw = getlist(key) if getlist else ([args[key]] if key in args else [])
    text = str(raw[-1]).strip() if raw else ""
    if not text:
        return default
    if not re.fullmatch(r"\+?\d{1,9}", text) or not 1 <= int(text) <= high:
        errors[key] = message
        return default
    return int(text)


def municipality_page(args: Mapping[str, Any], *, include_members_only: bool) -> dict[str, Any]:
    """``/api/v1/municipalities``: filter by name, district and model region; with organisation counts."""
    errors: dict[str, str] = {}
    getlist = getattr(args, "getlist", None)
    raw_q = getlist("q") if getlist else ([args["q"]] if "q" in args else [])
    q = str(raw_q[-1]).strip() if raw_q else ""
    if len(q) > 200 or "\x00" in q:
        errors["q"] = _("Der Suchtext darf höchstens %(n)s Zeichen lang sein.", n=200)
        q = ""
    kreise = _list(args, "kreis")
    known_kreise = {k["kreis_ags"] for k in load_kreise()}
    if unknown := [k for k in kreise if k not in known_kreise]:
        errors["kreis"] = _("Unbekannter Kreis: %(values)s.", values=", ".join(unknown[:5]))
    regions = _list(args, "model_region")
    if unknown := [r for r in regions if r not in MODEL_REGIONS]:
        errors["model_region"] = _(
            "Unbekannte Modellregion: %(values)s.", values=", ".join(unknown[:5])
        )
    page = _int(
        args,
        "page",
        1,
        MAX_PAGE,
        errors,
        _("Die Seite muss eine Zahl von 1 bis %(max)s sein.", max=MAX_PAGE),
    )
    per_page = _int(
        args,
        "per_page",
        20,
        MAX_PER_PAGE,
        errors,
        _("Pro Seite sind 1 bis %(max)s Einträge möglich.", max=MAX_PER_PAGE),
    )
    if errors:
        raise ApiParamError(errors)

    conditions = []
    if q:
        escaped = q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        conditions.append(sa.func.lower(Municipality.name).like(f"%{escaped}%", escape="\\"))
    if kreise:
        conditions.append(Municipality.kreis_ags.in_(kreise))
    if regions:
        conditions.append(Municipality.model_region.in_(regions))
    total = (
        db.session.scalar(sa.select(sa.func.count()).select_from(Municipality).where(*conditions))
        or 0
    )
    rows = list(
        db.session.scalars(
            sa.select(Municipality)
            .where(*conditions)
            .order_by(Municipality.name, Municipality.ags)
            .offset((page - 1) * per_page)
            .limit(per_page)
        )
    )
    counted = sa.select(Organisation.ags, sa.func.count()).where(
        Organisation.ags.in_([m.ags for m in rows])
    )
    if not include_members_only:
        counted = counted.where(Organisation.visibility == "public")
    counts = dict(db.session.execute(counted.group_by(Organisation.ags)).all()) if rows else {}
    items = [
        {
            "ags": m.ags,
            "name": m.name,
            "name_official": m.name_official,
            "kreis": m.kreis,
            "kreis_ags": m.kreis_ags,
            "lat": m.latitude,
            "lon": m.longitude,
            "population": m.population,
            "area_km2": m.area_km2,
            "model_region": m.model_region,
            "organisation_count": int(counts.get(m.ags, 0)),
            "source": m.source or "",
        }
        for m in rows
    ]
    query: dict[str, Any] = {"per_page": per_page}
    if q:
        query["q"] = q
    if kreise:
        query["kreis"] = kreise
    if regions:
        query["model_region"] = regions
    pages = math.ceil(total / per_page) if total else 0
    return _page_json(
        items, page, per_page, total, _links("api.municipalities", query, page, pages)
    )
