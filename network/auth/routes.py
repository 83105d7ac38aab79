"""Account views: parse, call one service, flash and redirect or render."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from network.auth import bp, services
from network.auth.forms import (
    ChangePasswordForm,
    LoginForm,
    RegistrationForm,
    ResendConfirmationForm,
    ResetPasswordForm,
    ResetRequestForm,
)
from network.auth.tokens import TokenError, TokenExpired
from network.extensions import db, limiter


def _safe_next(default: str) -> str:
    target = request.args.get("next") or request.form.get("next") or ""
    parts = urlsplit(target)
    # Only paths on this site: never an absolute URL an attacker chose.
    if target.startswith("/") and not target.startswith("//") and not parts.netloc:
        return target
    return default


def _login_rate_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _account_key() -> str:
    return "login-account:" + services.normalise_email(request.form.get("email", ""))


def _failed(response) -> bool:  # type: ignore[no-untyped-def]
    # Only failed attempts count: a successful log-in redirects.
    return response.status_code != 302


@bp.route("/registrieren", methods=["GET", "POST"])
def register():
    """Create an account; a confirmation link goes to the e-mail address."""
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = RegistrationForm()
    if request.method == "GET":
        form.language.data = session.get("language", "de")
    if form.validate_on_submit():
        try:
            services.register_user(
                form.name.data,
                form.email.data,
                form.password.data,
                form.role.data,
                form.language.data,
            )
        except services.AccountError as err:
            form.email.errors.append(str(err))
        else:
            return render_template(
                "auth/check_email.html", email=services.normalise_email(form.email.data)
            )
    return render_template("auth/register.html", form=form), 200 if request.method == "GET" else 422


@bp.route("/bestaetigen/<token>")
def confirm(token: str):
    """Confirm the e-mail address from the link in the mail."""
    try:
        services.confirm_email(token)
    except TokenExpired:
        return render_template(
            "auth/token_problem.html", expired=True, form=ResendConfirmationForm()
        ), 400
    except TokenError:
        return render_template(
            "auth/token_problem.html", expired=False, form=ResendConfirmationForm()
        ), 400
    flash(_("Ihre E-Mail-Adresse ist bestätigt. Sie können sich jetzt anmelden."), "success")
    return redirect(url_for("auth.login"))


@bp.route("/bestaetigung-senden", methods=["POST"])
@limiter.limit("5 per hour")
def resend_confirmation():
    """Send a new confirmation link (the same answer whether or not the account exists)."""
    form = ResendConfirmationForm()
    if form.validate_on_submit():
        user = services._find(form.email.data)
        if user is not None and not user.is_confirmed:
            services.send_confirmation(user)
            db.session.commit()
        flash(
            _(
                "Wenn ein unbestätigtes Konto zu dieser Adresse gehört, ist ein neuer Link unterwegs."
            ),
            "info",
        )
    else:
        flash(_("Bitte geben Sie eine gültige E-Mail-Adresse an."), "error")
    return redirect(url_for("auth.login"))


@bp.route("/anmelden", methods=["GET", "POST"])
@limiter.limit(_login_rate_limit, methods=["POST"], deduct_when=_failed)
@limiter.limit(_login_rate_limit, methods=["POST"], key_func=_account_key, deduct_when=_failed)
def login():
    """Log in with e-mail and password."""
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        user = services.authenticate(form.email.data, form.password.data)
        if user is None:
            form.password.errors.append(_("E-Mail-Adresse oder Passwort ist falsch."))
            status = 401
        elif not user.is_confirmed:
            flash(
                _(
                    "Bitte bestätigen Sie zuerst Ihre E-Mail-Adresse – der Link steht in unserer Mail."
                ),
                "warning",
            )
            return render_template(
                "auth/login.html", form=form, resend=ResendConfirmationForm(email=user.email)
            ), 403
        else:
            login_user(user, remember=form.remember.data)
            session["language"] = user.language
            flash(_("Willkommen zurück, %(name)s!", name=user.name or user.email), "success")
            return redirect(_safe_next(url_for("main.dashboard")))
    elif request.method == "POST":
        status = 422
    return render_template("auth/login.html", form=form, resend=None), status


@bp.route("/abmelden", methods=["POST"])
@login_required
def logout():
    """Log out (a POST with CSRF token, so no other site can log a user out)."""
    logout_user()
    flash(_("Sie sind abgemeldet."), "info")
    return redirect(url_for("main.index"))


@bp.route("/passwort-vergessen", methods=["GET", "POST"])
@limiter.limit("5 per 15 minutes", methods=["POST"])
def forgot_password():
    """Ask for a reset link; the answer never says whether the account exists."""
    form = ResetRequestForm()
    if form.validate_on_submit():
        services.request_password_reset(form.email.data)
        return render_template(
            "auth/check_email.html", email=services.normalise_email(form.email.data), reset=True
        )
    return render_template(
        "auth/forgot_password.html", form=form
    ), 200 if request.method == "GET" else 422


@bp.route("/passwort-zuruecksetzen/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    """Set a new password with the link from the mail."""
    try:
        user = services.user_for_reset_token(token)
    except TokenExpired:
        return render_template("auth/token_problem.html", expired=True, reset=True, form=None), 400
    except TokenError:
        return render_template("auth/token_problem.html", expired=False, reset=True, form=None), 400
    form = ResetPasswordForm()
    form.email.data = user.email
    if form.validate_on_submit():
        services.reset_password(token, form.password.data)
        flash(_("Ihr Passwort ist geändert. Bitte melden Sie sich an."), "success")
        return redirect(url_for("auth.login"))
    return render_template(
        "auth/reset_password.html", form=form
    ), 200 if request.method == "GET" else 422


@bp.route("/passwort", methods=["GET", "POST"])
@login_required
def change_password():
    """Change the password; every other session is logged out."""
    form = ChangePasswordForm()
    form.email.data = current_user.email
    if form.validate_on_submit():
        try:
            services.change_password(current_user, form.current_password.data, form.password.data)
        except services.AccountError as err:
            form.current_password.errors.append(str(err))
        else:
            login_user(current_user._get_current_object(), fresh=True)  # its stamp changed
            flash(_("Ihr Passwort ist geändert."), "success")
            return redirect(url_for("main.dashboard"))
    return render_template(
        "auth/change_password.html", form=form
    ), 200 if request.method == "GET" else 422
