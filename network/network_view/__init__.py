"""The coordinators' network view (analyses, graph, exports) and collaborations as data."""

from flask import Blueprint

bp = Blueprint("network_view", __name__, url_prefix="/netzwerk")

from network.network_view import routes  # noqa: E402,F401
