"""The scheduler: a database lease elects one active process; two never send a digest twice."""

from __future__ import annotations

import collections
import re
import signal
import subprocess
import threading
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from network.digest.scheduler import DatabaseLease, build_scheduler, run_jobs_once
from network.extensions import db
from network.models import DigestDelivery, SchedulerLock
from network.models.base import utcnow
from tests.integration.test_outbox import ScriptedSink
from tests.integration.test_outbox_crash import (
    ROOT,
    flask_command,
    make_due_users,
    process_env,
    wait_until,
)


def test_only_one_of_two_simultaneous_leases_wins(app):
    barrier = threading.Barrier(2)
    results: dict[str, bool] = {}

    def contend(name: str) -> None:
        with app.app_context():
            lease = DatabaseLease(holder=name, seconds=30)
            barrier.wait()
            results[name] = lease.acquire()
            db.session.remove()

    threads = [threading.Thread(target=contend, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(results.values()) == [False, True]
    winner = next(name for name, won in results.items() if won)
    assert db.session.get(SchedulerLock, "scheduler").holder == winner


def test_lease_renewal_expiry_takeover_and_release(app):
    first, second = (
        DatabaseLease(holder="first", seconds=10),
        DatabaseLease(holder="second", seconds=10),
    )
    assert first.acquire() and first.acquire()  # renewing is fine
    assert not second.acquire()
    later = utcnow() + timedelta(seconds=11)
    assert second.acquire(now=later)  # the first one stopped renewing: taken over
    assert not first.acquire(now=later)
    assert second.current_holder() == "second"
    second.release()
    assert db.session.get(SchedulerLock, "scheduler") is None
    assert first.acquire()


def test_jobs_run_only_while_holding_the_lease(app, smtp_server, monkeypatch):
    from apscheduler.schedulers.background import BackgroundScheduler

    from network.digest import scheduler as scheduler_module

    runs: list[str] = []
    monkeypatch.setitem(scheduler_module.JOBS, "digests", lambda: runs.append("digests"))
    monkeypatch.setitem(scheduler_module.JOBS, "outbox", lambda: runs.append("outbox"))
    monkeypatch.setitem(
        scheduler_module.JOBS, "close_expired_positions", lambda: runs.append("positions")
    )
    other = DatabaseLease(holder="somebody-else", seconds=60)
    assert other.acquire()
    scheduler, lease = build_scheduler(
        app,
        DatabaseLease(holder="standby", seconds=3),
        scheduler_class=BackgroundScheduler,
        digest_seconds=1,
        outbox_seconds=1,
    )
    scheduler.start()
    try:
        time.sleep(2.5)
        assert runs == []  # the standby waits
        other.release()
        assert wait_until(lambda: "digests" in runs and "outbox" in runs, timeout=10)
        assert lease.held
    finally:
        scheduler.shutdown(wait=True)


def test_run_once_runs_every_job_and_tolerates_missing_ones(app, smtp_server, caplog, monkeypatch):
    monkeypatch.setitem(app.config, "DIGEST_HOUR", 0)
    emails = make_due_users(2)
    with caplog.at_level("WARNING"):
        results = run_jobs_once(app)
    assert set(results) == {"digests", "outbox", "close_expired_positions", "refresh_suggestions"}
    assert results["digests"].sent == 2
    smtp_server.wait_for(emails[1])
    assert db.session.get(SchedulerLock, "scheduler") is None  # released afterwards


@pytest.mark.slow
def test_two_scheduler_processes_send_each_digest_once_and_a_standby_takes_over(app):
    emails = make_due_users(25)
    sink = ScriptedSink(delay=0.01)
    sink.start()
    env = process_env(app, sink, LOG_LEVEL="INFO")  # the job log tells which process ran what
    command = flask_command(
        "scheduler", "--digest-every", "2", "--outbox-every", "1", "--lock-seconds", "6"
    )
    processes = [
        subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        for _ in range(2)
    ]
    logs = ["", ""]
    try:
        assert wait_until(lambda: len(sink.messages) >= len(emails), timeout=90), len(sink.messages)
        time.sleep(5)  # more digest checks by both processes: nothing new may go out
        received = collections.Counter(m["To"] for m in sink.messages)
        assert received == collections.Counter(emails)

        # The active scheduler dies without a word; the standby takes over when the lease ends.
        db.session.expire_all()
        holder = db.session.get(SchedulerLock, "scheduler").holder
        leader = next(p for p in processes if holder.split(":")[1] == str(p.pid))
        standby = next(p for p in processes if p is not leader)
        leader.send_signal(signal.SIGKILL)
        later = make_due_users(5, prefix="spaeter")
        assert wait_until(lambda: len(sink.messages) >= len(emails) + len(later), timeout=60), len(
            sink.messages
        )
        time.sleep(2)
        received = collections.Counter(m["To"] for m in sink.messages)
        assert received == collections.Counter(emails + later)
        db.session.expire_all()
        assert db.session.get(SchedulerLock, "scheduler").holder.split(":")[1] == str(standby.pid)
        standby.send_signal(signal.SIGTERM)
        standby.wait(timeout=30)
    finally:
        for index, process in enumerate(processes):
            if process.poll() is None:
                process.kill()
            logs[index] = process.communicate(timeout=30)[0]
        sink.stop()
    # Before the failover, only one process ran jobs; afterwards only the other one.
    runners = [set(re.findall(r"job digests started by (\S+)", log)) for log in logs]
    leader_index = processes.index(leader)
    assert len(runners[leader_index]) == 1 and len(runners[1 - leader_index]) == 1, logs
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(DigestDelivery)) == len(
        emails
    ) + len(later)
    assert db.session.get(SchedulerLock, "scheduler") is None  # the standby gave it up on SIGTERM


def test_scheduler_once_from_the_command_line_runs_only_the_chosen_jobs(app, smtp_server):
    emails = make_due_users(2)
    env = process_env(app, smtp_server)
    result = subprocess.run(
        flask_command("scheduler", "--once", "--job", "digests"),
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "digests: Zusammenfassungen: 2 fällig, 2 gesendet" in result.stdout
    assert "outbox:" not in result.stdout and "refresh_suggestions" not in result.stdout
    smtp_server.wait_for(emails[1])
