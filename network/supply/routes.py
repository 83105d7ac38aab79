"""Supply views: public figures and map, municipality pages, the recommendation library, and the
coordinators' planning-figure upload and library management."""

from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from network.auth.decorators import roles_required
from network.extensions import db
from network.i18n import current_language
from network.models import PlanningFigure, Recommendation
from network.supply import analysis, bp, services
from network.supply.forms import (
    MAX_PLANNING_BYTES,
    DeleteForm,
    LibraryFilterForm,
    PlanningUploadForm,
    RecommendationForm,
)


@bp.context_processor
def _supply_context() -> dict:
    return {
        "effort_labels": services.EFFORTS,
        "gap_conditions": services.GAP_CONDITIONS,
        "column_help": services.COLUMN_HELP,
        "provider_kinds": analysis.PROVIDER_KINDS,
    }


def _is_coordinator() -> bool:
    return bool(current_user.is_authenticated and current_user.has_role("coordinator"))


@bp.route("/")
def index():
    """Supply figures of the region: map, tables per municipality, model region and Kreis."""
    data = services.overview(request.args.get("kennzahl"), show_private=_is_coordinator())
    return render_template(
        "supply/index.html",
        data=data,
        is_coordinator=_is_coordinator(),
        names=services.municipality_names(),
        language=current_language(),
    )


@bp.route("/gemeinde/<ags>")
def municipality(ags: str):
    """One municipality: its figures, the planning figures covering it and fitting recommendations."""
    report = services.municipality_report(ags)
    if report is None:
        abort(404)
    return render_template(
        "supply/municipality.html",
        report=report,
        is_coordinator=_is_coordinator(),
        names=services.municipality_names(),
        language=current_language(),
    )


@bp.route("/empfehlungen")
def library():
    """The public library of action recommendations, filterable by topic and effort."""
    form = LibraryFilterForm(request.args)
    recs = services.recommendation_library(form.topic.data or None, form.effort.data or None)
    return render_template(
        "supply/library.html",
        form=form,
        recommendations=recs,
        gap_rules=analysis.GAP_RULES,
        is_coordinator=_is_coordinator(),
    )


@bp.route("/empfehlungen/<int:rec_id>")
def recommendation(rec_id: int):
    """One recommendation and the municipalities whose gaps it currently answers."""
    rec = db.get_or_404(Recommendation, rec_id)
    return render_template(
        "supply/recommendation.html",
        rec=rec,
        detail=services.recommendation_detail(rec),
        is_coordinator=_is_coordinator(),
    )


@bp.route("/handlungsempfehlungen")
@roles_required("coordinator")
def recommendations():
    """Coordinators manage the recommendation library."""
    return render_template(
        "supply/recommendations.html",
        recommendations=services.recommendation_library(),
        delete_form=DeleteForm(),
    )


@bp.route("/handlungsempfehlungen/neu", methods=["GET", "POST"])
@roles_required("coordinator")
def recommendation_new():
    """Write a new recommendation."""
    form = RecommendationForm()
    if form.validate_on_submit():
        rec = services.save_recommendation(None, form.data, user_id=current_user.id)
        flash(_("Die Handlungsempfehlung „%(title)s“ ist gespeichert.", title=rec.title), "success")
        return redirect(url_for("supply.recommendations"))
    status = 422 if request.method == "POST" else 200
    return render_template("supply/recommendation_form.html", form=form, rec=None), status


@bp.route("/handlungsempfehlungen/<int:rec_id>/bearbeiten", methods=["GET", "POST"])
@roles_required("coordinator")
def recommendation_edit(rec_id: int):
    """Edit a recommendation."""
    rec = db.get_or_404(Recommendation, rec_id)
    form = RecommendationForm(obj=rec)
    if form.validate_on_submit():
        services.save_recommendation(rec, form.data, user_id=current_user.id)
        flash(_("Die Änderungen sind gespeichert."), "success")
        return redirect(url_for("supply.recommendations"))
    status = 422 if request.method == "POST" else 200
    return render_template("supply/recommendation_form.html", form=form, rec=rec), status


@bp.route("/handlungsempfehlungen/<int:rec_id>/loeschen", methods=["POST"])
@roles_required("coordinator")
def recommendation_delete(rec_id: int):
    """Delete a recommendation."""
    rec = db.get_or_404(Recommendation, rec_id)
    if not DeleteForm().validate_on_submit():
        abort(400)
    title = rec.title
    services.delete_recommendation(rec, user_id=current_user.id)
    flash(_("„%(title)s“ ist gelöscht.", title=title), "success")
    return redirect(url_for("supply.recommendations"))


def _decode(raw: bytes) -> str | None:
    if b"\x00" in raw:
        return None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Excel on Windows saves "CSV" in Windows-1252.
        return raw.decode("cp1252", errors="strict") if _cp1252_ok(raw) else None


def _cp1252_ok(raw: bytes) -> bool:
    try:
        raw.decode("cp1252")
    except UnicodeDecodeError:
        return False
    return True


@bp.route("/planungszahlen", methods=["GET", "POST"])
@roles_required("coordinator")
def planning_upload():
    """Upload official planning figures (CSV); each line is checked, good lines are kept."""
    form = PlanningUploadForm()
    result = None
    status = 200
    if form.validate_on_submit():
        raw = form.file.data.stream.read(MAX_PLANNING_BYTES + 1)
        text = _decode(raw) if len(raw) <= MAX_PLANNING_BYTES else None
        if len(raw) > MAX_PLANNING_BYTES:
            form.file.errors.append(_("Die Datei ist größer als 2 MB."))
            status = 422
        elif text is None:
            form.file.errors.append(
                _("Die Datei ist keine Textdatei (CSV in UTF-8 oder Windows-1252 erwartet).")
            )
            status = 422
        else:
            result = services.import_planning_figures(text, user_id=current_user.id)
            if result.imported and result.problems:
                flash(
                    _(
                        "%(ok)d Zeile(n) übernommen, %(bad)d Zeile(n) abgelehnt – die Gründe stehen unten.",
                        ok=result.imported,
                        bad=result.rejected_lines,
                    ),
                    "warning",
                )
            elif result.imported:
                flash(_("%(ok)d Zeile(n) übernommen.", ok=result.imported), "success")
            else:
                form.file.errors.append(
                    _("Keine Zeile konnte übernommen werden – die Gründe stehen unten.")
                )
                status = 422
    elif request.method == "POST":
        status = 422
    return (
        render_template(
            "supply/planning_upload.html",
            form=form,
            result=result,
            columns=analysis.PLANNING_COLUMNS,
            specialties=services.specialty_table(),
            planning=services.planning_rows(),
            names=services.municipality_names(),
            delete_form=DeleteForm(),
            language=current_language(),
        ),
        status,
    )


@bp.route("/planungszahlen/vorlage.csv")
@roles_required("coordinator")
def planning_template():
    """An example CSV in the documented format."""
    return Response(
        services.planning_template_csv(),
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=planungszahlen-vorlage.csv"},
    )


@bp.route("/planungszahlen/<int:figure_id>/loeschen", methods=["POST"])
@roles_required("coordinator")
def planning_delete(figure_id: int):
    """Remove one uploaded planning figure."""
    figure = db.get_or_404(PlanningFigure, figure_id)
    if not DeleteForm().validate_on_submit():
        abort(400)
    services.delete_planning_figure(figure, user_id=current_user.id)
    flash(_("Die Planungszahl ist gelöscht."), "success")
    return redirect(url_for("supply.planning_upload"))
