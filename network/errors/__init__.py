"""Error pages (403, 404, 413, 429, 500) for the whole app."""

from flask import Blueprint

bp = Blueprint("errors", __name__)

from network.errors import handlers  # noqa: E402,F401
