"""Digest views: parse, authorise, call one service, then flash and redirect or render."""

from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from network.auth.decorators import coordinator_required
from network.digest import bp, services
from network.digest.forms import WEEKDAY_LABELS, ActionForm, AnnouncementForm, DigestSettingsForm
from network.extensions import csrf, db
from network.models import User


@bp.route("/")
@login_required
def index():
    """The digest area starts with the person's own settings."""
    return redirect(url_for("digest.settings"))


@bp.route("/einstellungen", methods=["GET", "POST"])
@login_required
def settings():
    """Choose how often the digest comes (daily, weekly on a weekday, monthly, off) and its language."""
    form = DigestSettingsForm(
        data={
            "frequency": current_user.digest_frequency,
            "weekday": current_user.digest_weekday,
            "language": current_user.language,
        }
        if request.method == "GET"
        else None
    )
    if form.validate_on_submit():
        try:
            services.update_settings(
                current_user, form.frequency.data, form.weekday.data, form.language.data
            )
        except services.DigestError as err:
            form.frequency.errors.append(str(err))
        else:
            flash(_("Ihre Einstellungen zur Zusammenfassung sind gespeichert."), "success")
            return redirect(url_for("digest.settings"))
    status = 200 if request.method == "GET" else 422
    summary = services.digest_settings_summary(current_user)
    return render_template(
        "digest/settings.html", form=form, summary=summary, weekdays=WEEKDAY_LABELS
    ), status


@bp.route("/abmelden/<token>", methods=["GET", "POST"])
@csrf.exempt  # RFC 8058: mail clients post without a form token; the signed token is the proof
def unsubscribe(token: str):
    """Unsubscribe from the digest without logging in: GET asks, POST (one click) does it."""
    if request.method == "GET":
        try:
            user = services.user_for_unsubscribe_token(token)
        except services.TokenExpired:
            return render_template("digest/unsubscribe_invalid.html", expired=True), 400
        except services.TokenError:
            return render_template("digest/unsubscribe_invalid.html", expired=False), 400
        return render_template(
            "digest/unsubscribe.html",
            token=token,
            email=_masked(user.email),
            off=user.digest_frequency == "off",
        )
    try:
        user = services.unsubscribe(token)
    except services.TokenExpired:
        return render_template("digest/unsubscribe_invalid.html", expired=True), 400
    except services.TokenError:
        return render_template("digest/unsubscribe_invalid.html", expired=False), 400
    return render_template("digest/unsubscribed.html", email=_masked(user.email))


def _masked(email: str) -> str:
    """``a…@example.org``: enough to recognise one's address, not to harvest it from a link."""
    local, _sep, domain = email.partition("@")
    return f"{local[:1]}…@{domain}" if domain else "…"


@bp.route("/termine")
@login_required
def events():
    """Network events and announcements (the digests link here)."""
    return render_template(
        "digest/events.html", announcements=services.recent_announcements(upcoming_only=True)
    )


@bp.route("/ankuendigungen", methods=["GET", "POST"])
@coordinator_required
def announcements():
    """Coordinators post an event or announcement; it goes into everyone's next digest."""
    form = AnnouncementForm()
    if form.validate_on_submit():
        services.post_announcement(
            current_user, form.title.data, form.body.data, form.event_date.data, form.location.data
        )
        flash(
            _("Die Ankündigung ist veröffentlicht und kommt in die nächsten Zusammenfassungen."),
            "success",
        )
        return redirect(url_for("digest.announcements"))
    status = 200 if request.method == "GET" else 422
    return render_template(
        "digest/announcements.html", form=form, announcements=services.recent_announcements()
    ), status


@bp.route("/postausgang")
@coordinator_required
def outbox():
    """Outbox status: counts, failed and waiting messages, digest runs."""
    overview = services.outbox_overview(
        status=request.args.get("status", "failed"),
        page=request.args.get("page", 1, type=int),
        job_id=request.args.get("job", type=int),
    )
    return render_template("digest/outbox.html", overview=overview, form=ActionForm())


@bp.route("/postausgang/<int:message_id>/erneut", methods=["POST"])
@coordinator_required
def retry_message(message_id: int):
    """Send a failed message again."""
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        services.retry_message(message_id, current_user)
    except services.DigestError as err:
        flash(str(err), "error")
    else:
        flash(_("Die Nachricht wird erneut versendet."), "success")
    return redirect(url_for("digest.outbox", status="failed"))


@bp.route("/laeufe", methods=["POST"])
@coordinator_required
def start_run():
    """Start a digest run now (in the background); the outbox page shows its progress."""
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    job = services.start_digest_run(current_user)
    flash(_("Der Versand der fälligen Zusammenfassungen läuft."), "info")
    return redirect(url_for("digest.outbox", job=job.id))


@bp.route("/laeufe/<int:job_id>")
@coordinator_required
def job_status(job_id: int):
    """The progress of a digest run (polled by htmx while it runs)."""
    try:
        job = services.digest_job(job_id)
    except services.DigestError:
        abort(404)
    return render_template("digest/_job.html", job=job)


@bp.route("/vorschau")
@coordinator_required
def preview():
    """Preview anyone's next digest: search a person, then see it as it would be mailed."""
    query = request.args.get("q", "").strip()
    user_id = request.args.get("user", type=int)
    if user_id:
        user = db.get_or_404(User, user_id)
        return render_template(
            "digest/preview.html",
            query=query,
            preview=services.preview_digest(user),
            candidates=None,
        )
    return render_template(
        "digest/preview.html",
        query=query,
        preview=None,
        candidates=services.find_users(query) if query else None,
    )


@bp.route("/vorschau/<int:user_id>/email.html")
@coordinator_required
def preview_email(user_id: int):
    """The HTML part of someone's next digest, exactly as mailed."""
    user = db.get_or_404(User, user_id)
    response = Response(services.preview_digest(user).html, mimetype="text/html")
    # The mail's own inline styles; no scripts in it, and no framing.
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'"
    )
    return response
