"""``flask --app network supply …``: import official planning figures from the command line."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup

__all__ = ["register", "supply_cli"]

supply_cli = AppGroup("supply", help="Versorgungszahlen: amtliche Planungszahlen importieren.")


@supply_cli.command("import-planning")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--encoding", default="utf-8-sig", show_default=True, help="Zeichenkodierung der CSV-Datei."
)
def import_planning(file: Path, encoding: str) -> None:
    """Import planning figures from FILE (the CSV format of the upload page).

    Good rows are stored; every refused line is printed with its reason. The exit status is 1
    when any line was refused.
    """
    from network.cli import progress_printer
    from network.supply.services import import_planning_figures

    try:
        text = file.read_text(encoding=encoding)
    except UnicodeDecodeError as err:
        raise click.ClickException(
            f"{file}: not {encoding} text ({err.reason}); try --encoding cp1252"
        ) from err
    report = import_planning_figures(text, user_id=None, progress=progress_printer())
    for problem in report.problems:
        click.echo(
            f"{file.name}:{problem.line}: {problem.field or '-'}: {problem.text('de')}", err=True
        )
    click.echo(
        f"{report.created} neu, {report.updated} aktualisiert, {report.rejected_lines} Zeile(n) abgelehnt."
    )
    if report.problems:
        raise SystemExit(1)


def register(app: Flask) -> None:
    app.cli.add_command(supply_cli)
