"""Command line: ``flask --app network digest send``, ``outbox deliver`` and ``scheduler``."""

from __future__ import annotations

import logging

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

__all__ = ["register"]

digest_cli = AppGroup("digest", help="E-Mail-Zusammenfassungen.")
outbox_cli = AppGroup("outbox", help="Postausgang (alle ausgehenden Mails).")


@digest_cli.command("send")
@click.option("--dry-run", is_flag=True, help="Build and render only; write and send nothing.")
@click.option(
    "--user",
    "email",
    metavar="EMAIL",
    help="Only this person's digest (even before its usual time).",
)
def digest_send(dry_run: bool, email: str | None) -> None:
    """Queue and deliver every digest that is due now (each person once per period)."""
    from network.cli import progress_printer
    from network.digest.services import DigestError, run_digests

    try:
        report = run_digests(user_email=email, dry_run=dry_run, progress=progress_printer())
    except DigestError as err:
        raise click.ClickException(str(err)) from err
    if dry_run:
        for address, count in report.recipients:
            click.echo(f"  {address}: {count}")
    click.echo(str(report))


@outbox_cli.command("deliver")
def outbox_deliver() -> None:
    """Deliver all due mail now (retries included)."""
    from network.mail.outbox import deliver_all

    done = {"n": 0}

    def progress(count: int) -> None:
        if count - done["n"] >= 100:
            done["n"] = count
            click.echo(f"  {count} …")

    report = deliver_all(progress=progress)
    click.echo(f"Postausgang: {report}")


@click.command("scheduler")
@click.option(
    "--once", is_flag=True, help="Run the jobs once (if no other scheduler is active), then exit."
)
@click.option(
    "--job",
    "jobs",
    multiple=True,
    type=click.Choice(["digests", "outbox", "close_expired_positions", "refresh_suggestions"]),
    help="With --once: only these jobs (repeatable; default: all).",
)
@click.option(
    "--digest-every",
    default=3600,
    show_default=True,
    help="Seconds between checks for due digests.",
)
@click.option(
    "--outbox-every", default=60, show_default=True, help="Seconds between outbox deliveries."
)
@click.option(
    "--lock-seconds",
    type=int,
    default=None,
    help="Lease duration (default SCHEDULER_LOCK_SECONDS).",
)
@with_appcontext
def scheduler_command(
    once: bool,
    jobs: tuple[str, ...],
    digest_every: int,
    outbox_every: int,
    lock_seconds: int | None,
) -> None:
    """Run the scheduler (one active per deployment; others wait as standby)."""
    from network.digest.scheduler import JOB_NAMES, DatabaseLease, run_jobs_once, run_scheduler

    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if once:
        for name, result in run_jobs_once(app, jobs or JOB_NAMES).items():
            click.echo(f"{name}: {result}")
        return
    seconds = lock_seconds or int(app.config.get("SCHEDULER_LOCK_SECONDS", 60))
    run_scheduler(
        app,
        lease=DatabaseLease(seconds=seconds),
        digest_seconds=digest_every,
        outbox_seconds=outbox_every,
    )


def register(app: Flask) -> None:
    app.cli.add_command(digest_cli)
    app.cli.add_command(outbox_cli)
    app.cli.add_command(scheduler_command)
