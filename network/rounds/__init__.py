"""Placement rounds: coordinators hand out training placements with a stable matching."""

from flask import Blueprint

bp = Blueprint("rounds", __name__, url_prefix="/vergaberunden")

from network.rounds import routes  # noqa: E402,F401
