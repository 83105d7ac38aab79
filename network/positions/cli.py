"""``flask --app network positions …``: maintenance of jobs and placements."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

__all__ = ["register", "positions_cli"]

positions_cli = AppGroup("positions", help="Jobs, training places and placements.")


@positions_cli.command("close-expired")
def close_expired() -> None:
    """Close every open position whose application deadline has passed."""
    from network.positions.services import close_expired_positions

    closed = close_expired_positions()
    click.echo(f"{closed} abgelaufene Stelle(n) geschlossen.")


def register(app: Flask) -> None:
    app.cli.add_command(positions_cli)
