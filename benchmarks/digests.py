"""Render and deliver ``size`` digests to a real local SMTP server.

``python -m benchmarks digests --size 10000``: a synthetic network on the real Münsterland
municipalities with ``size`` recipients who all have news — 5 % coordinators, 65 % providers
(each acting for an organisation, with applications and new organisations nearby), 30 %
trainees (with a changed application) — and one announcement. The measured call is the whole
:func:`network.digest.services.run_digests`: find who is due, load the facts, build each digest
(pure rules), render the text and HTML parts, write outbox and delivery rows, and deliver every
message through the crash-safe outbox to an aiosmtpd server in its own process (which counts
what arrived, so ``received`` proves nothing was lost or sent twice).

The database is a SQLite file in WAL mode with ``synchronous=NORMAL`` (durable against a crash of
the sender), or ``BENCH_DATABASE_URL``
(e.g. PostgreSQL). The measurement runs in a forked child (:func:`measure_in_child`): ``peak_mb``
is the run's own peak, not the seeding's.

Line fields: ``seconds`` (the run), ``build_seconds`` / ``deliver_seconds`` (the time spent
building and delivering; the run alternates chunk by chunk),
``messages_per_s``, ``peak_mb``, ``sent`` / ``empty`` / ``retrying`` / ``failed`` from the run's
report and ``received`` / ``duplicates`` from the SMTP server.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchmarks.harness import measure_in_child

__all__ = ["DEFAULT_SIZES", "run"]

DEFAULT_SIZES = (10000,)
SEED = 20261125

#: A tiny SMTP sink in its own process (so it does not share our GIL): counts per recipient and
#: prints the counts as JSON when it gets SIGTERM.
SINK = r"""
import asyncio, collections, json, signal, sys, threading
from aiosmtpd.controller import Controller

counts = collections.Counter()
size = [0]

class Handler:
    async def handle_DATA(self, server, session, envelope):
        for rcpt in envelope.rcpt_tos:
            counts[rcpt] += 1
        size[0] += len(envelope.content)
        return "250 OK"

controller = Controller(Handler(), hostname="127.0.0.1", port=int(sys.argv[1]))
controller.start()
print("ready", flush=True)
done = threading.Event()
signal.signal(signal.SIGTERM, lambda *a: done.set())
done.wait()
controller.stop()
import time
print(json.dumps({"received": sum(counts.values()), "recipients": len(counts), "cpu": time.process_time(),
                  "duplicates": sum(1 for c in counts.values() if c > 1), "bytes": size[0]}), flush=True)
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_sink(port: int) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-c", SINK, str(port)], stdout=subprocess.PIPE, text=True
    )
    line = process.stdout.readline()
    if line.strip() != "ready":
        raise RuntimeError("the SMTP sink did not start")
    return process


def _stop_sink(process: subprocess.Popen) -> dict:
    process.send_signal(signal.SIGTERM)
    output = process.communicate(timeout=60)[0]
    return json.loads(output.strip().splitlines()[-1])


def _make_app(folder: Path, smtp_port: int):  # type: ignore[no-untyped-def]
    from network import create_app
    from network.config import Config

    settings = {k: getattr(Config, k) for k in dir(Config) if k.isupper()}
    settings.update(
        NETWORK_ENV="benchmark",
        SECRET_KEY="benchmark-secret-key-that-is-long-enough",
        INSTANCE_PATH=str(folder),
        SQLALCHEMY_DATABASE_URI=os.environ.get("BENCH_DATABASE_URL")
        or f"sqlite:///{folder / 'bench.sqlite3'}",
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=smtp_port,
        MAIL_SUPPRESS_SEND=False,
        OUTBOX_SEND_IMMEDIATELY=False,
        BASE_URL="https://netzwerk.example.org",
        DIGEST_HOUR=0,
        LOG_LEVEL="WARNING",
    )
    app = create_app(settings)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        import sqlalchemy as sa

        from network.extensions import db

        def tune(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        with app.app_context():
            sa.event.listen(db.engine, "connect", tune)
    return app


def _seed(size: int, now: datetime) -> dict[str, int]:
    """Bulk-insert the network: organisations, recipients, memberships, positions, news."""
    import sqlalchemy as sa
    from werkzeug.security import generate_password_hash

    from network.demo import load_reference_data
    from network.extensions import db
    from network.models import (
        Announcement,
        Application,
        AuditLog,
        Membership,
        Municipality,
        Organisation,
        OrganisationTag,
        Position,
        User,
    )

    rng = random.Random(SEED)
    db.drop_all()
    db.create_all()
    load_reference_data()
    places = db.session.execute(
        sa.select(Municipality.ags, Municipality.latitude, Municipality.longitude)
    ).all()
    long_ago = now - timedelta(days=60)
    this_week = now - timedelta(days=2)
    needs = ("placement:paediatric", "telemedicine", "shuttle", "housing:staff", "childcare")

    coordinators = max(1, size // 20)
    trainees = size * 3 // 10
    providers = size - coordinators - trainees
    old_orgs = providers  # one organisation per provider
    new_orgs = max(20, size // 100)  # joined this week: "new near you" for many providers

    def org_row(i: int, created: datetime) -> dict:
        ags, lat, lon = places[i % len(places)]
        return {
            "id": i + 1,
            "kind": "gp_practice",
            "name": f"Organisation {i + 1}",
            "ags": ags,
            "latitude": lat + rng.uniform(-0.05, 0.05),
            "longitude": lon + rng.uniform(-0.05, 0.05),
            "visibility": "public",
            "synthetic": True,
            "created_at": created,
            "updated_at": created,
            "version": 1,
        }

    db.session.execute(sa.insert(Organisation), [org_row(i, long_ago) for i in range(old_orgs)])
    db.session.execute(
        sa.insert(Organisation), [org_row(old_orgs + i, this_week) for i in range(new_orgs)]
    )
    tags = [
        {"organisation_id": i + 1, "direction": "need", "tag": needs[i % len(needs)]}
        for i in range(old_orgs)
    ]
    tags += [
        {"organisation_id": old_orgs + i + 1, "direction": "offer", "tag": tag}
        for i in range(new_orgs)
        for tag in needs
    ]
    db.session.execute(sa.insert(OrganisationTag), tags)

    password = generate_password_hash("benchmark-password-1", method="scrypt")
    users = []
    for n in range(size):
        role = (
            "coordinator"
            if n < coordinators
            else "trainee"
            if n < coordinators + trainees
            else "provider"
        )
        users.append(
            {
                "id": n + 1,
                "email": f"person{n:05d}@bench.example.org",
                "name": f"Person {n}",
                "role": role,
                "password_hash": password,
                "language": "en" if n % 5 == 0 else "de",
                "active": True,
                "email_confirmed_at": long_ago,
                "created_at": long_ago,
                "security_stamp": 0,
                "digest_frequency": "daily" if role == "coordinator" else "weekly",
                "digest_weekday": 0,
            }
        )
    db.session.execute(sa.insert(User), users)
    provider_ids = [u["id"] for u in users if u["role"] == "provider"]
    trainee_ids = [u["id"] for u in users if u["role"] == "trainee"]
    db.session.execute(
        sa.insert(Membership),
        [
            {
                "user_id": uid,
                "organisation_id": i + 1,
                "role": "admin",
                "status": "approved",
                "created_at": long_ago,
            }
            for i, uid in enumerate(provider_ids)
        ],
    )
    positions = [
        {
            "id": i + 1,
            "organisation_id": i + 1,
            "position_type": "job",
            "profession": "nurse",
            "title": f"Pflegefachkraft {i + 1}",
            "ags": places[i % len(places)][0],
            "latitude": places[i % len(places)][1],
            "longitude": places[i % len(places)][2],
            "status": "open",
            "created_at": long_ago,
            "updated_at": long_ago,
            "requirements": [],
            "benefits": [],
        }
        for i in range(old_orgs)
    ]
    db.session.execute(sa.insert(Position), positions)
    # Every trainee applied to one position: providers see a new application, trainees a new status.
    applications = []
    for n, trainee in enumerate(trainee_ids):
        applications.append(
            {
                "id": n + 1,
                "position_id": rng.randrange(old_orgs) + 1,
                "trainee_id": trainee,
                "applicant_name": f"Person {trainee - 1}",
                "status": "interview",
                "created_at": this_week,
                "updated_at": now - timedelta(hours=5),
            }
        )
    db.session.execute(sa.insert(Application), applications)
    db.session.execute(
        sa.insert(AuditLog),
        [
            {
                "action": "application.status_changed",
                "object_type": "application",
                "object_id": str(a["id"]),
                "details": {"previous": "received", "status": "interview"},
                "created_at": now - timedelta(hours=5),
            }
            for a in applications
        ],
    )
    db.session.add(
        Announcement(
            title="Netzwerktreffen Pflegeausbildung",
            body="Im Kreishaus Steinfurt.",
            created_at=this_week,
        )
    )
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        for table in ("organisation", "user_account", "position", "application"):
            db.session.execute(
                sa.text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))"
                )
            )
        db.session.commit()
    return {
        "coordinators": coordinators,
        "providers": providers,
        "trainees": trainees,
        "new_organisations": new_orgs,
    }


def run(size: int) -> Iterable[dict]:
    from network.extensions import db

    with tempfile.TemporaryDirectory(prefix="bench-digests-") as tmp:
        port = _free_port()
        sink = _start_sink(port)
        try:
            app = _make_app(Path(tmp), port)
            now = datetime.now(UTC)
            with app.app_context():
                started = time.perf_counter()
                population = _seed(size, now)
                seed_seconds = time.perf_counter() - started
                db.session.remove()
                db.engine.dispose()

            def digest_run() -> dict:
                from network.digest.services import run_digests

                # Building and delivering alternate chunk by chunk: each progress call ends a
                # stretch of one or the other.
                phases: dict[str, float] = {"Zusammenstellen": 0.0, "Versenden": 0.0}
                start = time.perf_counter()
                cpu_start = time.process_time()
                last = [start]

                def progress(step: str, done: int, total: int) -> None:
                    moment = time.perf_counter()
                    phases[step] = phases.get(step, 0.0) + moment - last[0]
                    last[0] = moment

                with app.app_context():
                    report = run_digests(progress=progress)
                    db.session.remove()
                    db.engine.dispose()
                return {
                    "report": report.as_dict(),
                    "phases": phases,
                    "cpu": time.process_time() - cpu_start,
                }

            measurement = measure_in_child(digest_run)
        finally:
            received = _stop_sink(sink)
    report, phases = measurement.result["report"], measurement.result["phases"]
    yield {
        "bench": "digests",
        "size": size,
        "seconds": round(measurement.seconds, 2),
        "build_seconds": round(phases["Zusammenstellen"], 2),
        "deliver_seconds": round(phases["Versenden"], 2),
        "messages_per_s": round(report["sent"] / measurement.seconds, 1)
        if measurement.seconds
        else 0.0,
        "peak_mb": measurement.peak_mb,
        # CPU seconds of the run and of the SMTP server: comparable even on a busy machine.
        "cpu_seconds": round(measurement.result["cpu"], 2),
        "smtp_server_cpu_seconds": round(received["cpu"], 2),
        "sent": report["sent"],
        "empty": report["empty"],
        "retrying": report["retrying"],
        "failed": report["failed"],
        "received": received["received"],
        "duplicates": received["duplicates"],
        "mail_mb": round(received["bytes"] / 1e6, 1),
        "seed_seconds": round(seed_seconds, 2),
        "database": "postgresql"
        if os.environ.get("BENCH_DATABASE_URL", "").startswith("postgres")
        else "sqlite-wal",
        **population,
    }
