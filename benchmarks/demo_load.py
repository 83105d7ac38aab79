"""Generate the synthetic Münsterland network and load it into a fresh SQLite database.

``python -m benchmarks demo-load --size 100000``: one line for generating organisations and
collaborations in memory, one for the whole ``load_demo`` (migrated schema, bulk inserts,
demo accounts and every area's demo step).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator

from benchmarks.harness import measure_in_child

DEFAULT_SIZES = (10_000, 100_000)


def _generate(size: int) -> dict:
    from network.synthetic import generate_network

    organisations, collaborations = generate_network(size, mean_degree=8)
    return {"organisations": len(organisations), "collaborations": len(collaborations)}


def _load(size: int) -> dict:
    from flask_migrate import upgrade

    from network import create_app
    from network.demo import load_demo
    from network.extensions import db

    with tempfile.TemporaryDirectory() as folder:
        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{os.path.join(folder, 'bench.sqlite3')}",
                "INSTANCE_PATH": folder,
                "SECRET_KEY": "benchmark-secret-key-that-is-long-enough",
                "NETWORK_ENV": "benchmark",
                "OUTBOX_SEND_IMMEDIATELY": False,
            }
        )
        with app.app_context():
            upgrade(revision="heads")
            summary = load_demo(size, seed=42, mean_degree=8)
            db.session.remove()
            db.engine.dispose()
    return {"organisations": summary.organisations, "collaborations": summary.collaborations}


def run(size: int) -> Iterator[dict]:
    generated = measure_in_child(lambda: _generate(size))
    yield {
        "bench": "demo-load",
        "step": "generate",
        "size": size,
        "seconds": round(generated.seconds, 3),
        "peak_mb": generated.peak_mb,
        **generated.result,
    }
    loaded = measure_in_child(lambda: _load(size))
    yield {
        "bench": "demo-load",
        "step": "generate+migrate+load",
        "size": size,
        "seconds": round(loaded.seconds, 3),
        "peak_mb": loaded.peak_mb,
        **loaded.result,
    }
