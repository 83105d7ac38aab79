"""Network view: parse, authorise, call one service, then flash + redirect or render."""

from __future__ import annotations

from flask import (
    Response,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_login import current_user

from network.auth.decorators import coordinator_required, roles_required
from network.extensions import db
from network.i18n import current_language
from network.models import Collaboration, Organisation
from network.network_view import bp, services
from network.network_view import dashboard as analyses
from network.network_view.forms import ActionForm, CollaborationForm
from network.reference import load_kreise
from network.vocabulary import COLLABORATION_KINDS, MODEL_REGIONS, ORGANISATION_KINDS

#: Row ids are 32-bit on PostgreSQL; a larger number in a URL is simply not found.
MAX_ROW_ID = 2**31 - 1


def _get_or_404(model, row_id: int):  # type: ignore[no-untyped-def]
    if not 0 < row_id <= MAX_ROW_ID:
        abort(404)
    return db.get_or_404(model, row_id)


# --------------------------------------------------------------------------- dashboard


def _filter_choices() -> dict:
    language = current_language()
    region_names = {slug: name for slug, (name, _members) in MODEL_REGIONS.items()}
    region_names["None"] = _("außerhalb der Modellregionen")
    return {
        "kreise": load_kreise(),
        "model_regions": MODEL_REGIONS,
        "kinds": ORGANISATION_KINDS,
        "edge_kinds": COLLABORATION_KINDS,
        "kind_styles": analyses.KIND_STYLES,
        "kind_labels": {code: term.label(language) for code, term in ORGANISATION_KINDS.items()},
        "region_names": region_names,
        "max_drawn": analyses.max_drawn_nodes(),
        "max_export": analyses.max_export_organisations(),
    }


@bp.route("/")
@coordinator_required
def dashboard():
    """The coordinators' network view: graph, key figures, brokers, gaps, placement coverage."""
    filters, errors = analyses.parse_filters(request.args)
    state = analyses.analysis_state(filters, current_user.id)
    return (
        render_template(
            "network_view/dashboard.html",
            state=state,
            analysis=state.analysis,
            filters=filters,
            filter_args=filters.as_args(),
            errors=errors,
            **_filter_choices(),
        ),
        400 if errors else 200,
    )


@bp.route("/graph.json")
@coordinator_required
def graph_json():
    """The graph to draw for the same filters (Cytoscape.js JSON; 202 while a job computes it)."""
    filters, errors = analyses.parse_filters(request.args)
    view = request.args.get("view", "auto")
    if view not in analyses.VIEWS:
        errors["view"] = _("Unbekannte Ansicht: %(values)s.", values=view[:50])
    if errors:
        return jsonify(errors=errors), 400
    state = analyses.analysis_state(filters, current_user.id)
    if state.analysis is None:
        return jsonify(
            status="pending",
            progress=url_for("network_view.analysis_progress", job_id=state.job.id),
        ), 202
    return jsonify(
        analyses.graph_payload(
            state.analysis,
            view,
            profile_url=lambda org_id: url_for("directory.profile", org_id=int(org_id)),
            municipality_url=lambda ags: url_for("directory.index", ags=ags),
        )
    )


@bp.route("/analyse/<int:job_id>")
@coordinator_required
def analysis_progress(job_id: int):
    """Progress of a background analysis (polled by htmx every second until it ends)."""
    if not 0 < job_id <= MAX_ROW_ID:
        abort(404)
    job = analyses.analysis_job(job_id)
    if job is None:
        abort(404)
    response = Response(render_template("network_view/_analysis_progress.html", job=job))
    if job.status == "done" and request.headers.get("HX-Request"):
        response.headers["HX-Redirect"] = url_for(
            "network_view.dashboard", **(job.result or {}).get("filters", {})
        )
    return response


def _finished_analysis() -> tuple[analyses.NetworkFilters, analyses.NetworkAnalysis]:
    """The filters of a download and their finished analysis; while it is still being computed,
    the user goes back to the dashboard (which shows the progress)."""
    filters, errors = analyses.parse_filters(request.args)
    if errors:
        abort(400)
    state = analyses.analysis_state(filters, current_user.id)
    if state.analysis is None:
        flash(
            _("Die Analyse läuft noch. Der Download steht bereit, sobald sie fertig ist."), "info"
        )
        abort(redirect(url_for("network_view.dashboard", **filters.as_args())))
    return filters, state.analysis


@bp.route("/export.graphml", defaults={"fmt": "graphml"})
@bp.route("/export.gexf", defaults={"fmt": "gexf"})
@coordinator_required
def export_graph(fmt: str):
    """Download the selection as GraphML or GEXF (for Gephi, yEd, Cytoscape desktop)."""
    filters, analysis = _finished_analysis()
    try:
        data = analyses.export_graph(
            analysis, filters, fmt, with_places=request.args.get("with_places") == "1"
        )
    except analyses.ExportTooLarge as err:
        flash(
            _(
                "Die Auswahl ist für einen Download im Browser zu groß (%(count)s Organisationen, "
                "höchstens %(limit)s). Bitte filtern Sie oder nutzen Sie die Kommandozeile.",
                count=format_decimal(err.organisations),
                limit=format_decimal(err.limit),
            ),
            "warning",
        )
        return redirect(url_for("network_view.dashboard", **filters.as_args()) + "#export-heading")
    mimetype = "application/graphml+xml" if fmt == "graphml" else "application/gexf+xml"
    return Response(
        data,
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="netzwerk.{fmt}"'},
    )


@bp.route("/gemeinden.csv")
@coordinator_required
def municipalities_csv():
    """The per-municipality figures of the selection as CSV."""
    _filters, analysis = _finished_analysis()
    headers = {
        "ags": _("AGS"),
        "name": _("Gemeinde"),
        "kreis": _("Kreis"),
        "model_region": _("Modellregion"),
        "population": _("Einwohner"),
        "organisations": _("Organisationen"),
        "organisations_per_10k": _("Organisationen je 10.000 Einwohner"),
        "collaborations": _("Kooperationen"),
        "internal": _("innerhalb der Gemeinde"),
        "cross": _("gemeindeübergreifend"),
        "cross_share": _("Anteil gemeindeübergreifend (%)"),
        "isolated": _("ohne Kooperation"),
        "weak": _("mit nur einem Partner"),
        "by_kind": _("Organisationen nach Art"),
    }
    return Response(
        analyses.municipality_csv(analysis, headers).encode("utf-8"),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="netzwerk-gemeinden.csv"'},
    )


# --------------------------------------------------------------------------- collaborations


def _organisation_for_member(org_id: int) -> Organisation:
    org = _get_or_404(Organisation, org_id)
    if not services.can_act_for(current_user, org):
        abort(403)
    return org


@bp.route("/organisation/<int:org_id>/kooperationen", methods=["GET", "POST"])
@roles_required("provider", "coordinator")
def collaborations_for(org_id: int):
    """An organisation's collaborations with history; confirm, decline, end, record a new one
    (members of the organisation and coordinators)."""
    org = _organisation_for_member(org_id)
    form = CollaborationForm()
    status = 200
    if request.method == "GET":
        form.partner_q.data = request.args.get("partner_q", "")[:200]
    elif form.validate_on_submit():
        try:
            collaboration = services.record_collaboration(
                org,
                form.partner_id.data,
                form.kind.data,
                form.since.data,
                form.note.data or "",
                current_user,
            )
        except services.CollaborationError as err:
            getattr(form, err.field or "partner_id").errors.append(str(err))
        else:
            partner = collaboration.other(org.id)
            if collaboration.status == "active":
                flash(
                    _("Die Kooperation mit %(name)s ist eingetragen und aktiv.", name=partner.name),
                    "success",
                )
            else:
                flash(
                    _(
                        "Die Kooperation mit %(name)s ist eingetragen. Sie wird aktiv, sobald "
                        "%(name)s sie bestätigt; die Mitglieder sind per E-Mail informiert.",
                        name=partner.name,
                    ),
                    "success",
                )
            return redirect(url_for("network_view.collaborations_for", org_id=org.id))
    if request.method == "POST":
        status = 422
    page = services.collaborations_page(
        org, current_user, form.partner_q.data or "", form.partner_id.data
    )
    form.set_partners(page.partner_results)
    return (
        render_template(
            "network_view/collaborations.html",
            page=page,
            org=org,
            form=form,
            action_form=ActionForm(),
        ),
        status,
    )


@bp.route("/organisation/<int:org_id>/partnersuche")
@roles_required("provider", "coordinator")
def partner_search(org_id: int):
    """Organisations matching a name, as radio buttons for the form (an htmx fragment)."""
    org = _organisation_for_member(org_id)
    query = request.args.get("partner_q", "")[:200]
    form = CollaborationForm(meta={"csrf": False}, formdata=None)
    form.set_partners(services.search_partners(org, query))
    return render_template("network_view/_partner_results.html", form=form, query=query)


def _act(collab_id: int, step, success: str):  # type: ignore[no-untyped-def]
    collaboration = _get_or_404(Collaboration, collab_id)
    if not services.sides_of(current_user, collaboration):
        abort(403)
    org_ids = (collaboration.org_a_id, collaboration.org_b_id)
    back = request.form.get("org_id", type=int)
    if back not in org_ids:
        back = collaboration.org_a_id
    form = ActionForm()
    if form.validate_on_submit():
        try:
            step(collaboration, current_user)
        except services.CollaborationError as err:
            flash(str(err), "warning")
        else:
            flash(success, "success")
    return redirect(url_for("network_view.collaborations_for", org_id=back))


@bp.route("/kooperationen/<int:collab_id>/bestaetigen", methods=["POST"])
@roles_required("provider", "coordinator")
def confirm(collab_id: int):
    """Confirm a proposed collaboration for one's own side."""
    return _act(collab_id, services.confirm_collaboration, _("Die Kooperation ist bestätigt."))


@bp.route("/kooperationen/<int:collab_id>/ablehnen", methods=["POST"])
@roles_required("provider", "coordinator")
def decline(collab_id: int):
    """Decline a proposed collaboration."""
    return _act(collab_id, services.decline_collaboration, _("Die Kooperation ist abgelehnt."))


@bp.route("/kooperationen/<int:collab_id>/beenden", methods=["POST"])
@roles_required("provider", "coordinator")
def end(collab_id: int):
    """End a collaboration (or withdraw a proposal); it stays in the history."""
    return _act(
        collab_id,
        services.end_collaboration,
        _("Die Kooperation ist beendet; sie bleibt in der Historie."),
    )
