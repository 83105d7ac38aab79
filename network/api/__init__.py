"""JSON read API (``/api/v1``) and its OpenAPI document; other areas add paths to the spec."""

from flask import Blueprint

from network.blueprints import import_optional

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from network.api import routes  # noqa: E402,F401

# Other areas register their routes on ``bp`` and their paths in ``network.api.spec``.
import_optional("network.api.positions")
