"""A sender killed mid-run (SIGKILL) and started again sends every due digest exactly once.

The sender is the real command, ``flask --app network digest send``, in its own process, on the
test database (a SQLite file or TEST_DATABASE_URL) and a real SMTP server that answers slowly,
so the kill lands while mail is going out.
"""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from network.extensions import db
from network.models import Announcement, DigestDelivery, OutboxMessage, User
from network.models.base import utcnow
from tests.integration.test_outbox import ScriptedSink

ROOT = Path(__file__).resolve().parents[2]
CLAIM_SECONDS = 2

pytestmark = pytest.mark.slow


def process_env(app, sink, **extra: str) -> dict[str, str]:
    """Environment for a ``flask --app network …`` child on the test database and SMTP server."""
    env = dict(os.environ)
    env.update(
        DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
        SECRET_KEY=app.config["SECRET_KEY"],
        INSTANCE_PATH=app.instance_path,
        MAIL_SERVER=sink.host,
        MAIL_PORT=str(sink.port),
        BASE_URL=app.config["BASE_URL"],
        NETWORK_ENV="testing",
        DIGEST_HOUR="0",  # every digest is due whatever the time of day
        OUTBOX_CLAIM_SECONDS=str(CLAIM_SECONDS),
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def flask_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "flask", "--app", "network", *args]


def make_due_users(count: int, prefix: str = "empfaenger") -> list[str]:
    """``count`` trainees whose weekly digest is due, and news for all of them."""
    from werkzeug.security import generate_password_hash

    password = generate_password_hash("unused-password-123", method="scrypt")
    long_ago = utcnow() - timedelta(days=30)
    emails = [f"{prefix}{n:03d}@test.example.org" for n in range(count)]
    db.session.execute(
        sa.insert(User),
        [
            {
                "email": email,
                "name": f"Empfänger {n}",
                "role": "trainee",
                "password_hash": password,
                "email_confirmed_at": long_ago,
                "created_at": long_ago,
                "digest_frequency": "weekly",
                "digest_weekday": 0,
                "language": "de",
                "active": True,
                "security_stamp": 0,
            }
            for n, email in enumerate(emails)
        ],
    )
    if db.session.scalar(sa.select(sa.func.count()).select_from(Announcement)) == 0:
        db.session.add(
            Announcement(title="Netzwerktreffen im Kreishaus", body="Alle sind eingeladen.")
        )
    db.session.commit()
    return emails


def wait_until(condition, timeout: float, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


def test_killed_sender_restarted_sends_every_digest_exactly_once(app):
    emails = make_due_users(80)
    sink = ScriptedSink(delay=0.1)  # slow answers (4 connections): the run takes seconds
    sink.start()
    try:
        env = process_env(app, sink)
        kills = 0
        for kill_after in (8, 40):
            process = subprocess.Popen(
                flask_command("digest", "send"),
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
            reached = wait_until(
                lambda n=kill_after, p=process: len(sink.messages) >= n or p.poll() is not None,
                timeout=60,
            )
            assert reached and process.poll() is None, (
                "the sender finished before it could be killed"
            )
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
            kills += 1
            # Its claimed messages are free again once their short lease has run out.
            time.sleep(CLAIM_SECONDS + 0.5)
        assert 0 < len(sink.messages) < len(emails)
        final = subprocess.run(
            flask_command("digest", "send"),
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert final.returncode == 0, final.stdout + final.stderr
        assert "Zusammenfassungen:" in final.stdout
        wait_until(lambda: len(sink.messages) >= len(emails), timeout=10)
        time.sleep(0.5)
        received = collections.Counter(m["To"] for m in sink.messages)
        assert received == collections.Counter(emails), {
            k: v for k, v in received.items() if v != 1
        }
        assert kills == 2
        db.session.expire_all()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(DigestDelivery)) == len(
            emails
        )
        statuses = dict(
            db.session.execute(
                sa.select(OutboxMessage.status, sa.func.count()).group_by(OutboxMessage.status)
            ).all()
        )
        assert statuses == {"sent": len(emails)}
    finally:
        sink.stop()


def test_dry_run_and_single_user_from_the_command_line(app, smtp_server):
    emails = make_due_users(3)
    env = process_env(app, smtp_server)
    dry = subprocess.run(
        flask_command("digest", "send", "--dry-run"),
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert dry.returncode == 0, dry.stderr
    assert "Probelauf: 3 fällig, 3 würden gesendet" in dry.stdout and emails[0] in dry.stdout
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 0
    one = subprocess.run(
        flask_command("digest", "send", "--user", emails[1]),
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert one.returncode == 0, one.stderr
    assert "1 fällig, 1 gesendet" in one.stdout
    assert [m["To"] for m in smtp_server.wait_for(emails[1])] == [emails[1]]
    unknown = subprocess.run(
        flask_command("digest", "send", "--user", "nobody@test.example.org"),
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert unknown.returncode != 0 and "Kein Konto" in unknown.stderr
    deliver = subprocess.run(
        flask_command("outbox", "deliver"),
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert deliver.returncode == 0 and "Postausgang: 0 gesendet" in deliver.stdout
