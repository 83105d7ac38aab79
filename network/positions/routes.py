"""Views of the positions area: parse, authorise, call one service, then flash and redirect or render."""

from __future__ import annotations

import json
from datetime import date

from flask import Response, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, logout_user
from werkzeug.exceptions import RequestEntityTooLarge

from network.auth.decorators import roles_required
from network.extensions import db
from network.i18n import current_language
from network.models import Application, Organisation, Position, SavedSearch
from network.positions import bp, services
from network.positions.catalogue import LANGUAGES, profession_label
from network.positions.forms import (
    AnswerForm,
    ApplicationForm,
    ConfirmForm,
    DeleteAccountForm,
    InviteForm,
    PositionForm,
    PositionStatusForm,
    ProfileForm,
    SaveSearchForm,
    SearchForm,
)
from network.positions.services import PositionData, ProfileData, SearchParams
from network.positions.uploads import MAX_ATTACHMENT_BYTES
from network.vocabulary import label


@bp.app_template_filter("profession_label")
def _profession_label_filter(code: str | None) -> str:
    """``{{ position.profession|profession_label }}``: the profession in the current language."""
    return profession_label(code, current_language())


@bp.app_template_filter("language_label")
def _language_label_filter(code: str | None) -> str:
    """``{{ "de"|language_label }}``: a language code in the current language."""
    return label(LANGUAGES, code, current_language())


def _status(ok: bool = True) -> int:
    return 200 if request.method == "GET" or ok else 422


def _page() -> int:
    return min(10000, max(1, request.args.get("page", 1, type=int) or 1))


def _own_position(position_id: int) -> Position:
    """The position, if the current user acts for its organisation (else 403)."""
    position = db.get_or_404(Position, position_id)
    if not services.is_member(current_user, position.organisation_id):
        abort(403)
    return position


def _local_target(target: str | None) -> str | None:
    # Only paths on this site: never an absolute URL someone slipped into the form.
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


def _form_data_of(params: SearchParams) -> dict:
    return {
        "art": list(params.position_types),
        "beruf": list(params.professions),
        "ort": params.ags or "",
        "umkreis": (
            str(int(params.radius_km))
            if params.radius_km and float(params.radius_km).is_integer()
            else str(params.radius_km or "")
        ),
        "beginn": params.start_from,
        "angebot": list(params.benefits),
    }


# --------------------------------------------------------------------------- public


#: Ids in URLs: larger numbers are no row of ours (and would overflow the database driver).
ID = "int(max=2147483647)"


@bp.route("/")
def search():
    """Search open positions; trainees with a profile get them ranked by match score, with reasons."""
    profile = services.profile_of(current_user)
    if profile is not None and not request.args.get("s"):
        params = services.default_search_params(profile)
        form = SearchForm(formdata=None, data=_form_data_of(params))
    else:
        form = SearchForm(request.args)
        form.centre_from_profile = profile is not None and profile.latitude is not None
        form.validate()
        params = SearchParams.from_query(request.args)
    form.offer_radius(params.radius_km)
    outcome = services.search_positions(params, seeker=current_user, page=_page())
    is_trainee = current_user.is_authenticated and current_user.role == "trainee"
    return render_template(
        "positions/search.html",
        form=form,
        outcome=outcome,
        query=dict(params.to_query(), s="1"),
        save_form=SaveSearchForm() if is_trainee else None,
        has_profile=profile is not None,
        is_trainee=is_trainee,
    )


@bp.route(f"/<{ID}:position_id>")
def detail(position_id: int):
    """One position; trainees see how well it fits them and can apply."""
    position = db.get_or_404(Position, position_id)
    page = services.position_page(position, current_user)
    return render_template(
        "positions/detail.html",
        position=position,
        page=page,
        status_form=PositionStatusForm(status=position.status),
    )


# --------------------------------------------------------------------------- trainees


@bp.route("/profil", methods=["GET", "POST"])
@roles_required("trainee")
def profile():
    """The trainee's search profile, with the consent to be seen by providers."""
    existing = services.profile_of(current_user)
    form = ProfileForm(
        data=vars(ProfileData.from_profile(existing)) if request.method == "GET" else None
    )
    if form.validate_on_submit():
        data = ProfileData(
            professions=form.professions.data or [],
            position_types=form.position_types.data or [],
            home_ags=form.home_ags.data or None,
            latitude=form.latitude.data,
            longitude=form.longitude.data,
            max_distance_km=form.max_distance_km.data,
            earliest_start=form.earliest_start.data,
            qualifications=form.qualifications.data or "",
            languages=form.languages.data or [],
            driving_licence=form.driving_licence.data,
            wanted_benefits=form.wanted_benefits.data or [],
            about=form.about.data or "",
            visible_to_providers=form.visible_to_providers.data,
        )
        try:
            services.save_profile(current_user, data)
        except services.PositionError as err:
            form.home_ags.errors = [*form.home_ags.errors, str(err)]
        else:
            flash(_("Ihr Suchprofil ist gespeichert."), "success")
            return redirect(url_for("positions.search"))
    return render_template("positions/profile.html", form=form, profile=existing), _status(
        not form.errors
    )


@bp.route("/profil/export")
@roles_required("trainee")
def export_data():
    """Download everything stored about the trainee as JSON."""
    data = services.export_user_data(current_user)
    body = json.dumps(data, ensure_ascii=False, indent=2)
    response = Response(body, mimetype="application/json")
    filename = f"meine-daten-{date.today().isoformat()}.json"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/profil/loeschen", methods=["GET", "POST"])
@roles_required("trainee")
def delete_account():
    """Delete the trainee's account and all their personal data."""
    form = DeleteAccountForm()
    if form.validate_on_submit():
        if not current_user.check_password(form.password.data):
            form.password.errors = [_("Das Passwort ist nicht richtig.")]
        else:
            services.delete_trainee_account(current_user._get_current_object())
            logout_user()
            flash(_("Ihr Konto und Ihre Daten sind gelöscht."), "success")
            return redirect(url_for("main.index"))
    return render_template("positions/delete_account.html", form=form), _status(not form.errors)


@bp.route("/bewerbungen")
@roles_required("trainee")
def my_applications():
    """The trainee's applications and invitations."""
    overview = services.trainee_overview(current_user)
    return render_template(
        "positions/my_applications.html", overview=overview, withdraw_form=ConfirmForm()
    )


@bp.route(f"/<{ID}:position_id>/bewerben", methods=["GET", "POST"])
@roles_required("trainee")
def apply(position_id: int):
    """Apply for a position with a message and an optional attachment."""
    position = db.get_or_404(Position, position_id)
    if request.method == "GET" and (position.status != "open" or services.is_expired(position)):
        flash(_("Diese Stelle nimmt keine Bewerbungen mehr an."), "warning")
        return redirect(url_for("positions.detail", position_id=position.id))
    try:
        form = ApplicationForm()
    except RequestEntityTooLarge:
        form = ApplicationForm(formdata=None)
        form.attachment.errors = [
            _(
                "Die Datei ist viel zu groß (höchstens 5 MB). Ihre Nachricht konnte deshalb nicht "
                "übertragen werden – bitte geben Sie sie erneut ein und wählen Sie eine kleinere Datei."
            )
        ]
        return render_template(
            "positions/apply.html", form=form, position=position, max_bytes=MAX_ATTACHMENT_BYTES
        ), 413
    if form.validate_on_submit():
        try:
            services.apply_for_position(
                position,
                current_user._get_current_object(),
                form.message.data,
                form.checked_attachment,
            )
        except services.PositionError as err:
            form.message.errors = [*form.message.errors, str(err)]
        else:
            flash(
                _(
                    "Ihre Bewerbung ist abgeschickt. Die Einrichtung wird per E-Mail benachrichtigt."
                ),
                "success",
            )
            return redirect(url_for("positions.my_applications"))
    return render_template("positions/apply.html", form=form, position=position), _status(
        not form.errors
    )


@bp.route(f"/bewerbungen/<{ID}:application_id>/zurueckziehen", methods=["POST"])
@roles_required("trainee")
def withdraw(application_id: int):
    """Withdraw one's own application."""
    application = db.get_or_404(Application, application_id)
    if application.trainee_id != current_user.id:
        abort(403)
    if ConfirmForm().validate_on_submit():
        services.withdraw_application(application)
        flash(_("Ihre Bewerbung ist zurückgezogen."), "info")
    return redirect(url_for("positions.my_applications"))


@bp.route("/gespeicherte-suchen")
@roles_required("trainee")
def saved_searches():
    """The trainee's saved searches with the number of new matches."""
    return render_template(
        "positions/saved_searches.html",
        searches=services.saved_searches_of(current_user),
        delete_form=ConfirmForm(),
    )


@bp.route("/gespeicherte-suchen/neu", methods=["POST"])
@roles_required("trainee")
def save_search():
    """Save the current filters (from the query string) under a name."""
    form = SaveSearchForm()
    params = SearchParams.from_query(request.args)
    if form.validate_on_submit():
        services.save_search(current_user, form.name.data, params)
        flash(_("Die Suche „%(name)s“ ist gespeichert.", name=form.name.data.strip()), "success")
        return redirect(url_for("positions.saved_searches"))
    flash(" ".join(form.name.errors) or _("Die Suche konnte nicht gespeichert werden."), "error")
    return redirect(url_for("positions.search", **dict(params.to_query(), s="1")))


@bp.route(f"/gespeicherte-suchen/<{ID}:search_id>")
@roles_required("trainee")
def run_saved_search(search_id: int):
    """Open a saved search (and note that its results were seen)."""
    saved = db.get_or_404(SavedSearch, search_id)
    if saved.user_id != current_user.id:
        abort(403)
    params = services.mark_saved_search_seen(saved)
    return redirect(url_for("positions.search", **dict(params.to_query(), s="1")))


@bp.route(f"/gespeicherte-suchen/<{ID}:search_id>/loeschen", methods=["POST"])
@roles_required("trainee")
def delete_saved_search(search_id: int):
    """Delete a saved search."""
    saved = db.get_or_404(SavedSearch, search_id)
    if saved.user_id != current_user.id:
        abort(403)
    if ConfirmForm().validate_on_submit():
        services.delete_saved_search(saved)
        flash(_("Die gespeicherte Suche ist gelöscht."), "info")
    return redirect(url_for("positions.saved_searches"))


# --------------------------------------------------------------------------- providers


@bp.route("/verwalten")
@roles_required("provider")
def manage():
    """The positions of the provider's organisations."""
    return render_template("positions/manage.html", groups=services.managed_positions(current_user))


def _position_form_data(form: PositionForm) -> PositionData:
    return PositionData(
        position_type=form.position_type.data,
        profession=form.profession.data,
        title=form.title.data or "",
        description=form.description.data or "",
        seats=form.seats.data,
        start_date=form.start_date.data,
        end_date=form.end_date.data,
        hours_per_week=form.hours_per_week.data,
        driving_licence=form.driving_licence.data,
        languages=form.languages.data or [],
        requirements_text=form.requirements_text.data or "",
        benefits=form.benefits.data or [],
        deadline=form.deadline.data,
        status=form.status.data or "open",
    )


@bp.route("/neu", methods=["GET", "POST"])
@roles_required("provider")
def create():
    """Publish a new position for one of the provider's organisations."""
    organisations = services.member_organisations(current_user)
    if not organisations:
        flash(
            _(
                "Sie sind noch keiner Organisation zugeordnet. Legen Sie zuerst Ihre Organisation an."
            ),
            "warning",
        )
        return redirect(url_for("positions.manage"))
    form = PositionForm(organisations=organisations)
    if request.method == "GET":
        form.organisation_id.data = request.args.get("organisation", organisations[0].id, type=int)
    if form.validate_on_submit():
        organisation = db.get_or_404(Organisation, form.organisation_id.data)
        if not services.is_member(current_user, organisation.id):
            abort(403)
        try:
            position = services.save_position(_position_form_data(form), organisation=organisation)
        except services.PositionError as err:
            form.profession.errors = [*form.profession.errors, str(err)]
        else:
            flash(_("Die Stelle „%(title)s“ ist veröffentlicht.", title=position.title), "success")
            return redirect(url_for("positions.detail", position_id=position.id))
    return render_template("positions/position_form.html", form=form, position=None), _status(
        not form.errors
    )


@bp.route(f"/<{ID}:position_id>/bearbeiten", methods=["GET", "POST"])
@roles_required("provider")
def edit(position_id: int):
    """Change a position of one's organisation."""
    position = _own_position(position_id)
    if request.method == "GET":
        form = PositionForm(data=vars(PositionData.from_position(position)))
    else:
        form = PositionForm()
    form.organisation_id.data = position.organisation_id
    form.organisation_id.choices = [(position.organisation_id, position.organisation.name)]
    if form.validate_on_submit():
        try:
            services.save_position(
                _position_form_data(form), organisation=position.organisation, position=position
            )
        except services.PositionError as err:
            form.profession.errors = [*form.profession.errors, str(err)]
        else:
            flash(_("Die Änderungen sind gespeichert."), "success")
            return redirect(url_for("positions.detail", position_id=position.id))
    return render_template("positions/position_form.html", form=form, position=position), _status(
        not form.errors
    )


@bp.route(f"/<{ID}:position_id>/status", methods=["POST"])
@roles_required("provider")
def change_status(position_id: int):
    """Open, fill or close a position."""
    position = _own_position(position_id)
    form = PositionStatusForm()
    if form.validate_on_submit():
        try:
            services.set_position_status(position, form.status.data)
        except services.PositionError as err:
            flash(str(err), "error")
        else:
            flash(_("Der Status ist geändert."), "success")
    return redirect(_local_target(request.form.get("next")) or url_for("positions.manage"))


@bp.route(f"/<{ID}:position_id>/kandidaten")
@roles_required("provider")
def candidates(position_id: int):
    """Consenting candidates for a position, best fit first, with reasons."""
    position = _own_position(position_id)
    ranked = services.ranked_candidates(position, page=_page())
    return render_template(
        "positions/candidates.html", position=position, ranked=ranked, invite_form=InviteForm()
    )


@bp.route(f"/<{ID}:position_id>/kandidaten/<{ID}:user_id>/einladen", methods=["POST"])
@roles_required("provider")
def invite(position_id: int, user_id: int):
    """Invite a consenting candidate to apply (they get an e-mail)."""
    position = _own_position(position_id)
    form = InviteForm()
    if form.validate_on_submit():
        try:
            services.invite_candidate(
                position, user_id, form.message.data or "", inviter=current_user
            )
        except services.PositionError as err:
            flash(str(err), "error")
        else:
            flash(_("Die Einladung ist verschickt."), "success")
    else:
        flash(
            " ".join(form.message.errors) or _("Die Einladung konnte nicht verschickt werden."),
            "error",
        )
    return redirect(
        url_for("positions.candidates", position_id=position.id, page=request.args.get("page", 1))
    )


@bp.route(f"/<{ID}:position_id>/bewerbungen")
@roles_required("provider")
def position_applications(position_id: int):
    """The applications for one of the provider's positions."""
    position = _own_position(position_id)
    return render_template(
        "positions/position_applications.html",
        position=position,
        applications=services.position_applications(position),
    )


@bp.route(f"/bewerbungen/<{ID}:application_id>", methods=["GET", "POST"])
@roles_required("trainee", "provider")
def application_detail(application_id: int):
    """One application: the applicant reads it and the answer; the provider answers it."""
    application = db.get_or_404(Application, application_id)
    if not services.can_view_application(current_user, application):
        abort(403)
    is_provider = services.is_member(current_user, application.position.organisation_id)
    form = (
        AnswerForm(data={"status": application.status, "note": application.provider_note})
        if is_provider
        else None
    )
    if request.method == "POST":
        if form is None:
            abort(403)
        if form.validate_on_submit():
            try:
                services.update_application(application, form.status.data, form.note.data or "")
            except services.PositionError as err:
                form.status.errors = [*form.status.errors, str(err)]
            else:
                flash(
                    _("Ihre Antwort ist gespeichert; die Person wird per E-Mail benachrichtigt."),
                    "success",
                )
                return redirect(
                    url_for("positions.application_detail", application_id=application.id)
                )
    status = 422 if form is not None and form.errors else 200
    return render_template(
        "positions/application_detail.html",
        application=application,
        form=form,
        is_provider=is_provider,
        withdraw_form=ConfirmForm(),
    ), status


@bp.route(f"/bewerbungen/<{ID}:application_id>/anhang")
@roles_required("trainee", "provider")
def attachment(application_id: int):
    """The application's attachment, only for the applicant and the organisation's members."""
    application = db.get_or_404(Application, application_id)
    if not services.can_view_application(current_user, application):
        abort(403)
    found = services.attachment_file(application)
    if found is None:
        abort(404)
    path, name, mimetype = found
    response = send_file(path, mimetype=mimetype, as_attachment=True, download_name=name)
    response.headers["Cache-Control"] = "private, no-store"
    return response
