"""Demo step: compute suggestions once, so the coordinators' queue is not empty."""

from __future__ import annotations

from typing import Any


def load(summary: Any, seed: int, progress: Any) -> None:
    from network.suggestions.services import refresh_suggestions

    result = refresh_suggestions(progress=progress)
    summary.extra["Kooperationsvorschläge"] = result.created
