"""``flask --app network rounds …``: list, run, verify, publish and export placement rounds."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup

__all__ = ["register", "rounds_cli"]

rounds_cli = AppGroup("rounds", help="Vergaberunden: Zuteilung berechnen, prüfen, veröffentlichen.")


def _round(round_id: int):  # type: ignore[no-untyped-def]
    from network.extensions import db
    from network.models import AllocationRound

    round_ = db.session.get(AllocationRound, round_id)
    if round_ is None:
        raise click.ClickException(f"Keine Vergaberunde mit der Nummer {round_id}.")
    return round_


def _actor_id(email: str) -> int | None:
    import sqlalchemy as sa

    from network.extensions import db
    from network.models import User

    if not email:
        return None
    actor_id = db.session.scalar(sa.select(User.id).where(User.email == email.strip().lower()))
    if actor_id is None:
        raise click.ClickException(f"Kein Konto mit der E-Mail-Adresse {email}.")
    return actor_id


@rounds_cli.command("list")
def list_command() -> None:
    """Every round with its status and size."""
    import sqlalchemy as sa

    from network.extensions import db
    from network.models import AllocationRound

    rounds = db.session.scalars(sa.select(AllocationRound).order_by(AllocationRound.id)).all()
    if not rounds:
        click.echo("Keine Vergaberunden.")
    for round_ in rounds:
        seats = sum(p.seats for p in round_.placements)
        click.echo(
            f"{round_.id:>5}  {round_.status:<10} {len(round_.placements):>4} Einsatzorte "
            f"{seats:>5} Plätze {len(round_.trainees):>6} Teilnehmende  {round_.name}"
        )


@rounds_cli.command("run")
@click.argument("round_id", type=int)
@click.option(
    "--keep-missing",
    is_flag=True,
    help="Einsatzorte ohne Rangfolge der Einrichtung nicht mit dem Vorschlag nach Passung füllen.",
)
@click.option("--as", "actor_email", default="", help="E-Mail des Kontos, das im Protokoll steht.")
def run_command(round_id: int, keep_missing: bool, actor_email: str) -> None:
    """Compute the stable allocation of ROUND_ID (the same service as the browser's button)."""
    from flask_babel import force_locale

    from network.cli import progress_printer
    from network.rounds.services import RoundError, active_job, run_match

    round_ = _round(round_id)
    actor_id = _actor_id(actor_email)
    if active_job(round_) is not None:
        raise click.ClickException("Für diese Runde läuft gerade ein Auftrag im Browser.")
    with force_locale("de"):
        try:
            outcome = run_match(
                round_id,
                actor_id=actor_id,
                fill_missing=not keep_missing,
                progress=progress_printer(),
            )
        except RoundError as err:
            raise click.ClickException(err.message) from err
    stats = outcome.statistics
    ranks = (
        ", ".join(f"{rank}. Wunsch: {count}" for rank, count in stats["rank_distribution"]) or "–"
    )
    click.echo(
        f"Runde {round_id}: {stats['matched']} von {stats['trainees']} zugeteilt "
        f"({stats['matched_share']:.0%}); {ranks}; {stats['unfilled_seats']} Plätze frei; "
        f"{outcome.seconds:.2f} s; Prüfsumme {outcome.digest[:16]}…"
    )
    if outcome.proposals_filled:
        click.echo(f"Vorschlag nach Passung übernommen für Einsatzorte {outcome.proposals_filled}.")


@rounds_cli.command("verify")
@click.argument("round_id", type=int)
def verify_command(round_id: int) -> None:
    """Re-run ROUND_ID on its stored rankings and compare with the stored result."""
    from flask_babel import force_locale

    from network.rounds.services import verify_round

    round_ = _round(round_id)
    with force_locale("de"):
        check = verify_round(round_)
    click.echo(
        f"Eingaben unverändert:   {'ja' if check.same_inputs else 'NEIN'} ({check.digest[:16]}…)"
    )
    click.echo(
        f"Gleiches Ergebnis:      {'ja' if check.same_result else f'NEIN ({len(check.differences)} Abweichungen)'}"
    )
    click.echo(
        f"Stabil:                 {'ja' if check.stable else f'NEIN ({len(check.blocking)} blockierende Paare)'}"
    )
    click.echo(f"Statistik stimmt:       {'ja' if check.same_statistics else 'NEIN'}")
    if check.error:
        click.echo(check.error, err=True)
    if not check.ok:
        raise SystemExit(1)


@rounds_cli.command("publish")
@click.argument("round_id", type=int)
@click.option("--as", "actor_email", default="", help="E-Mail des Kontos, das im Protokoll steht.")
def publish_command(round_id: int, actor_email: str) -> None:
    """Publish the result of ROUND_ID and queue everyone's mail (delivered by the outbox)."""
    from flask_babel import force_locale

    from network.cli import progress_printer
    from network.rounds.services import RoundError, active_job, publish_round

    round_ = _round(round_id)
    actor_id = _actor_id(actor_email)
    if active_job(round_) is not None:
        raise click.ClickException("Für diese Runde läuft gerade ein Auftrag im Browser.")
    with force_locale("de"):
        try:
            mails = publish_round(round_id, actor_id=actor_id, progress=progress_printer())
        except RoundError as err:
            raise click.ClickException(err.message) from err
    click.echo(f"Runde {round_id} veröffentlicht; {mails} E-Mails im Postausgang.")


@rounds_cli.command("export")
@click.argument("round_id", type=int)
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def export_command(round_id: int, file: Path) -> None:
    """Write the result of ROUND_ID as CSV to FILE."""
    from flask_babel import force_locale

    from network.rounds.services import RoundError, export_csv

    round_ = _round(round_id)
    with force_locale("de"):
        try:
            text = export_csv(round_)
        except RoundError as err:
            raise click.ClickException(err.message) from err
    file.write_text(text, encoding="utf-8")
    click.echo(f"Ergebnis von Runde {round_id} nach {file} geschrieben.")


def register(app: Flask) -> None:
    app.cli.add_command(rounds_cli)
