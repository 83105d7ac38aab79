"""Toolbox services: store and serve marketing materials, build and save campaign pages.

Files live under ``UPLOAD_FOLDER/toolbox/`` with a random name; the original name is only
metadata. They are never executed or served from the static folder.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from flask import current_app, url_for
from flask_babel import lazy_gettext as _l

from network.audit import record
from network.extensions import db
from network.models import CampaignPage, Municipality, Organisation, Position, ToolboxItem
from network.reference import load_professions
from network.supply.analysis import PROVIDER_KINDS
from network.toolbox.files import CheckedFile, UploadRejected, inspect_upload, kind_name
from network.vocabulary import MODEL_REGIONS

__all__ = [
    "CATEGORIES",
    "JOB_TYPES",
    "TRAINING_TYPES",
    "UploadRejected",
    "CampaignView",
    "toolbox_overview",
    "store_item",
    "delete_item",
    "item_path",
    "upload_message",
    "campaign_view",
    "save_campaign",
    "delete_campaign",
    "scope_choices",
    "scope_of",
    "scope_label",
    "share_links",
]

CATEGORIES: dict[str, Any] = {
    "template": _l("Vorlage"),
    "text": _l("Text"),
    "image": _l("Bild"),
    "poster": _l("Plakat"),
    "flyer": _l("Flyer"),
    "presentation": _l("Präsentation"),
    "other": _l("Sonstiges"),
}

JOB_TYPES = ("job", "residency")
TRAINING_TYPES = ("apprenticeship", "placement", "pj", "volunteer")

_UPLOAD_MESSAGES: dict[str, Any] = {
    "empty": _l("Die Datei ist leer."),
    "too_large": _l("Die Datei ist %(size_mb)s MB groß; erlaubt sind höchstens %(limit_mb)s MB."),
    "extension": _l(
        "Dateien mit der Endung %(extension)s sind nicht erlaubt. Erlaubt: %(allowed)s."
    ),
    "content_mismatch": _l(
        "Der Inhalt passt nicht zur Endung %(extension)s: erwartet %(expected)s, gefunden %(detected)s. "
        "Die Datei wurde nicht gespeichert."
    ),
    "unsafe_svg": _l(
        "Die SVG-Datei enthält unsichere Bestandteile (%(reason)s): Skripte, Ereignis-Attribute, "
        "externe Verweise und DOCTYPE sind nicht erlaubt."
    ),
    "unsafe_pdf": _l(
        "Die PDF-Datei enthält JavaScript oder Startaktionen und wird nicht angenommen."
    ),
    "macros": _l("Dokumente mit Makros werden nicht angenommen."),
    "not_text": _l("Die Datei %(extension)s ist kein Text in UTF-8."),
    "broken": _l("Die Datei ist beschädigt oder kein gültiges %(expected)s."),
}


def upload_message(err: UploadRejected) -> str:
    """The German (or English) sentence for a refused upload."""
    params = dict(err.params)
    for key in ("expected", "detected"):
        if key in params:
            params[key] = kind_name(params[key])
    template = _UPLOAD_MESSAGES.get(err.code)
    return str(template % params) if template is not None else err.code


def _folder() -> Path:
    folder = Path(current_app.config["UPLOAD_FOLDER"]) / "toolbox"
    folder.mkdir(parents=True, exist_ok=True, mode=0o750)
    return folder


def item_path(item: ToolboxItem) -> Path:
    """Where an item's file is stored (the name is ours, never the uploader's)."""
    return _folder() / item.stored_name


def toolbox_overview(*, include_unpublished: bool = False) -> dict[str, Any]:
    """Materials by category, and the campaign pages (drafts only for coordinators)."""
    items = list(
        db.session.scalars(sa.select(ToolboxItem).order_by(ToolboxItem.category, ToolboxItem.title))
    )
    query = sa.select(CampaignPage).order_by(CampaignPage.title)
    if not include_unpublished:
        query = query.where(CampaignPage.published.is_(True))
    return {"items": items, "campaigns": list(db.session.scalars(query))}


def store_item(
    data: dict[str, Any], filename: str, content: bytes, *, user_id: int | None
) -> ToolboxItem:
    """Check and store an uploaded file with its metadata.

    Raises
    ------
    UploadRejected
        When type, content or size are not acceptable; nothing is written then.
    """
    checked: CheckedFile = inspect_upload(filename, content)
    stored_name = secrets.token_hex(16) + checked.extension
    path = _folder() / stored_name
    # "x": never overwrite; 0o640: no execute bit, not world-readable.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(content)
    item = ToolboxItem(
        title=data["title"].strip(),
        description=(data.get("description") or "").strip(),
        category=data.get("category") if data.get("category") in CATEGORIES else "other",
        original_filename=Path(filename.replace("\\", "/")).name[:200] or stored_name,
        stored_name=stored_name,
        mime_type=checked.mime_type,
        size_bytes=checked.size,
        sha256=checked.sha256,
        licence=data["licence"].strip(),
        usage_notes=(data.get("usage_notes") or "").strip(),
        uploaded_by_id=user_id,
    )
    try:
        db.session.add(item)
        db.session.flush()
        record(
            "toolbox.upload",
            "toolbox_item",
            item.id,
            actor_id=user_id,
            title=item.title,
            sha256=item.sha256,
        )
        db.session.commit()
    except Exception:
        db.session.rollback()
        path.unlink(missing_ok=True)
        raise
    return item


def delete_item(item: ToolboxItem, *, user_id: int | None) -> None:
    """Remove an item and its file."""
    path = item_path(item)
    record(
        "toolbox.delete",
        "toolbox_item",
        item.id,
        actor_id=user_id,
        title=item.title,
        sha256=item.sha256,
    )
    db.session.delete(item)
    db.session.commit()
    path.unlink(missing_ok=True)


# --------------------------------------------------------------------------- campaign pages


def scope_choices() -> dict[str, list[tuple[str, str]]]:
    """Areas a campaign page can present, grouped: model regions, Kreise, municipalities."""
    places = list(db.session.scalars(sa.select(Municipality).order_by(Municipality.name)))
    kreise = sorted({(m.kreis_ags, m.kreis) for m in places}, key=lambda k: k[1])
    return {
        str(_l("Modellregionen")): [
            (f"r:{slug}", name) for slug, (name, _m) in MODEL_REGIONS.items()
        ],
        str(_l("Kreise")): [(f"k:{code}", name) for code, name in kreise],
        str(_l("Gemeinden")): [(f"m:{m.ags}", m.name) for m in places],
    }


def scope_of(page: CampaignPage) -> str:
    """The page's area as a choice value (``r:slug``, ``k:05566``, ``m:05566040``)."""
    if page.model_region:
        return f"r:{page.model_region}"
    if page.kreis_ags:
        return f"k:{page.kreis_ags}"
    return f"m:{page.ags}" if page.ags else ""


def _municipalities_of(page: CampaignPage) -> list[Municipality]:
    query = sa.select(Municipality).order_by(Municipality.name)
    if page.model_region and page.model_region in MODEL_REGIONS:
        query = query.where(Municipality.ags.in_(MODEL_REGIONS[page.model_region][1]))
    elif page.kreis_ags:
        query = query.where(Municipality.kreis_ags == page.kreis_ags)
    elif page.ags:
        query = query.where(Municipality.ags == page.ags)
    else:
        return []
    return list(db.session.scalars(query))


def scope_label(page: CampaignPage) -> str:
    """The area's name (model region, Kreis or municipality)."""
    if page.model_region and page.model_region in MODEL_REGIONS:
        return MODEL_REGIONS[page.model_region][0]
    places = _municipalities_of(page)
    if page.kreis_ags and places:
        return places[0].kreis
    return places[0].name if places else ""


def _link(endpoint: str, value: int) -> str | None:
    """A URL to ``endpoint`` for one id, if that area exists in this installation."""
    if endpoint not in current_app.view_functions:
        return None
    for rule in current_app.url_map.iter_rules(endpoint):
        arguments = rule.arguments - set(rule.defaults or {})
        if len(arguments) == 1:
            return url_for(endpoint, **{next(iter(arguments)): value})
    return None


def page_url(page: CampaignPage) -> str:
    """The absolute, shareable URL of a campaign page."""
    return current_app.config["BASE_URL"].rstrip("/") + url_for("toolbox.campaign", slug=page.slug)


def share_links(title: str, url: str) -> list[dict[str, str]]:
    """Plain share links (no third-party script is loaded; the visitor's click leaves the site).

    >>> [link["key"] for link in share_links("T", "https://example.org/p")]
    ['email', 'whatsapp', 'linkedin', 'facebook', 'x']
    """
    q_url, q_title = quote(url, safe=""), quote(title, safe="")
    body = quote(f"{title}\n{url}", safe="")
    return [
        {"key": "email", "label": "E-Mail", "href": f"mailto:?subject={q_title}&body={body}"},
        {"key": "whatsapp", "label": "WhatsApp", "href": f"https://wa.me/?text={body}"},
        {
            "key": "linkedin",
            "label": "LinkedIn",
            "href": f"https://www.linkedin.com/sharing/share-offsite/?url={q_url}",
        },
        {
            "key": "facebook",
            "label": "Facebook",
            "href": f"https://www.facebook.com/sharer/sharer.php?u={q_url}",
        },
        {
            "key": "x",
            "label": "X",
            "href": f"https://twitter.com/intent/tweet?url={q_url}&text={q_title}",
        },
    ]


@dataclass
class CampaignView:
    """What a campaign page shows."""

    page: CampaignPage
    area_name: str
    municipalities: list[Municipality]
    population: int
    employers: list[dict[str, Any]]
    jobs: list[dict[str, Any]]
    training: list[dict[str, Any]]
    url: str
    share: list[dict[str, str]]
    synthetic: bool


def _profession_names() -> dict[str, str]:
    return {p.code: p.name_de for p in load_professions()}


def campaign_view(page: CampaignPage) -> CampaignView:
    """Employers, open jobs and training offers of the page's area, with links and share URLs.

    Positions link to the positions area's page when it exists, else to the employer's
    profile in the directory (decided now, from the registered endpoints).
    """
    places = _municipalities_of(page)
    codes = [m.ags for m in places]
    names = {m.ags: m.name for m in places}
    professions = _profession_names()
    positions = (
        list(
            db.session.scalars(
                sa.select(Position)
                .join(Organisation, Organisation.id == Position.organisation_id)
                .where(
                    Position.status == "open",
                    Position.ags.in_(codes),
                    Organisation.visibility == "public",
                )
                .order_by(
                    Position.deadline.is_(None), Position.deadline, Position.created_at.desc()
                )
                .limit(200)
            )
        )
        if codes
        else []
    )
    open_by_org: dict[int, int] = {}
    jobs, training = [], []
    for position in positions:
        open_by_org[position.organisation_id] = open_by_org.get(position.organisation_id, 0) + 1
        entry = {
            "position": position,
            "organisation": position.organisation,
            "municipality": names.get(position.ags, ""),
            "profession": professions.get(position.profession, position.profession),
            "url": _link("positions.detail", position.id)
            or _link("directory.profile", position.organisation_id),
        }
        (training if position.position_type in TRAINING_TYPES else jobs).append(entry)
    employers_rows = (
        list(
            db.session.scalars(
                sa.select(Organisation)
                .where(
                    Organisation.ags.in_(codes),
                    Organisation.visibility == "public",
                    Organisation.kind.in_(sorted(PROVIDER_KINDS)),
                )
                .order_by(Organisation.name)
            )
        )
        if codes
        else []
    )
    employers = sorted(
        (
            {
                "organisation": org,
                "municipality": names.get(org.ags, ""),
                "open_positions": open_by_org.get(org.id, 0),
                "url": _link("directory.profile", org.id),
            }
            for org in employers_rows
        ),
        key=lambda e: (-e["open_positions"], e["organisation"].name),
    )[:60]
    url = page_url(page)
    return CampaignView(
        page=page,
        area_name=scope_label(page),
        municipalities=places,
        population=sum(m.population for m in places),
        employers=employers,
        jobs=jobs[:50],
        training=training[:50],
        url=url,
        share=share_links(page.title, url),
        synthetic=any(e["organisation"].synthetic for e in employers),
    )


def save_campaign(
    page: CampaignPage | None, data: dict[str, Any], *, user_id: int | None
) -> CampaignPage:
    """Create (``page`` is ``None``) or update a campaign page from form data."""
    created = page is None
    if page is None:
        page = CampaignPage(created_by_id=user_id)
        db.session.add(page)
    page.title = data["title"].strip()
    page.slug = data["slug"].strip()
    page.intro = (data.get("intro") or "").strip()
    page.published = bool(data.get("published"))
    kind, _, value = (data.get("scope") or "").partition(":")
    page.ags = value if kind == "m" else None
    page.model_region = value if kind == "r" else None
    page.kreis_ags = value if kind == "k" else None
    db.session.flush()
    record(
        "toolbox.campaign_create" if created else "toolbox.campaign_update",
        "campaign_page",
        page.id,
        actor_id=user_id,
        slug=page.slug,
        published=page.published,
    )
    db.session.commit()
    return page


def delete_campaign(page: CampaignPage, *, user_id: int | None) -> None:
    """Remove a campaign page."""
    record("toolbox.campaign_delete", "campaign_page", page.id, actor_id=user_id, slug=page.slug)
    db.session.delete(page)
    db.session.commit()
