"""Public home page and the personal start page."""

from __future__ import annotations

from flask import Response, abort, current_app, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required

from network.extensions import db
from network.main import bp
from network.main.services import home_figures
from network.reference import load_boundaries


@bp.route("/")
def index():
    """The public home page."""
    return render_template("main/index.html", figures=home_figures())


@bp.route("/start")
@login_required
def dashboard():
    """The start page of the logged-in user, by role."""
    return render_template("main/dashboard.html")


@bp.route("/sprache/<language>")
def set_language(language: str):
    """Switch the interface language (stored in the session and, when logged in, the account)."""
    if language not in current_app.config["LANGUAGES"]:
        abort(404)
    session["language"] = language
    if current_user.is_authenticated and current_user.language != language:
        current_user.language = language
        db.session.commit()
    referrer = request.referrer or ""
    host = request.host_url
    return redirect(referrer if referrer.startswith(host) else url_for("main.index"))


@bp.route("/karte/gemeinden.geojson")
def boundaries():
    """Municipal boundaries (© GeoBasis-DE / BKG 2021, dl-de/by-2-0): the maps' base layer."""
    import json

    response = Response(
        json.dumps(load_boundaries(), ensure_ascii=False), mimetype="application/geo+json"
    )
    response.cache_control.public = True
    response.cache_control.max_age = 86400
    return response


@bp.route("/healthz")
def health():
    """Liveness and database check for the load balancer."""
    db.session.execute(db.text("SELECT 1"))
    return {"status": "ok"}


@bp.route("/ueber")
def about():
    """About the platform, its data sources and licences."""
    return render_template("main/about.html")
