"""Toolbox views: materials for everyone to download, coordinators upload; public campaign pages."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user

from network.auth.decorators import roles_required
from network.extensions import db
from network.models import CampaignPage, ToolboxItem
from network.toolbox import bp, services
from network.toolbox.files import INLINE_KINDS, MAX_BYTES, safe_download_name
from network.toolbox.forms import LICENCE_SUGGESTIONS, CampaignForm, DeleteForm, UploadForm

# A downloaded file gets no rights at all: no scripts, no styles from elsewhere, no framing,
# and a sandbox, so that even an SVG opened directly cannot act as a page of this site.
DOWNLOAD_CSP = "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; sandbox; frame-ancestors 'none'"


def _is_coordinator() -> bool:
    return bool(current_user.is_authenticated and current_user.has_role("coordinator"))


@bp.context_processor
def _toolbox_context() -> dict:
    return {"categories": services.CATEGORIES}


@bp.route("/")
def index():
    """All materials with licence and usage notes, and the campaign pages."""
    data = services.toolbox_overview(include_unpublished=_is_coordinator())
    return render_template(
        "toolbox/index.html",
        items=data["items"],
        campaigns=data["campaigns"],
        is_coordinator=_is_coordinator(),
        delete_form=DeleteForm(),
    )


@bp.route("/hochladen", methods=["GET", "POST"])
@roles_required("coordinator")
def upload():
    """Upload a material; type, content and size are checked before anything is stored."""
    form = UploadForm()
    if form.validate_on_submit():
        upload_file = form.file.data
        content = upload_file.stream.read(MAX_BYTES + 1)
        try:
            item = services.store_item(
                form.data, upload_file.filename or "", content, user_id=current_user.id
            )
        except services.UploadRejected as err:
            form.file.errors.append(services.upload_message(err))
            form.file.errors.append(
                _("Ihre übrigen Angaben sind erhalten; bitte wählen Sie nur die Datei neu aus.")
            )
        else:
            flash(_("„%(title)s“ ist in der Toolbox.", title=item.title), "success")
            return redirect(url_for("toolbox.index"))
    status = 422 if request.method == "POST" else 200
    return render_template(
        "toolbox/upload.html",
        form=form,
        licences=LICENCE_SUGGESTIONS,
        max_mb=MAX_BYTES // (1024 * 1024),
    ), status


@bp.errorhandler(413)
def upload_too_large(error):  # type: ignore[no-untyped-def]
    """A body beyond MAX_CONTENT_LENGTH never reaches the form; say why on the upload page."""
    if request.endpoint != "toolbox.upload" or not _is_coordinator():
        return error
    form = UploadForm(formdata=None)
    form.file.errors = [
        _(
            "Die Datei ist zu groß; erlaubt sind höchstens %(mb)d MB.",
            mb=MAX_BYTES // (1024 * 1024),
        ),
        _("Bitte füllen Sie das Formular erneut aus – zu große Dateien werden nicht übertragen."),
    ]
    return render_template(
        "toolbox/upload.html",
        form=form,
        licences=LICENCE_SUGGESTIONS,
        max_mb=MAX_BYTES // (1024 * 1024),
    ), 413


@bp.route("/datei/<int:item_id>")
def download(item_id: int):
    """Download a material. Only raster images may show inline; everything else is an attachment."""
    item = db.get_or_404(ToolboxItem, item_id)
    path = services.item_path(item)
    if not path.is_file():
        abort(404)
    extension = "." + item.stored_name.rsplit(".", 1)[-1]
    kind = item.mime_type.split("/")[-1].split(";")[0]
    inline = kind in INLINE_KINDS and request.args.get("ansehen") == "1"
    response = send_file(
        path,
        mimetype=item.mime_type,
        as_attachment=not inline,
        download_name=safe_download_name(item.title, extension),
        max_age=3600,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = DOWNLOAD_CSP
    response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
    return response


@bp.route("/<int:item_id>/loeschen", methods=["POST"])
@roles_required("coordinator")
def delete(item_id: int):
    """Remove a material and its file."""
    item = db.get_or_404(ToolboxItem, item_id)
    if not DeleteForm().validate_on_submit():
        abort(400)
    title = item.title
    services.delete_item(item, user_id=current_user.id)
    flash(_("„%(title)s“ ist gelöscht.", title=title), "success")
    return redirect(url_for("toolbox.index"))


@bp.route("/kampagne/<slug>")
def campaign(slug: str):
    """A public campaign page: the area's employers, open jobs and training offers."""
    page = db.first_or_404(db.select(CampaignPage).filter_by(slug=slug))
    if not page.published and not _is_coordinator():
        abort(404)
    return render_template(
        "toolbox/campaign.html", view=services.campaign_view(page), is_coordinator=_is_coordinator()
    )


@bp.route("/kampagnen")
@roles_required("coordinator")
def campaigns():
    """Coordinators manage the campaign pages."""
    data = services.toolbox_overview(include_unpublished=True)
    return render_template(
        "toolbox/campaigns.html",
        campaigns=data["campaigns"],
        labels={page.id: services.scope_label(page) for page in data["campaigns"]},
        delete_form=DeleteForm(),
    )


@bp.route("/kampagnen/neu", methods=["GET", "POST"])
@roles_required("coordinator")
def campaign_new():
    """Create a campaign page."""
    form = CampaignForm()
    if form.validate_on_submit():
        page = services.save_campaign(None, form.data, user_id=current_user.id)
        flash(_("Die Kampagnenseite „%(title)s“ ist gespeichert.", title=page.title), "success")
        return redirect(url_for("toolbox.campaign", slug=page.slug))
    status = 422 if request.method == "POST" else 200
    return render_template("toolbox/campaign_form.html", form=form, page=None), status


@bp.route("/kampagnen/<int:page_id>/bearbeiten", methods=["GET", "POST"])
@roles_required("coordinator")
def campaign_edit(page_id: int):
    """Edit a campaign page."""
    page = db.get_or_404(CampaignPage, page_id)
    form = CampaignForm(obj=page, page_id=page.id)
    if request.method == "GET":
        form.scope.data = services.scope_of(page)
    if form.validate_on_submit():
        services.save_campaign(page, form.data, user_id=current_user.id)
        flash(_("Die Änderungen sind gespeichert."), "success")
        return redirect(url_for("toolbox.campaign", slug=page.slug))
    status = 422 if request.method == "POST" else 200
    return render_template("toolbox/campaign_form.html", form=form, page=page), status


@bp.route("/kampagnen/<int:page_id>/loeschen", methods=["POST"])
@roles_required("coordinator")
def campaign_delete(page_id: int):
    """Delete a campaign page."""
    page = db.get_or_404(CampaignPage, page_id)
    if not DeleteForm().validate_on_submit():
        abort(400)
    title = page.title
    services.delete_campaign(page, user_id=current_user.id)
    flash(_("„%(title)s“ ist gelöscht.", title=title), "success")
    return redirect(url_for("toolbox.campaigns"))
