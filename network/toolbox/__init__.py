"""Marketing toolbox: downloadable materials and public campaign pages of the region."""

from flask import Blueprint

bp = Blueprint("toolbox", __name__, url_prefix="/toolbox")

from network.toolbox import routes  # noqa: E402,F401
