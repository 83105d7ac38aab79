"""Accounts: register, confirm e-mail, log in and out, reset and change password."""

from flask import Blueprint

bp = Blueprint("auth", __name__, url_prefix="/konto")

from network.auth import routes  # noqa: E402,F401
