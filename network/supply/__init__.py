"""Regional supply figures, the degree of supply and the library of action recommendations."""

from flask import Blueprint

bp = Blueprint("supply", __name__, url_prefix="/versorgung")

from network.supply import routes  # noqa: E402,F401
