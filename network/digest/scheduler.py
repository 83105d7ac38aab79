"""The scheduler process: one active instance per deployment, elected by a database lease.

``flask --app network scheduler`` runs an APScheduler :class:`BlockingScheduler` with these jobs:

============================  ===============================================================
digests (hourly)              :func:`network.digest.services.run_digests`: who is due now
outbox (every minute)         :func:`network.mail.outbox.deliver_all`: due mail and retries
close expired positions       ``network.positions.services.close_expired_positions()``
(hourly)
refresh suggestions (nightly) ``network.suggestions.services.refresh_suggestions()``
============================  ===============================================================

Run one per deployment (a systemd unit or a container next to the web processes). Starting a
second one by mistake — or on purpose, as a warm standby — is safe: every job first takes or
renews the lease row in ``scheduler_lock`` (an atomic conditional UPDATE, or an INSERT that the
primary key lets only one process win), and only the holder runs jobs. The holder renews the
lease every third of its duration; if it dies, a standby takes over when the lease expires.
Even two processes that both believed they held it (a paused holder whose lease ran out) would
not send twice: digests are unique per user and period, and the outbox fences every message.
Hosts must keep their clocks in sync (NTP): the lease compares their times.

Production
----------
Run one ``flask --app network scheduler`` per deployment, next to the web workers, with the
same settings (``DATABASE_URL``, ``SECRET_KEY``, ``MAIL_*``, ``BASE_URL``), for example as a
systemd service::

    [Unit]
    Description=Gesundheitsregion Münsterland: scheduler (digests, outbox, positions)
    After=network-online.target postgresql.service

    [Service]
    EnvironmentFile=/etc/network-platform.env
    ExecStart=/srv/network/.venv/bin/flask --app network scheduler
    Restart=always
    KillSignal=SIGTERM

    [Install]
    WantedBy=multi-user.target

SIGTERM stops it and frees the lease at once. A second unit on another host is a standby, not
a second sender. Where no long-running process is wanted, cron does the same work, each run
taking the lease, running its jobs once and freeing it::

    */5 * * * *  flask --app network scheduler --once --job outbox --job digests
    15 * * * *   flask --app network scheduler --once --job close_expired_positions
    15 3 * * *   flask --app network scheduler --once --job refresh_suggestions

``DIGEST_HOUR`` (default 7, local time) is when
daily, weekly and monthly digests become due; ``OUTBOX_CONNECTIONS`` (default 4) is the number of
SMTP connections used at once.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask
from sqlalchemy.exc import IntegrityError, OperationalError

from network.extensions import db
from network.models import SchedulerLock
from network.models.base import utcnow

__all__ = [
    "LOCK_NAME",
    "DatabaseLease",
    "build_scheduler",
    "run_scheduler",
    "run_jobs_once",
    "JOB_NAMES",
]

log = logging.getLogger(__name__)

LOCK_NAME = "scheduler"
JOB_NAMES = ("digests", "outbox", "close_expired_positions", "refresh_suggestions")


class DatabaseLease:
    """A named lease in ``scheduler_lock``: at most one unexpired holder at any time.

    Parameters
    ----------
    name : str
        The lock's name (one row per name).
    holder : str, optional
        This process's identity; by default host, pid and a random suffix.
    seconds : int
        How long a lease lasts without renewal.
    """

    def __init__(self, name: str = LOCK_NAME, holder: str | None = None, seconds: int = 60) -> None:
        self.name = name
        self.holder = (
            holder or f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        )[:80]
        self.seconds = max(1, int(seconds))
        self.held = False

    def acquire(self, now: datetime | None = None) -> bool:
        """Take or renew the lease; ``True`` when this process holds it now."""
        now = now or utcnow()
        expires = now + timedelta(seconds=self.seconds)
        try:
            held = (
                self._renew(now, expires)
                or self._take_over(now, expires)
                or self._insert(now, expires)
            )
        except OperationalError:
            # A busy database (e.g. SQLite locked by a long write) is not a lost lease: try later.
            db.session.rollback()
            log.warning("scheduler lock %r: database busy; will retry", self.name)
            held = False
        if held != self.held:
            log.info(
                "scheduler %s %s the lock %r", self.holder, "holds" if held else "lost", self.name
            )
        self.held = held
        return held

    def _renew(self, now: datetime, expires: datetime) -> bool:
        result = db.session.execute(
            sa.update(SchedulerLock)
            .where(
                SchedulerLock.name == self.name,
                SchedulerLock.holder == self.holder,
                SchedulerLock.expires_at >= now,
            )
            .values(expires_at=expires)
        )
        db.session.commit()
        return result.rowcount == 1

    def _take_over(self, now: datetime, expires: datetime) -> bool:
        # The WHERE is evaluated against the latest row version: of two processes racing for an
        # expired lease, the second finds it renewed by the first and updates nothing.
        result = db.session.execute(
            sa.update(SchedulerLock)
            .where(
                SchedulerLock.name == self.name,
                sa.or_(SchedulerLock.expires_at < now, SchedulerLock.holder == self.holder),
            )
            .values(holder=self.holder, acquired_at=now, expires_at=expires)
        )
        db.session.commit()
        return result.rowcount == 1

    def _insert(self, now: datetime, expires: datetime) -> bool:
        try:
            db.session.execute(
                sa.insert(SchedulerLock).values(
                    name=self.name, holder=self.holder, acquired_at=now, expires_at=expires
                )
            )
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            return False
        return True

    def release(self) -> None:
        """Give the lease up (on shutdown), so a standby need not wait for it to expire."""
        db.session.execute(
            sa.delete(SchedulerLock).where(
                SchedulerLock.name == self.name, SchedulerLock.holder == self.holder
            )
        )
        db.session.commit()
        if self.held:
            log.info("scheduler %s released the lock %r", self.holder, self.name)
        self.held = False

    def current_holder(self) -> str | None:
        row = db.session.get(SchedulerLock, self.name)
        return row.holder if row is not None and row.expires_at >= utcnow() else None


# --------------------------------------------------------------------------- the jobs


def _job_digests() -> Any:
    from network.digest.services import run_digests

    return run_digests()


def _job_outbox() -> Any:
    from network.mail.outbox import deliver_all

    return deliver_all()


def _optional_job(module: str, function: str) -> Callable[[], Any]:
    """A job calling ``module.function()``, tolerating that another area has not built it yet."""

    def run() -> Any:
        import importlib

        try:
            target = getattr(importlib.import_module(module), function)
        except (ImportError, AttributeError):
            log.warning("%s.%s() is not available yet; job skipped", module, function)
            return None
        return target()

    run.__name__ = function
    return run


JOBS: dict[str, Callable[[], Any]] = {
    "digests": _job_digests,
    "outbox": _job_outbox,
    "close_expired_positions": _optional_job(
        "network.positions.services", "close_expired_positions"
    ),
    "refresh_suggestions": _optional_job("network.suggestions.services", "refresh_suggestions"),
}


def _guarded(app: Flask, lease: DatabaseLease, name: str) -> Callable[[], None]:
    """Run job ``name`` in its own app context, only while this process holds the lease."""

    def run() -> None:
        with app.app_context():
            try:
                if not lease.acquire():
                    log.debug("job %s skipped: %s is not the active scheduler", name, lease.holder)
                    return
                log.info("job %s started by %s", name, lease.holder)
                result = JOBS[name]()
                log.info("job %s finished by %s: %s", name, lease.holder, result)
            except Exception:  # noqa: BLE001 - a failing job must not stop the scheduler
                log.exception("job %s failed", name)
                db.session.rollback()
            finally:
                db.session.remove()

    run.__name__ = f"scheduled_{name}"
    return run


def _heartbeat(app: Flask, lease: DatabaseLease) -> Callable[[], None]:
    def run() -> None:
        with app.app_context():
            try:
                lease.acquire()
            except Exception:  # noqa: BLE001
                log.exception("scheduler lock renewal failed")
                db.session.rollback()
            finally:
                db.session.remove()

    return run


def build_scheduler(
    app: Flask,
    lease: DatabaseLease | None = None,
    *,
    scheduler_class: type[BaseScheduler] = BlockingScheduler,
    digest_seconds: int = 3600,
    outbox_seconds: int = 60,
    positions_seconds: int = 3600,
    suggestions_cron: dict[str, Any] | None = None,
) -> tuple[BaseScheduler, DatabaseLease]:
    """An APScheduler scheduler with the four jobs and the lease heartbeat (not started)."""
    lease = lease or DatabaseLease(seconds=int(app.config.get("SCHEDULER_LOCK_SECONDS", 60)))
    scheduler = scheduler_class(
        timezone="Europe/Berlin",
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300},
    )
    start = datetime.now().astimezone()
    scheduler.add_job(
        _heartbeat(app, lease),
        IntervalTrigger(seconds=max(1, lease.seconds // 3)),
        id="lease",
        next_run_time=start,
    )
    scheduler.add_job(
        _guarded(app, lease, "outbox"),
        IntervalTrigger(seconds=outbox_seconds),
        id="outbox",
        next_run_time=start,
    )
    scheduler.add_job(
        _guarded(app, lease, "digests"),
        IntervalTrigger(seconds=digest_seconds),
        id="digests",
        next_run_time=start,
    )
    scheduler.add_job(
        _guarded(app, lease, "close_expired_positions"),
        IntervalTrigger(seconds=positions_seconds),
        id="close_expired_positions",
        next_run_time=start + timedelta(seconds=30),
    )
    scheduler.add_job(
        _guarded(app, lease, "refresh_suggestions"),
        CronTrigger(**(suggestions_cron or {"hour": 3, "minute": 15}), timezone="Europe/Berlin"),
        id="refresh_suggestions",
    )
    return scheduler, lease


def run_scheduler(app: Flask, **options: Any) -> None:
    """Run the scheduler in the foreground until SIGTERM or SIGINT; then give the lease up."""
    scheduler, lease = build_scheduler(app, **options)

    def stop(signum: int, _frame: Any) -> None:
        log.info("scheduler %s stopping (signal %s)", lease.holder, signum)
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("scheduler %s starting; lease %s s", lease.holder, lease.seconds)
    try:
        scheduler.start()
    finally:
        with app.app_context():
            lease.release()
            db.session.remove()


def run_jobs_once(app: Flask, names: tuple[str, ...] = JOB_NAMES) -> dict[str, Any]:
    """Run the named jobs once, in order, if this process gets the lease (for cron setups)."""
    lease = DatabaseLease(seconds=int(app.config.get("SCHEDULER_LOCK_SECONDS", 60)))
    results: dict[str, Any] = {}
    with app.app_context():
        if not lease.acquire():
            return {"skipped": f"another scheduler holds the lock ({lease.current_holder()})"}
        try:
            for name in names:
                lease.acquire()
                try:
                    results[name] = JOBS[name]()
                except Exception as err:  # noqa: BLE001 - report and go on with the next job
                    log.exception("job %s failed", name)
                    db.session.rollback()
                    results[name] = f"{type(err).__name__}: {err}"
        finally:
            lease.release()
            db.session.remove()
    return results
