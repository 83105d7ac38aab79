"""The areas of the app, one package per user journey, in registration order.

Each blueprint package's ``__init__`` defines ``bp`` and imports its routes. An area may
contribute a CLI group (``<package>.cli.register(app)``) and a demo-data step
(``<package>.demo.load(summary, seed, progress)``); both are optional.
"""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["BLUEPRINTS", "import_optional"]

BLUEPRINTS: tuple[str, ...] = (
    "network.main",
    "network.errors",
    "network.auth",
    "network.directory",  # provider profiles, directory, CSV import/export
    "network.api",  # JSON read API and its OpenAPI document
    "network.network_view",  # the coordinators' network view and collaborations
    "network.suggestions",  # suggested collaborations and the review queue
    "network.positions",  # jobs, placements, trainee profiles, applications
    "network.rounds",  # placement rounds (stable matching)
    "network.digest",  # digest e-mails, outbox, scheduler
    "network.supply",  # supply figures, recommendations
    "network.toolbox",  # marketing toolbox and campaign pages
)


def import_optional(module_name: str) -> ModuleType | None:
    """Import ``module_name``; ``None`` only when that very module (or its package) does not exist.

    Areas are built one after another: a missing area is skipped, but an import error *inside*
    an existing area still fails loudly.
    """
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        if err.name and module_name.startswith(err.name):
            return None
        raise
