"""``flask --app network orgs import FILE`` / ``orgs export FILE`` / ``orgs reindex``."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup

__all__ = ["register", "orgs_cli"]

orgs_cli = AppGroup(
    "orgs", help="Organisations of the directory: CSV import and export, search index."
)


@orgs_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--as", "actor_email", default="", help="E-mail of the account recorded as the author."
)
@click.option(
    "--report",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to write the rejected rows (default: FILE.abgelehnt.csv when there are any).",
)
def import_command(file: Path, actor_email: str, report: Path | None) -> None:
    """Upsert organisations from a CSV file (by external_id); rejected rows go to a report."""
    import sqlalchemy as sa
    from flask_babel import force_locale

    from network.cli import progress_printer
    from network.directory.services import import_organisations
    from network.extensions import db
    from network.models import User

    actor_id = None
    if actor_email:
        actor_id = db.session.scalar(
            sa.select(User.id).where(User.email == actor_email.strip().lower())
        )
        if actor_id is None:
            raise click.ClickException(f"No account with the e-mail {actor_email}.")
    with force_locale("de"):
        result = import_organisations(
            file.read_bytes(), actor_id=actor_id, progress=progress_printer()
        )
        report_text = result.report_csv() if result.rejected else ""
    if result.file_error:
        click.echo(f"Nichts importiert: {result.file_error}", err=True)
    if report_text:
        target = report or file.with_suffix(".abgelehnt.csv")
        target.write_text(report_text, encoding="utf-8")
        for row in result.rejected[:20]:
            click.echo(f"  Zeile {row.line}: {' | '.join(row.reasons)}", err=True)
        if len(result.rejected) > 20:
            click.echo(f"  … und {len(result.rejected) - 20} weitere", err=True)
        click.echo(f"Bericht der abgelehnten Zeilen: {target}")
    if result.ignored_columns:
        click.echo(f"Ignorierte Spalten: {', '.join(result.ignored_columns)}")
    click.echo(
        f"{result.total} Zeilen: {result.created} neu, {result.updated} aktualisiert, "
        f"{result.unchanged} unverändert, {result.rejected_count} abgelehnt."
    )
    if result.file_error:
        raise SystemExit(1)


@orgs_cli.command("export")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def export_command(file: Path) -> None:
    """Write every organisation to a CSV file in the import format."""
    from network.cli import progress_printer
    from network.directory.services import export_organisations

    count = export_organisations(str(file), progress=progress_printer())
    click.echo(f"{count} Organisationen nach {file} exportiert.")


@orgs_cli.command("reindex")
def reindex_command() -> None:
    """Create the full-text index if missing and re-read every organisation into it."""
    from network.directory.search import rebuild_search_index
    from network.extensions import db

    with db.engine.begin() as connection:
        rebuild_search_index(connection)
    click.echo("Suchindex neu aufgebaut.")


def register(app: Flask) -> None:
    app.cli.add_command(orgs_cli)
