"""Suggested collaborations: refresh, the coordinators' review queue and providers' ideas."""

from flask import Blueprint

bp = Blueprint("suggestions", __name__, url_prefix="/vorschlaege")

from network.suggestions import routes  # noqa: E402,F401
