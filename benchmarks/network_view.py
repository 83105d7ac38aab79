"""The coordinators' network view end to end: database → graph → analyses → dashboard data.

``size`` organisations with about eight collaboration partners each (the demo generator, the same
structure as the ``graph`` benchmark) are loaded into a temporary SQLite file by a forked child.
Then, in a freshly started application, :func:`network.network_view.dashboard.compute_analysis`
runs as the dashboard's background job does: for the whole region and for the model region
Ladbergen–Lengerich–Lienen–Tecklenburg. Each runs in a forked child of a process that has
imported everything; ``seconds`` is the computation alone (start-up excluded), ``peak_mb`` the
child's peak. A last line times the
dashboard page once the analysis is cached (what every later visitor gets).

    python -m benchmarks network-view --size 100000
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from benchmarks.directory import _make_app, load_organisations
from benchmarks.harness import measure_in_child

DEFAULT_SIZES = (10_000, 100_000)
MODEL_REGION = "ladbergen-lengerich-lienen-tecklenburg"


def _analyse(folder: Path, args: dict[str, str]) -> dict[str, Any]:
    from network.extensions import db
    from network.network_view import dashboard

    app = _make_app(folder)
    with app.app_context():
        filters, errors = dashboard.parse_filters(args)
        if errors:
            raise RuntimeError(f"bad filters: {errors}")
        start = time.perf_counter()
        analysis = dashboard.compute_analysis(filters)
        seconds = time.perf_counter() - start
        db.session.remove()
        return {"organisations": analysis.organisations, "seconds": seconds}


def run(size: int) -> Iterable[dict[str, Any]]:
    """Load ``size`` organisations with collaborations, then time the analyses."""
    import network.network_view.dashboard  # noqa: F401 - imported once, not in every child

    folder = Path(tempfile.mkdtemp(prefix="network-view-benchmark-"))
    try:
        loaded = measure_in_child(lambda: load_organisations(folder, size, mean_degree=8.0))
        yield {
            "bench": "network-view",
            "size": size,
            "step": "load",
            "organisations": loaded.result[0],
            "seconds": round(loaded.seconds, 1),
            "peak_mb": loaded.peak_mb,
        }
        for name, args in (("whole_region", {}), ("model_region", {"model_region": MODEL_REGION})):
            measured = measure_in_child(lambda args=args: _analyse(folder, args))
            yield {
                "bench": "network-view",
                "size": size,
                "selection": name,
                "organisations": measured.result["organisations"],
                "seconds": round(measured.result["seconds"], 3),
                "peak_mb": measured.peak_mb,
            }
        yield from _cached_page(folder, size)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _cached_page(folder: Path, size: int) -> Iterable[dict[str, Any]]:
    """The dashboard page for the model region once its analysis is in this process's cache."""
    from network.extensions import db
    from network.models import User
    from network.models.base import utcnow
    from network.network_view import dashboard

    app = _make_app(folder)
    with app.app_context():
        coordinator = User(
            email="benchmark-coordinator@example.org",
            role="coordinator",
            name="Koordination",
            password_hash="!",  # never logs in with a password: the session is set directly
            email_confirmed_at=utcnow(),
        )
        db.session.add(coordinator)
        db.session.commit()
        filters, _ = dashboard.parse_filters({"model_region": MODEL_REGION})
        dashboard.compute_analysis(filters)
        session_id = coordinator.get_id()
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = session_id
        session["_fresh"] = True
    samples = []
    for _ in range(5):
        start = time.perf_counter()
        response = client.get(f"/netzwerk/?model_region={MODEL_REGION}")
        response.get_data()
        samples.append(time.perf_counter() - start)
        if response.status_code != 200:
            raise RuntimeError(f"dashboard answered {response.status_code}")
    samples.sort()
    yield {
        "bench": "network-view",
        "size": size,
        "selection": "model_region_cached_page",
        "seconds": round(samples[len(samples) // 2], 3),
        "p50_ms": round(samples[len(samples) // 2] * 1000, 1),
        "p95_ms": round(samples[-1] * 1000, 1),
        "peak_mb": None,
    }
