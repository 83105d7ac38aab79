"""Views of the placement rounds: parse, authorise, call one service, then flash and redirect
or render. A published round refuses every change with 409 and says why."""

from __future__ import annotations

from typing import Any

from flask import (
    Response,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from network.auth.decorators import coordinator_required, roles_required
from network.extensions import db
from network.i18n import current_language
from network.models import AllocationRound, RoundPlacement
from network.rounds import bp, services
from network.rounds.forms import (
    ConfirmForm,
    OrganisationSearchForm,
    PlacementForm,
    RankingForm,
    RoundForm,
    RunForm,
    TraineeFilterForm,
    TraineeSelectionForm,
)
from network.rounds.services import (
    PlacementData,
    RoundConflict,
    RoundData,
    RoundError,
    TraineeFilter,
)


def _round(round_id: int) -> AllocationRound:
    return db.get_or_404(AllocationRound, round_id)


def _placement(round_: AllocationRound, placement_id: int) -> RoundPlacement:
    placement = db.get_or_404(RoundPlacement, placement_id)
    if placement.round_id != round_.id:
        abort(404)
    return placement


def _conflict(round_: AllocationRound | None, message: str) -> Response:
    response = make_response(
        render_template("rounds/conflict.html", round=round_, message=message), 409
    )
    if _is_htmx():
        # htmx does not swap error responses; reload so the page shows the round's state.
        response.headers["HX-Refresh"] = "true"
    return response


def _guard(round_: AllocationRound) -> None:
    """Refuse any change to a published round with 409 before looking at the input."""
    try:
        services.check_mutable(round_)
    except RoundConflict as err:
        abort(_conflict(round_, err.message))


def _is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


# --------------------------------------------------------------------------- lists


@bp.route("/")
@roles_required("coordinator", "provider", "trainee")
def index():
    """Rounds: coordinators manage all, providers rank for their organisations, trainees rank."""
    view, rows = services.rounds_overview(current_user)
    return render_template("rounds/index.html", view=view, rows=rows)


@bp.route("/neu", methods=["GET", "POST"])
@coordinator_required
def create():
    """Create a round (a draft: placements and trainees follow on its page)."""
    form = RoundForm()
    if form.validate_on_submit():
        round_ = services.create_round(
            RoundData(form.name.data, form.description.data or "", form.ranking_deadline.data),
            current_user,
        )
        flash(
            _("Die Runde ist angelegt. Fügen Sie jetzt Einsatzorte und Teilnehmende hinzu."),
            "success",
        )
        return redirect(url_for("rounds.detail", round_id=round_.id))
    status = 200 if request.method == "GET" else 422
    return render_template("rounds/form.html", form=form, round=None), status


def _placement_form(org_query: str) -> PlacementForm:
    form = PlacementForm(language=current_language())
    submitted_org = request.form.get("organisation_id", type=int) or 0
    submitted_position = request.form.get("position_id", type=int) or 0
    form.organisation_id.choices = [(0, _("– bitte wählen –"))] + services.organisation_choices(
        org_query, include=[submitted_org]
    )
    form.position_id.choices = [(0, _("– keine –"))] + services.position_choices(
        include=[submitted_position]
    )
    return form


def _render_detail(
    round_: AllocationRound, placement_form: PlacementForm | None = None, status: int = 200
):
    org_search = OrganisationSearchForm(request.args)
    form = placement_form or _placement_form(org_search.org_q.data or "")
    return (
        render_template(
            "rounds/detail.html",
            overview=services.round_overview(round_),
            placement_form=form,
            org_search=org_search,
            run_form=RunForm(),
            confirm=ConfirmForm(),
            position_links="positions.detail" in current_app.view_functions,
        ),
        status,
    )


@bp.route("/<int:round_id>")
@coordinator_required
def detail(round_id: int):
    """A round's page for the coordinator: placements, trainees, rankings, actions."""
    return _render_detail(_round(round_id))


@bp.route("/<int:round_id>/bearbeiten", methods=["GET", "POST"])
@coordinator_required
def edit(round_id: int):
    """Change name, description and deadline."""
    round_ = _round(round_id)
    _guard(round_)
    form = RoundForm(obj=round_)
    if form.validate_on_submit():
        services.update_round(
            round_,
            RoundData(form.name.data, form.description.data or "", form.ranking_deadline.data),
            current_user,
        )
        flash(_("Die Angaben der Runde sind gespeichert."), "success")
        return redirect(url_for("rounds.detail", round_id=round_.id))
    status = 200 if request.method == "GET" else 422
    return render_template("rounds/form.html", form=form, round=round_), status


@bp.route("/<int:round_id>/loeschen", methods=["POST"])
@coordinator_required
def delete(round_id: int):
    """Delete a draft."""
    round_ = _round(round_id)
    _guard(round_)
    try:
        services.delete_round(round_, current_user)
    except RoundError as err:
        return _conflict(round_, err.message)
    flash(_("Der Entwurf ist gelöscht."), "success")
    return redirect(url_for("rounds.index"))


@bp.route("/<int:round_id>/einsatzorte", methods=["POST"])
@coordinator_required
def add_placement(round_id: int):
    """Add a placement with seats to the round."""
    round_ = _round(round_id)
    _guard(round_)
    form = _placement_form(request.args.get("org_q", ""))
    if form.validate_on_submit():
        data = PlacementData(
            organisation_id=form.organisation_id.data,
            seats=form.seats.data,
            name=form.name.data or "",
            placement_tag=form.placement_tag.data or "",
            position_id=form.position_id.data or None,
        )
        try:
            placement = services.add_placement(round_, data, current_user)
        except RoundConflict as err:
            return _conflict(round_, err.message)
        except RoundError as err:
            getattr(form, err.field or "organisation_id").errors.append(err.message)
        else:
            flash(_("Einsatzort „%(name)s“ hinzugefügt.", name=placement.name), "success")
            return redirect(url_for("rounds.detail", round_id=round_.id) + "#einsatzorte")
    return _render_detail(round_, form, 422)


@bp.route("/<int:round_id>/einsatzorte/<int:placement_id>/entfernen", methods=["POST"])
@coordinator_required
def remove_placement(round_id: int, placement_id: int):
    """Withdraw a placement from the round."""
    round_ = _round(round_id)
    _guard(round_)
    placement = _placement(round_, placement_id)
    name = placement.name
    try:
        services.remove_placement(round_, placement, current_user)
    except RoundError as err:
        return _conflict(round_, err.message)
    flash(_("Einsatzort „%(name)s“ entfernt.", name=name), "success")
    return redirect(url_for("rounds.detail", round_id=round_.id) + "#einsatzorte")


def _ids(name: str) -> list[int]:
    try:
        return services.parse_order(request.form.getlist(name))
    except RoundError:
        abort(400)


@bp.route("/<int:round_id>/teilnehmende", methods=["GET", "POST"])
@coordinator_required
def trainees(round_id: int):
    """Choose the eligible trainees (filter by name or profession, tick, save)."""
    round_ = _round(round_id)
    if request.method == "POST":
        _guard(round_)
    filter_form = TraineeFilterForm(request.args)
    professions = services.profession_choices()
    filter_form.profession.choices = [("", _("– alle Berufe –"))] + professions
    flt = TraineeFilter(
        query=filter_form.q.data or "",
        profession=filter_form.profession.data or "",
        only_selected=bool(filter_form.only_selected.data),
    )
    form = TraineeSelectionForm()
    if form.validate_on_submit():
        shown = _ids("shown")
        selected = shown if request.form.get("action") == "select_all" else _ids("selected")
        try:
            added, removed = services.set_eligible_trainees(round_, shown, selected, current_user)
        except RoundConflict as err:
            return _conflict(round_, err.message)
        except RoundError as err:
            flash(err.message, "error")
        else:
            flash(
                _(
                    "Teilnehmende gespeichert: %(added)s hinzugefügt, %(removed)s entfernt.",
                    added=added,
                    removed=removed,
                ),
                "success",
            )
        return redirect(url_for("rounds.trainees", round_id=round_.id, **request.args))
    candidates, total = services.trainee_candidates(round_, flt)
    return render_template(
        "rounds/trainees.html",
        round=round_,
        form=form,
        filter_form=filter_form,
        candidates=candidates,
        total=total,
        editable=round_.status in ("draft", "ranking"),
        profession_names=dict(professions),
    )


@bp.route("/<int:round_id>/oeffnen", methods=["POST"])
@coordinator_required
def open_round(round_id: int):
    """Open a draft for rankings, or reopen a matched round (its result is discarded)."""
    round_ = _round(round_id)
    _guard(round_)
    reopening = round_.status == "matched"
    try:
        services.open_round(round_, current_user)
    except RoundConflict as err:
        return _conflict(round_, err.message)
    except RoundError as err:
        flash(err.message, "error")
    else:
        if reopening:
            flash(
                _(
                    "Die Runde ist wieder offen für Rangfolgen; das bisherige Ergebnis ist verworfen."
                ),
                "success",
            )
        else:
            flash(
                _(
                    "Die Runde ist offen: Auszubildende und Einrichtungen können jetzt ihre Rangfolgen abgeben."
                ),
                "success",
            )
    return redirect(url_for("rounds.detail", round_id=round_.id))


# --------------------------------------------------------------------------- rankings


def _ranking_post(round_: AllocationRound, build, save) -> tuple[Any, str, int, Response | None]:  # type: ignore[no-untyped-def]
    """Shared handling of both ranking forms: a move re-renders, ``save`` stores.

    Returns (editor, error, status, response-if-done).
    """
    form = RankingForm()
    if not form.validate_on_submit():
        abort(400)
    action = request.form.get("action", "save")
    try:
        submitted = services.parse_order(request.form.getlist("order"))
    except RoundError as err:
        return build(None, ""), err.message, 422, None
    if action != "save":
        return build(submitted, action), "", 200, None
    try:
        save(submitted)
    except RoundConflict as err:
        return None, "", 409, _conflict(round_, err.message)
    except RoundError as err:
        return build(submitted, ""), err.message, 422, None
    flash(_("Ihre Rangfolge ist gespeichert."), "success")
    return None, "", 302, None


@bp.route("/<int:round_id>/meine-rangfolge", methods=["GET", "POST"])
@roles_required("trainee")
def my_ranking(round_id: int):
    """A trainee ranks the placements of a round they take part in (and later sees the result)."""
    round_ = _round(round_id)
    if not services.is_eligible(round_, current_user):
        abort(403)
    if round_.status == "draft":
        abort(404)
    error, status = "", 200
    if request.method == "POST":
        _guard(round_)
        editor, error, status, response = _ranking_post(
            round_,
            lambda submitted, action: services.trainee_editor(
                round_, current_user, submitted, action
            ),
            lambda order: services.save_trainee_ranking(round_, current_user, order),
        )
        if response is not None:
            return response
        if status == 302:
            return redirect(url_for("rounds.my_ranking", round_id=round_.id))
    else:
        editor = services.trainee_editor(round_, current_user)
    return (
        render_template(
            "rounds/rank.html",
            round=round_,
            editor=editor,
            error=error,
            form=RankingForm(),
            outcome=services.trainee_outcome(round_, current_user),
            today=services.local_today(),
        ),
        status,
    )


@bp.route("/<int:round_id>/einsatzorte/<int:placement_id>/rangfolge", methods=["GET", "POST"])
@roles_required("provider")
def rank_applicants(round_id: int, placement_id: int):
    """A provider ranks the applicants of one of their organisation's placements."""
    round_ = _round(round_id)
    placement = _placement(round_, placement_id)
    if not services.can_rank_placement(current_user, placement):
        abort(403)
    if round_.status == "draft":
        abort(404)
    error, status = "", 200
    if request.method == "POST":
        _guard(round_)
        editor, error, status, response = _ranking_post(
            round_,
            lambda submitted, action: services.applicant_editor(
                round_, placement, submitted, action
            ),
            lambda order: services.save_placement_ranking(round_, placement, order, current_user),
        )
        if response is not None:
            return response
        if status == 302:
            return redirect(
                url_for("rounds.rank_applicants", round_id=round_.id, placement_id=placement.id)
            )
    else:
        editor = services.applicant_editor(round_, placement)
    return (
        render_template(
            "rounds/rank_applicants.html",
            round=round_,
            placement=placement,
            editor=editor,
            error=error,
            form=RankingForm(),
            assigned=services.placement_outcome(round_, placement),
        ),
        status,
    )


# --------------------------------------------------------------------------- match and publish


@bp.route("/<int:round_id>/zuteilen", methods=["POST"])
@coordinator_required
def run(round_id: int):
    """Compute the stable allocation (again): small rounds at once, big ones as a job."""
    round_ = _round(round_id)
    _guard(round_)
    form = RunForm()  # CSRF is checked app-wide before the view runs
    fill_missing = (
        bool(form.fill_missing.data)
        if "fill_missing" in request.form or "submit" in request.form
        else True
    )
    try:
        job = services.start_match(round_, current_user, fill_missing=fill_missing)
    except RoundConflict as err:
        return _conflict(round_, err.message)
    if job.status == "done":
        flash(
            _(
                "Die Zuteilung ist berechnet. Prüfen Sie das Ergebnis, bevor Sie es veröffentlichen."
            ),
            "success",
        )
        return redirect(url_for("rounds.result", round_id=round_.id))
    if job.status == "failed":
        flash(job.message, "error")
        return redirect(url_for("rounds.detail", round_id=round_.id))
    return redirect(url_for("rounds.job", round_id=round_.id, job_id=job.id))


@bp.route("/<int:round_id>/veroeffentlichen", methods=["POST"])
@coordinator_required
def publish(round_id: int):
    """Publish the result: final, and everyone gets their mail."""
    round_ = _round(round_id)
    _guard(round_)
    try:
        job = services.start_publish(round_, current_user)
    except RoundConflict as err:
        return _conflict(round_, err.message)
    if job.status == "done":
        mails = (job.result or {}).get("summary", {}).get("mails", 0)
        flash(
            _(
                "Das Ergebnis ist veröffentlicht; %(count)s Benachrichtigungen sind unterwegs.",
                count=mails,
            ),
            "success",
        )
        return redirect(url_for("rounds.result", round_id=round_.id))
    if job.status == "failed":
        flash(job.message, "error")
        return redirect(url_for("rounds.result", round_id=round_.id))
    return redirect(url_for("rounds.job", round_id=round_.id, job_id=job.id))


def _job(round_: AllocationRound, job_id: int):  # type: ignore[no-untyped-def]
    job = services.round_job(round_, job_id)
    if job is None:
        abort(404)
    return job


@bp.route("/<int:round_id>/auftraege/<int:job_id>")
@coordinator_required
def job(round_id: int, job_id: int):
    """Progress of a matching or publishing job (the fragment below is polled by htmx)."""
    round_ = _round(round_id)
    return render_template("rounds/job.html", round=round_, job=_job(round_, job_id))


@bp.route("/<int:round_id>/auftraege/<int:job_id>/fortschritt")
@coordinator_required
def job_progress(round_id: int, job_id: int):
    """The progress fragment, polled every second until the job ends."""
    round_ = _round(round_id)
    return render_template("rounds/_job.html", round=round_, job=_job(round_, job_id))


# --------------------------------------------------------------------------- result


def _result(round_: AllocationRound):  # type: ignore[no-untyped-def]
    result = services.round_result(round_)
    if result is None:
        flash(_("Für diese Runde gibt es noch kein Ergebnis."), "info")
    return result


@bp.route("/<int:round_id>/ergebnis")
@coordinator_required
def result(round_id: int):
    """The result with statistics: matched share, rank distribution, unfilled seats."""
    round_ = _round(round_id)
    outcome = _result(round_)
    if outcome is None:
        return redirect(url_for("rounds.detail", round_id=round_.id))
    return render_template(
        "rounds/result.html",
        round=round_,
        result=outcome,
        chart=outcome.chart(current_language()),
        confirm=ConfirmForm(),
        run_form=RunForm(),
    )


@bp.route("/<int:round_id>/ergebnis/druck")
@coordinator_required
def print_view(round_id: int):
    """The result laid out for printing or saving as PDF."""
    round_ = _round(round_id)
    outcome = _result(round_)
    if outcome is None:
        return redirect(url_for("rounds.detail", round_id=round_.id))
    return render_template(
        "rounds/print.html", round=round_, result=outcome, chart=outcome.chart(current_language())
    )


@bp.route("/<int:round_id>/ergebnis.csv")
@coordinator_required
def export(round_id: int):
    """The result as CSV (one row per trainee)."""
    round_ = _round(round_id)
    try:
        text = services.export_csv(round_)
    except RoundConflict as err:
        return _conflict(round_, err.message)
    return Response(
        text.encode("utf-8"),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="vergaberunde-{round_.id}.csv"'},
    )


@bp.route("/<int:round_id>/pruefung")
@coordinator_required
def verify(round_id: int):
    """Re-run the algorithm on the stored rankings and confirm the stored result (audit view)."""
    round_ = _round(round_id)
    if services.round_result(round_) is None:
        flash(_("Für diese Runde gibt es noch kein Ergebnis."), "info")
        return redirect(url_for("rounds.detail", round_id=round_.id))
    return render_template(
        "rounds/verify.html",
        round=round_,
        check=services.verify_round(round_),
        algorithm=services.ALGORITHM,
    )
