"""``flask --app network suggestions refresh``."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

suggestions_cli = AppGroup("suggestions", help="Suggested collaborations.")


@suggestions_cli.command("refresh")
@click.option(
    "--only", "only", type=int, multiple=True, help="Recompute only these organisation ids."
)
@click.option(
    "--changed", is_flag=True, help="Only organisations changed since the last refresh (when few)."
)
def refresh(only: tuple[int, ...], changed: bool) -> None:
    """Recompute and store the top suggestions of every organisation."""
    from network.cli import progress_printer
    from network.suggestions.services import refresh_suggestions

    summary = refresh_suggestions(
        only=list(only) or None, auto_incremental=changed, progress=progress_printer()
    )
    click.echo(str(summary))


def register(app: Flask) -> None:
    app.cli.add_command(suggestions_cli)
