"""Provider profiles, the regional directory, memberships and CSV import/export."""

from flask import Blueprint

bp = Blueprint("directory", __name__, url_prefix="/verzeichnis")

from network.directory import routes  # noqa: E402,F401
