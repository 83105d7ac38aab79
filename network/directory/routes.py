"""Directory views: parse, authorise, call one service, then flash + redirect or render."""

from __future__ import annotations

import json

from flask import (
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from network.auth.decorators import coordinator_required, roles_required
from network.directory import bp, services
from network.directory.csv_io import COLUMN_HELP, MUENSTERLAND_BOUNDS
from network.directory.editing import FIELD_LABELS, FIELDS
from network.directory.forms import ActionForm, ImportForm, OrganisationForm
from network.directory.search import RADIUS_CHOICES, SearchParamError, SearchParams
from network.extensions import db, login_manager
from network.models import Job, Organisation, User
from network.reference import load_kreise, load_municipalities
from network.vocabulary import MODEL_REGIONS, ORGANISATION_KINDS, TAGS

MAP_PER_PAGE = 100


#: Row ids are 32-bit on PostgreSQL; a larger number in a URL is simply not found.
MAX_ROW_ID = 2**31 - 1


def _get_or_404(model, row_id: int):  # type: ignore[no-untyped-def]
    if not 0 < row_id <= MAX_ROW_ID:
        abort(404)
    return db.get_or_404(model, row_id)


def _municipality_names() -> dict[str, str]:
    return {m.ags: m.name for m in load_municipalities()}


def _search_choices() -> dict:
    return {
        "kinds": ORGANISATION_KINDS,
        "municipalities": sorted(load_municipalities(), key=lambda m: m.name),
        "kreise": load_kreise(),
        "model_regions": MODEL_REGIONS,
        "tags": TAGS,
        "radius_choices": RADIUS_CHOICES,
    }


@bp.route("/")
def index():
    """The public directory: text search, filters, radius, list or map."""
    view = "map" if request.args.get("view") == "map" else "list"
    errors: dict[str, str] = {}
    try:
        params = services.parse_search_args(
            request.args, default_per_page=MAP_PER_PAGE if view == "map" else 20
        )
    except SearchParamError as err:
        errors = err.errors
        params = SearchParams()
    results = services.search_organisations(
        params, include_members_only=current_user.is_authenticated
    )
    status = 400 if errors else 200
    return (
        render_template(
            "directory/index.html",
            params=params,
            args=request.args,
            errors=errors,
            results=results,
            view=view,
            link_args=dict(params.as_args(), **({"view": "map"} if view == "map" else {})),
            **_search_choices(),
        ),
        status,
    )


def _load_visible(org_id: int) -> Organisation:
    org = _get_or_404(Organisation, org_id)
    if not services.can_view(current_user, org):
        abort(login_manager.unauthorized())
    return org


@bp.route("/<int:org_id>")
def profile(org_id: int):
    """An organisation's profile: contact, offers and needs, collaborations, history for members."""
    org = _load_visible(org_id)
    view = services.profile_view(org, current_user)
    return render_template(
        "directory/profile.html",
        view=view,
        org=org,
        action_form=ActionForm(),
        field_labels=FIELD_LABELS,
        municipality_names=_municipality_names(),
    )


@bp.route("/neu", methods=["GET", "POST"])
@roles_required("provider", "coordinator")
def create():
    """Register an organisation; the person registering it becomes its administrator."""
    form = OrganisationForm(municipalities=services.municipality_choices())
    duplicate = None
    if form.validate_on_submit():
        try:
            org = services.create_organisation(
                form.to_data(), current_user, allow_duplicate=bool(form.confirm_duplicate.data)
            )
        except services.DuplicateOrganisation as err:
            duplicate = err.existing
            form.name.errors.append(str(err))
        except services.DirectoryError as err:
            form.ags.errors.append(str(err))
        else:
            flash(_("„%(name)s“ ist jetzt im Verzeichnis.", name=org.name), "success")
            return redirect(url_for("directory.profile", org_id=org.id))
    status = 200 if request.method == "GET" else 422
    return render_template(
        "directory/edit.html", form=form, org=None, duplicate=duplicate, bounds=MUENSTERLAND_BOUNDS
    ), status


@bp.route("/<int:org_id>/bearbeiten", methods=["GET", "POST"])
@login_required
def edit(org_id: int):
    """Edit an organisation (its approved members and coordinators only).

    The form carries the version it was loaded from; if someone saved in between, the
    conflict page shows both versions and offers the user's changes re-applied on top.
    """
    org = _get_or_404(Organisation, org_id)
    if not services.can_edit(current_user, org):
        abort(403)
    form = OrganisationForm(municipalities=services.municipality_choices())
    if request.method == "GET":
        current = services.snapshot(org)
        form.fill(current)
        form.version.data = str(org.version)
        form.base.data = json.dumps(current)
        return render_template(
            "directory/edit.html", form=form, org=org, duplicate=None, bounds=MUENSTERLAND_BOUNDS
        )
    if form.validate_on_submit():
        try:
            changes = services.update_organisation(
                org,
                form.to_data(),
                base_version=form.base_version(),
                base_snapshot=form.base_snapshot(),
                actor=current_user,
            )
        except services.EditConflict as conflict:
            form.fill(conflict.merged)
            form.version.data = str(conflict.current_version)
            form.base.data = json.dumps(conflict.current)
            return (
                render_template(
                    "directory/conflict.html",
                    form=form,
                    org=org,
                    conflict=conflict,
                    fields=FIELDS,
                    field_labels=FIELD_LABELS,
                    municipality_names=_municipality_names(),
                    bounds=MUENSTERLAND_BOUNDS,
                ),
                409,
            )
        except services.DirectoryError as err:
            flash(str(err), "error")
            return redirect(url_for("directory.index"))
        if changes:
            flash(_("Die Änderungen sind gespeichert."), "success")
        else:
            flash(_("Sie haben nichts geändert."), "info")
        return redirect(url_for("directory.profile", org_id=org.id))
    return render_template(
        "directory/edit.html", form=form, org=org, duplicate=None, bounds=MUENSTERLAND_BOUNDS
    ), 422


@bp.route("/<int:org_id>/beitreten", methods=["POST"])
@roles_required("provider", "coordinator")
def join(org_id: int):
    """Ask to join an organisation; its administrators decide."""
    org = _load_visible(org_id)
    form = ActionForm()
    if form.validate_on_submit():
        try:
            services.request_membership(org, current_user)
        except services.DirectoryError as err:
            flash(str(err), "warning")
        else:
            flash(
                _(
                    "Ihre Anfrage ist verschickt. Sie erhalten eine E-Mail, sobald sie entschieden ist."
                ),
                "success",
            )
    return redirect(url_for("directory.profile", org_id=org.id))


@bp.route("/<int:org_id>/mitglieder")
@login_required
def members(org_id: int):
    """Members and open join requests (administrators of the organisation and coordinators)."""
    org = _get_or_404(Organisation, org_id)
    if not services.can_manage_members(current_user, org):
        abort(403)
    return render_template(
        "directory/members.html",
        org=org,
        memberships=services.members_view(org),
        action_form=ActionForm(),
    )


def _decide(org_id: int, user_id: int, approve: bool):
    org = _get_or_404(Organisation, org_id)
    if not services.can_manage_members(current_user, org):
        abort(403)
    person = _get_or_404(User, user_id)
    form = ActionForm()
    if form.validate_on_submit():
        try:
            services.decide_membership(org, person.id, approve, current_user)
        except services.DirectoryError as err:
            flash(str(err), "warning")
        else:
            name = person.name or person.email
            if approve:
                flash(_("%(name)s ist jetzt Mitglied.", name=name), "success")
            else:
                flash(_("%(name)s ist nicht (mehr) Mitglied.", name=name), "info")
    back = url_for("directory.my_organisations")
    return redirect(
        back if request.form.get("next") == back else url_for("directory.members", org_id=org.id)
    )


@bp.route("/<int:org_id>/mitglieder/<int:user_id>/freigeben", methods=["POST"])
@login_required
def approve_member(org_id: int, user_id: int):
    """Approve a join request (administrators of the organisation and coordinators)."""
    return _decide(org_id, user_id, approve=True)


@bp.route("/<int:org_id>/mitglieder/<int:user_id>/ablehnen", methods=["POST"])
@login_required
def decline_member(org_id: int, user_id: int):
    """Decline a join request or remove a member."""
    return _decide(org_id, user_id, approve=False)


@bp.route("/meine")
@roles_required("provider", "coordinator")
def my_organisations():
    """The organisations I act for, my open requests and the requests I may decide."""
    return render_template(
        "directory/my_organisations.html",
        mine=services.my_organisations(current_user),
        action_form=ActionForm(),
    )


# --------------------------------------------------------------------------- import and export


@bp.route("/import", methods=["GET", "POST"])
@coordinator_required
def import_csv():
    """Upload a CSV file of organisations; large files run as a job with a progress bar."""
    form = ImportForm()
    if form.validate_on_submit():
        upload = form.file.data
        job = services.start_import(upload.read(), upload.filename or "import.csv", current_user)
        return redirect(url_for("directory.import_job", job_id=job.id))
    status = 200 if request.method == "GET" else 422
    return (
        render_template(
            "directory/import.html",
            form=form,
            column_help=COLUMN_HELP,
            kinds=ORGANISATION_KINDS,
            tags=TAGS,
        ),
        status,
    )


def _import_job(job_id: int) -> Job:
    job = _get_or_404(Job, job_id)
    if job.kind != services.IMPORT_JOB_KIND:
        abort(404)
    return job


@bp.route("/import/<int:job_id>")
@coordinator_required
def import_job(job_id: int):
    """An import's progress and, when done, its summary and report."""
    return render_template("directory/import_job.html", job=_import_job(job_id))


@bp.route("/import/<int:job_id>/fortschritt")
@coordinator_required
def import_progress(job_id: int):
    """The progress fragment polled by htmx every second until the job ends."""
    return render_template("directory/_import_progress.html", job=_import_job(job_id))


@bp.route("/import/<int:job_id>/bericht.csv")
@coordinator_required
def import_report(job_id: int):
    """The rejected rows with line number and reason, as CSV."""
    job = _import_job(job_id)
    if not job.payload:
        abort(404)
    return Response(
        job.payload.encode("utf-8"),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="importbericht-{job.id}.csv"'},
    )


@bp.route("/export.csv")
@coordinator_required
def export_csv():
    """The whole directory as CSV in the import format (round-trips)."""
    chunks = services.export_csv_chunks()
    return Response(
        stream_with_context(chunk.encode("utf-8") for chunk in chunks),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="organisationen.csv"'},
    )
