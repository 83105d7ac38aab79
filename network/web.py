"""Request-level glue: security headers, template helpers, reverse-proxy support."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask, current_app, request, url_for
from flask_babel import format_date, format_datetime, format_decimal
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import generate_csrf
from werkzeug.middleware.proxy_fix import ProxyFix

from network import vocabulary
from network.i18n import current_language

__all__ = ["init_app", "NAV_ITEMS"]

#: Main navigation: (endpoint, German label, roles that see it or None for everyone). An entry
#: shows only when its blueprint is registered; the views check roles again on the server.
NAV_ITEMS: tuple[tuple[str, Any, tuple[str, ...] | None], ...] = (
    ("directory.index", _l("Verzeichnis"), None),
    ("positions.search", _l("Stellen & Praxiseinsätze"), None),
    ("supply.index", _l("Versorgung"), None),
    ("toolbox.index", _l("Toolbox"), None),
    ("network_view.dashboard", _l("Netzwerk"), ("coordinator",)),
    ("suggestions.queue", _l("Vorschläge"), ("coordinator",)),
    ("rounds.index", _l("Vergaberunden"), ("coordinator", "provider", "trainee")),
)

#: Links on the personal start page, by role (shown when the endpoint exists).
DASHBOARD_LINKS: tuple[tuple[str, Any, tuple[str, ...] | None], ...] = (
    ("directory.my_organisations", _l("Meine Organisationen"), ("provider", "coordinator")),
    ("positions.manage", _l("Stellen meiner Organisationen verwalten"), ("provider",)),
    ("positions.profile", _l("Mein Suchprofil"), ("trainee",)),
    ("positions.my_applications", _l("Meine Bewerbungen"), ("trainee",)),
    ("positions.saved_searches", _l("Gespeicherte Suchen"), ("trainee",)),
    ("suggestions.mine", _l("Vorschläge für meine Organisation"), ("provider",)),
    ("directory.import_csv", _l("Organisationen importieren"), ("coordinator",)),
    ("digest.settings", _l("E-Mail-Zusammenfassung einstellen"), None),
    ("digest.outbox", _l("Postausgang"), ("coordinator",)),
    ("supply.recommendations", _l("Handlungsempfehlungen"), ("coordinator",)),
)


def init_app(app: Flask) -> None:
    trusted = int(app.config.get("TRUSTED_PROXIES", 0) or 0)
    if trusted:
        # Behind nginx/Caddy: trust X-Forwarded-For/-Proto/-Host from that many proxies.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=trusted, x_proto=trusted, x_host=trusted)

    from network.mail import init_app as init_mail

    init_mail(app)
    app.after_request(_security_headers)
    app.context_processor(_template_globals)
    app.add_template_filter(_label, "label")
    app.add_template_filter(_format_date, "date")
    app.add_template_filter(_format_datetime, "datetime")
    app.add_template_filter(_format_number, "number")


def _security_headers(response):  # type: ignore[no-untyped-def]
    tile_url = current_app.config.get("MAP_TILE_URL") or ""
    img_sources = "'self' data: blob:"
    if tile_url.startswith("https://"):
        img_sources += " " + "/".join(tile_url.split("/")[:3]).replace("{s}.", "*.")
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        f"img-src {img_sources}; connect-src 'self'; font-src 'self'; object-src 'none'; "
        "base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
    )
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    if current_app.config.get("SESSION_COOKIE_SECURE"):
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response


def _template_globals() -> dict[str, Any]:
    return {
        "vocabulary": vocabulary,
        "lang": current_language(),
        "csrf_token_value": generate_csrf,
        "map_tile_url": current_app.config.get("MAP_TILE_URL", ""),
        "map_tile_attribution": current_app.config.get("MAP_TILE_ATTRIBUTION", ""),
        "request_path": request.path,
        "nav_items": lambda: _links(NAV_ITEMS),
        "dashboard_links": lambda: _links(DASHBOARD_LINKS),
    }


def _links(entries: tuple[tuple[str, Any, tuple[str, ...] | None], ...]) -> list[dict[str, Any]]:
    from flask_login import current_user

    items = []
    for endpoint, label, roles in entries:
        if endpoint not in current_app.view_functions:
            continue
        if roles is not None and not (
            current_user.is_authenticated and current_user.has_role(*roles)
        ):
            continue
        url = url_for(endpoint)
        items.append({"url": url, "label": str(label), "current": request.path.startswith(url)})
    return items


def _label(code: str | None, vocabulary_name: str) -> str:
    """``{{ org.kind|label('ORGANISATION_KINDS') }}`` renders a code in the current language."""
    return vocabulary.label(getattr(vocabulary, vocabulary_name), code, current_language())


def _format_date(value: date | None, fmt: str = "medium") -> str:
    return format_date(value, fmt) if value else ""


def _format_datetime(value: datetime | None, fmt: str = "medium") -> str:
    if not value:
        return ""
    return format_datetime(value.astimezone(ZoneInfo("Europe/Berlin")), fmt)


def _format_number(value: float | int | None, digits: int = 0) -> str:
    if value is None:
        return "–"
    return format_decimal(
        round(value, digits), format="#,##0" + ("." + "0" * digits if digits else "")
    )
