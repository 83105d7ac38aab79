"""API views: parse, call one service, answer JSON; bad parameters are a 400 with details."""

from __future__ import annotations

from flask import jsonify, render_template
from flask import request as flask_request
from flask_babel import gettext as _
from flask_login import current_user

from network.api import bp, services
from network.api.spec import build_spec, describe_operations


def _bad_request(errors: dict[str, str]):  # type: ignore[no-untyped-def]
    return (
        jsonify(
            error="bad_request",
            status=400,
            message=_("Ungültige Parameter: %(names)s.", names=", ".join(sorted(errors))),
            details=errors,
        ),
        400,
    )


def _json(payload, status: int = 200):  # type: ignore[no-untyped-def]
    response = jsonify(payload)
    response.status_code = status
    # What a logged-in member sees differs from the public answer.
    response.vary.add("Cookie")
    return response


@bp.route("/organisations")
def organisations():
    """Search organisations: the directory's filters, radius and pagination as JSON."""
    try:
        payload = services.organisation_page(
            flask_request.args, include_members_only=current_user.is_authenticated
        )
    except services.ApiParamError as err:
        return _bad_request(err.errors)
    return _json(payload)


@bp.route("/organisations/<int:org_id>")
def organisation(org_id: int):
    """One organisation (404 also for members-only profiles when not logged in)."""
    payload = services.visible_organisation(
        org_id, include_members_only=current_user.is_authenticated
    )
    if payload is None:
        return _json(
            {
                "error": "not_found",
                "status": 404,
                "message": _("Diese Organisation gibt es nicht."),
            },
            404,
        )
    return _json(payload)


@bp.route("/municipalities")
def municipalities():
    """The municipalities of the Münsterland with their organisation counts."""
    try:
        payload = services.municipality_page(
            flask_request.args, include_members_only=current_user.is_authenticated
        )
    except services.ApiParamError as err:
        return _bad_request(err.errors)
    return _json(payload)


@bp.route("/openapi.json")
def openapi():
    """The OpenAPI 3.0 document of this API."""
    response = jsonify(build_spec())
    response.cache_control.public = True
    response.cache_control.max_age = 300
    return response


@bp.route("/")
@bp.route("/docs")
def docs():
    """A human-readable description of the API, generated from the OpenAPI document."""
    spec = build_spec()
    return render_template("api/docs.html", spec=spec, operations=describe_operations(spec))
