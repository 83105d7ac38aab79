"""Position search latency at scale, measured through the Flask test client.

``size`` organisations and their synthetic positions (the demo generator: about 1.2 positions per
organisation) are loaded into a temporary SQLite file by a forked child, so that the measuring
process is a freshly started application as in production. Then a mix of searches is timed end to
end (routing, parsing, SQL, ordering or scoring, rendering): the anonymous list (earliest start
first), a place with a radius (nearest first), a place with a profession filter, a logged-in
trainee's start page (their profile's professions and radius, ranked by match score with reasons),
the same trainee ranking the whole region, and the JSON API. p50 and p95 per type and overall.

    python -m benchmarks positions --size 100000
"""

from __future__ import annotations

import random
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from benchmarks.directory import SEED, _make_app, load_organisations
from benchmarks.harness import latency_row, measure_in_child, time_request

DEFAULT_SIZES = (10_000, 100_000)
REPEATS = 30
WARMUP = 2
TRAINEE_EMAIL = "benchmark-trainee@example.org"
TRAINEE_PASSWORD = "Benchmark-Trainee-2026"
LADBERGEN = "05566032"
_PLACES = ("05566032", "05566040", "05515000", "05570008", "05554008", "05558012", "05566076")
_RADII = (10, 25, 50)
_PROFESSIONS = ("pflegefachperson", "mfa", "physiotherapie", "ota")


def _positions_and_a_trainee(summary: Any) -> int:
    """The demo's positions for the organisations loaded, and one trainee with a profile."""
    import sqlalchemy as sa
    from werkzeug.security import generate_password_hash

    from network.extensions import db
    from network.models import Position, TraineeProfile, User
    from network.models.base import utcnow
    from network.positions import demo as positions_demo

    positions_demo.load(summary, SEED, lambda *_: None)
    trainee = User(
        email=TRAINEE_EMAIL,
        name="Benchmark Trainee",
        role="trainee",
        language="de",
        email_confirmed_at=utcnow(),
        password_hash=generate_password_hash(TRAINEE_PASSWORD),
    )
    db.session.add(trainee)
    db.session.flush()
    db.session.add(
        TraineeProfile(
            user_id=trainee.id,
            home_ags=LADBERGEN,
            professions=["pflegefachperson"],
            position_types=["apprenticeship"],
            max_distance_km=25.0,
            wanted_benefits=["housing"],
            driving_licence=True,
        )
    )
    db.session.commit()
    return db.session.scalar(sa.select(sa.func.count()).select_from(Position)) or 0


def run(size: int) -> Iterable[dict[str, Any]]:
    """Load ``size`` organisations with positions, then time the search mix."""
    from network.extensions import db

    folder = Path(tempfile.mkdtemp(prefix="positions-benchmark-"))
    try:
        loaded = measure_in_child(
            lambda: load_organisations(folder, size, then=_positions_and_a_trainee)
        )
        organisations, positions = loaded.result
        yield {
            "bench": "positions",
            "size": size,
            "step": "load",
            "organisations": organisations,
            "positions": positions,
            "seconds": round(loaded.seconds, 1),
            "peak_mb": loaded.peak_mb,
        }
        app = _make_app(folder)
        rng = random.Random(SEED)
        anonymous = app.test_client()
        trainee = app.test_client()
        answer = trainee.post(
            "/konto/anmelden", data={"email": TRAINEE_EMAIL, "password": TRAINEE_PASSWORD}
        )
        if answer.status_code != 302:
            raise RuntimeError(f"trainee log-in failed ({answer.status_code})")
        mix = {
            "anonymous_list": (anonymous, lambda: f"/stellen/?s=1&page={rng.randint(1, 5)}"),
            "place_radius": (
                anonymous,
                lambda: f"/stellen/?s=1&ort={rng.choice(_PLACES)}&umkreis={rng.choice(_RADII)}",
            ),
            "place_profession": (
                anonymous,
                lambda: (
                    f"/stellen/?s=1&ort={rng.choice(_PLACES)}&umkreis=25"
                    f"&beruf={rng.choice(_PROFESSIONS)}"
                ),
            ),
            "trainee_start_page": (trainee, lambda: "/stellen/"),
            "trainee_whole_region": (trainee, lambda: f"/stellen/?s=1&page={rng.randint(1, 3)}"),
            "api_place_radius": (
                anonymous,
                lambda: (
                    f"/api/v1/positions?near={rng.choice(_PLACES)}&radius_km={rng.choice(_RADII)}"
                ),
            ),
        }
        for client, make_url in mix.values():
            for _ in range(WARMUP):
                time_request(client, make_url())
        everything: list[tuple[float, float]] = []
        for name, (client, make_url) in mix.items():
            samples = [time_request(client, make_url()) for _ in range(REPEATS)]
            everything.extend(samples)
            yield latency_row("positions", size, name, samples)
        yield latency_row("positions", size, "overall", everything)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
