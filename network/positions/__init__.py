"""Jobs and training placements: positions, trainee profiles, explained search, applications."""

from flask import Blueprint

bp = Blueprint("positions", __name__, url_prefix="/stellen")

from network.positions import routes  # noqa: E402,F401
