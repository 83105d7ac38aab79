"""Digest e-mails, the outbox, announcements and the scheduler."""

from flask import Blueprint

bp = Blueprint("digest", __name__, url_prefix="/benachrichtigungen")

from network.digest import routes  # noqa: E402,F401
