"""Directory search latency at scale, measured through the Flask test client.

``size`` organisations are loaded with ``network.demo.load_demo`` (without the other areas' demo
steps, and two collaborations per organisation on average) into a temporary SQLite file
(with the FTS5 index the app creates after ``db.create_all()``) by a forked child, so that the
measuring process is a freshly started application as in production (``GC_FREEZE_AFTER_STARTUP``
on, as in :class:`network.config.Config`), then a mix of realistic queries
is timed end to end (routing, parsing, SQL, haversine, loading the page's rows, rendering the
HTML page or the JSON): free text, filters, radius searches, the target case of a filtered,
radius-limited, paginated query, deep pages, the map view and the JSON API. Each query type runs
``REPEATS`` times with varying parameters after a warm-up; p50 and p95 are printed per type and
overall, as one JSON line each: wall-clock (``p50_ms``, ``p95_ms``) and the CPU time of the
request (``cpu_p50_ms``, ``cpu_p95_ms``), which other processes on a shared machine disturb less.

    python -m benchmarks directory --size 100000
"""

from __future__ import annotations

import random
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchmarks.harness import latency_row, measure_in_child, time_request

DEFAULT_SIZES = (10_000, 100_000)
SEED = 20261125
REPEATS = 60
WARMUP = 10

_TEXTS = (
    "praxis",
    "pflege",
    "apotheke",
    "klinik",
    "physiotherapie",
    "hausarzt",
    "tagespflege",
    "apotheke münster",
    "praxis lengerich",
    "ergotherapie rheine",
    "wohnen",
    "demenz",
)
_KINDS = (
    "gp_practice",
    "ambulatory_care",
    "pharmacy",
    "therapy_practice",
    "care_home",
    "specialist_practice",
)
_KREISE = ("05515", "05554", "05558", "05566", "05570")
_TAGS = (
    "shuttle",
    "childcare",
    "placement:ambulatory",
    "telemedicine",
    "joint_training",
    "housing:staff",
)
_RADII = (5, 10, 15, 20)


@contextmanager
def _organisations_only() -> Iterator[None]:
    """Skip the other areas' demo steps (suggestions, positions, …): only organisations matter here."""
    import network.cli

    original = network.cli._area_modules
    network.cli._area_modules = lambda suffix: [] if suffix == "demo" else original(suffix)
    try:
        yield
    finally:
        network.cli._area_modules = original


def _make_app(folder: Path):  # type: ignore[no-untyped-def]
    from network import create_app
    from network.config import TestConfig

    settings = {k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()}
    settings.update(
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{folder / 'directory-benchmark.sqlite3'}",
        INSTANCE_PATH=str(folder),
        UPLOAD_FOLDER=str(folder / "uploads"),
        LOG_LEVEL="WARNING",
        GC_FREEZE_AFTER_STARTUP=True,
    )
    return create_app(settings)


def load_organisations(
    folder: Path,
    size: int,
    then: Callable[[Any], int] | None = None,
    *,
    mean_degree: float = 2.0,
) -> tuple[int, int]:
    """Create the schema and load ``size`` organisations into ``folder``'s database.

    ``then(summary)`` runs afterwards in the same application context (another benchmark's own
    data). Returns the organisations loaded and ``then``'s number (default: rows in the FTS index).
    ``mean_degree`` is the average number of collaborations per organisation.
    """
    import sqlalchemy as sa

    from network.demo import load_demo
    from network.extensions import db

    app = _make_app(folder)
    with app.app_context():
        db.create_all()
        with _organisations_only():
            summary = load_demo(size, seed=SEED, mean_degree=mean_degree, with_accounts=False)
        if then is not None:
            extra = then(summary)
        else:
            # No ANALYZE: the query plans must be good on a database as the app leaves it.
            extra = db.session.scalar(sa.text("SELECT count(*) FROM organisation_fts_docsize"))
        db.session.remove()
        db.engine.dispose()
    return summary.organisations, int(extra or 0)


def _query_mix(rng: random.Random, municipalities: list[str]) -> dict[str, Any]:
    """One generator per query type: each call returns the next URL of that type."""

    def near() -> str:
        return rng.choice(municipalities)

    return {
        "text": lambda: f"/verzeichnis/?q={rng.choice(_TEXTS)}",
        "filters": lambda: (
            f"/verzeichnis/?kind={rng.choice(_KINDS)}&kreis={rng.choice(_KREISE)}&offers={rng.choice(_TAGS)}"
        ),
        "radius": lambda: f"/verzeichnis/?near={near()}&radius_km={rng.choice(_RADII)}",
        # The target case: filtered, radius-limited, paginated.
        "filtered_radius_page": lambda: (
            f"/verzeichnis/?near={near()}&radius_km={rng.choice(_RADII)}&kind={rng.choice(_KINDS)}"
            f"&needs={rng.choice(_TAGS)}&page={rng.randint(1, 3)}"
        ),
        "text_radius": lambda: (
            f"/verzeichnis/?q={rng.choice(_TEXTS[:7])}&near={near()}&radius_km=20&sort=name"
        ),
        "deep_page": lambda: f"/verzeichnis/?page={rng.randint(50, 500)}",
        "map_view": lambda: f"/verzeichnis/?view=map&near={near()}&radius_km={rng.choice(_RADII)}",
        "api_radius": lambda: (
            f"/api/v1/organisations?near={near()}&radius_km={rng.choice(_RADII)}&kind={rng.choice(_KINDS)}"
            f"&per_page=50"
        ),
        "api_text": lambda: f"/api/v1/organisations?q={rng.choice(_TEXTS)}&per_page=100",
    }


def run(size: int) -> Iterable[dict[str, Any]]:
    """Load ``size`` organisations, then time the query mix; yields one row per query type."""
    from network.extensions import db
    from network.reference import load_municipalities

    folder = Path(tempfile.mkdtemp(prefix="directory-benchmark-"))
    try:
        loaded = measure_in_child(lambda: load_organisations(folder, size))
        organisations, indexed = loaded.result
        yield {
            "bench": "directory",
            "size": size,
            "step": "load",
            "organisations": organisations,
            "fts_rows": indexed,
            "seconds": round(loaded.seconds, 1),
            "peak_mb": loaded.peak_mb,
        }

        app = _make_app(folder)
        rng = random.Random(SEED)
        mix = _query_mix(rng, [m.ags for m in load_municipalities()])
        client = app.test_client()
        for make_url in mix.values():
            for _ in range(WARMUP // len(mix) + 1):
                time_request(client, make_url())
        everything: list[tuple[float, float]] = []
        for name, make_url in mix.items():
            samples = [time_request(client, make_url()) for _ in range(REPEATS)]
            everything.extend(samples)
            yield latency_row("directory", size, name, samples)
        yield latency_row("directory", size, "overall", everything)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
