"""Friendly error pages; JSON for API clients."""

from __future__ import annotations

from flask import jsonify, render_template, request
from flask_wtf.csrf import CSRFError

from network.errors import bp
from network.extensions import db


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def _render(status: int, template: str, **context):  # type: ignore[no-untyped-def]
    if _wants_json():
        return jsonify(error=context.get("message") or status, status=status), status
    return render_template(template, status=status, **context), status


@bp.app_errorhandler(400)
def bad_request(error):  # type: ignore[no-untyped-def]
    return _render(400, "errors/error.html", message=getattr(error, "description", ""))


@bp.app_errorhandler(CSRFError)
def csrf_error(error):  # type: ignore[no-untyped-def]
    return _render(400, "errors/csrf.html", message=error.description)


@bp.app_errorhandler(403)
def forbidden(error):  # type: ignore[no-untyped-def]
    return _render(403, "errors/error.html", message=getattr(error, "description", ""))


@bp.app_errorhandler(404)
def not_found(error):  # type: ignore[no-untyped-def]
    return _render(404, "errors/error.html")


@bp.app_errorhandler(413)
def too_large(error):  # type: ignore[no-untyped-def]
    return _render(413, "errors/error.html")


@bp.app_errorhandler(429)
def too_many_requests(error):  # type: ignore[no-untyped-def]
    return _render(429, "errors/error.html", message=getattr(error, "description", ""))


@bp.app_errorhandler(500)
def internal_error(error):  # type: ignore[no-untyped-def]
    db.session.rollback()
    return _render(500, "errors/error.html")
