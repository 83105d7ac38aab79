"""The blueprint packages of the app, one per user journey, in registration order.

Each entry is a package whose ``__init__`` defines ``bp`` and imports its routes.
"""

BLUEPRINTS: tuple[str, ...] = (
    "network.main",
    "network.errors",
    "network.auth",
)
