"""Review queue (coordinators) and ideas/introductions (providers)."""

from __future__ import annotations

from datetime import date

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from network.auth.decorators import roles_required
from network.extensions import db
from network.i18n import current_language
from network.models import Job, Suggestion
from network.suggestions import bp, services
from network.vocabulary import COLLABORATION_KINDS, ORGANISATION_KINDS


def _filters() -> services.QueueFilters:
    args = request.args
    try:
        min_score = float(args["min_score"]) if args.get("min_score") else None
    except ValueError:
        min_score = None
    return services.QueueFilters(
        kreis=args.get("kreis", ""),
        model_region=args.get("model_region", ""),
        kind=args.get("kind", "") if args.get("kind", "") in ORGANISATION_KINDS else "",
        min_score=min_score,
        cross_only=args.get("cross_only") == "1",
        status=args.get("status", "open"),
        sort=args.get("sort", "score"),
    )


def _is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


@bp.route("/")
@roles_required("coordinator")
def queue():
    """The coordinators' review queue: filter, sort, decide one at a time or in bulk."""
    filters = _filters()
    page = services.queue_page(filters, request.args.get("page", 1, type=int))
    latest_job = db.session.scalar(
        db.select(Job).where(Job.kind == "suggestions").order_by(Job.id.desc()).limit(1)
    )
    return render_template(
        "suggestions/queue.html",
        page=page,
        filters=filters,
        kreise=services.kreise(),
        model_regions=services.model_regions(),
        kinds=ORGANISATION_KINDS,
        collaboration_kinds=COLLABORATION_KINDS,
        latest_job=latest_job,
        today=date.today(),
        services=services,
        language=current_language(),
    )


@bp.route("/<int:suggestion_id>/entscheiden", methods=["POST"])
@roles_required("coordinator")
def decide(suggestion_id: int):
    """Accept, reject or snooze one suggestion (htmx swaps the row; without JS: redirect)."""
    suggestion = db.get_or_404(Suggestion, suggestion_id)
    action = request.form.get("action", "")
    snooze_until = None
    if action == "snooze":
        try:
            snooze_until = date.fromisoformat(request.form.get("snooze_until", ""))
        except ValueError:
            snooze_until = None
    try:
        services.decide(
            suggestion,
            action,
            current_user,
            comment=request.form.get("comment", "").strip()[:2000],
            kind=request.form.get("kind") or None,
            snooze_until=snooze_until,
        )
    except services.DecisionError as err:
        if _is_htmx():
            return render_template(
                "suggestions/_row.html",
                suggestion=suggestion,
                error=str(err),
                collaboration_kinds=COLLABORATION_KINDS,
                services=services,
                language=current_language(),
                today=date.today(),
            ), 422
        flash(str(err), "error")
        return redirect(request.referrer or url_for("suggestions.queue"))
    message = {
        "accept": _(
            "Angenommen: %(a)s und %(b)s arbeiten jetzt zusammen; die Vorstellung ist verschickt."
        ),
        "reject": _("Abgelehnt: %(a)s und %(b)s."),
        "snooze": _("Zurückgestellt: %(a)s und %(b)s."),
    }[action] % {"a": suggestion.org_a.name, "b": suggestion.org_b.name}
    if _is_htmx():
        return render_template(
            "suggestions/_row.html",
            suggestion=suggestion,
            decided_message=message,
            collaboration_kinds=COLLABORATION_KINDS,
            services=services,
            language=current_language(),
            today=date.today(),
        )
    flash(message, "success")
    return redirect(request.referrer or url_for("suggestions.queue"))


@bp.route("/sammelentscheidung", methods=["POST"])
@roles_required("coordinator")
def bulk():
    """Decide several suggestions at once, or show/hide them to providers as ideas."""
    ids = [int(value) for value in request.form.getlist("ids") if value.isdigit()]
    action = request.form.get("action", "")
    if not ids:
        flash(_("Bitte wählen Sie mindestens einen Vorschlag aus."), "warning")
        return redirect(request.referrer or url_for("suggestions.queue"))
    chosen = list(db.session.scalars(db.select(Suggestion).where(Suggestion.id.in_(ids))))
    if action in ("show", "hide"):
        count = services.set_visibility(chosen, action == "show", current_user)
        flash(_("%(count)s Vorschläge geändert.", count=count), "success")
        return redirect(request.referrer or url_for("suggestions.queue"))
    snooze_until = None
    if action == "snooze":
        try:
            snooze_until = date.fromisoformat(request.form.get("snooze_until", ""))
        except ValueError:
            snooze_until = None
    done, problems = 0, []
    for suggestion in chosen:
        try:
            services.decide(
                suggestion,
                action,
                current_user,
                comment=request.form.get("comment", "").strip()[:2000],
                snooze_until=snooze_until,
            )
            done += 1
        except services.DecisionError as err:
            db.session.rollback()
            problems.append(f"{suggestion.org_a.name} – {suggestion.org_b.name}: {err}")
    if done:
        flash(_("%(count)s Vorschläge entschieden.", count=done), "success")
    for problem in problems:
        flash(problem, "error")
    return redirect(request.referrer or url_for("suggestions.queue"))


@bp.route("/neu-berechnen", methods=["POST"])
@roles_required("coordinator")
def refresh():
    """Start a full refresh in the background; the queue shows its progress."""
    job = services.start_refresh_job(current_user.id)
    if _is_htmx():
        return render_template("suggestions/_job.html", job=job)
    flash(_("Die Vorschläge werden neu berechnet."), "info")
    return redirect(url_for("suggestions.queue"))


@bp.route("/berechnung/<int:job_id>")
@roles_required("coordinator")
def job_status(job_id: int):
    """Progress of a refresh (polled by htmx)."""
    job = db.get_or_404(Job, job_id)
    if job.kind != "suggestions":
        abort(404)
    return render_template("suggestions/_job.html", job=job)


@bp.route("/meine")
@roles_required("provider")
def mine():
    """Introductions and ideas concerning the user's organisations."""
    return render_template(
        "suggestions/mine.html",
        items=services.provider_suggestions(current_user),
        services=services,
        language=current_language(),
    )


@bp.route("/<int:suggestion_id>/rueckmeldung", methods=["POST"])
@roles_required("provider")
def feedback(suggestion_id: int):
    """A provider says "interessiert" or "nicht relevant"; it feeds the next refresh."""
    suggestion = db.get_or_404(Suggestion, suggestion_id)
    visible = suggestion.status == "accepted" or (
        suggestion.status == "open" and suggestion.visible_to_providers
    )
    if not visible:
        abort(403)
    try:
        services.give_feedback(suggestion, current_user, request.form.get("value", ""))
    except PermissionError:
        abort(403)
    except services.DecisionError as err:
        flash(str(err), "error")
        return redirect(url_for("suggestions.mine"))
    flash(_("Danke für Ihre Rückmeldung."), "success")
    return redirect(url_for("suggestions.mine"))
