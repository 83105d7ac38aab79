"""Command line: ``flask --app network AREA ACTION`` (each long job shows progress)."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

__all__ = ["register_commands", "progress_printer"]


def _area_modules(suffix: str) -> list:
    from network.blueprints import BLUEPRINTS, import_optional

    modules = []
    for package in BLUEPRINTS:
        if import_optional(package) is None:
            continue
        module = import_optional(f"{package}.{suffix}")
        if module is not None:
            modules.append(module)
    return modules


#: Labels of the demo loader's steps on the terminal (the step names are identifiers).
STEP_LABELS = {
    "organisations": "Organisationen",
    "collaborations": "Kooperationen",
    "positions": "Stellen",
    "rounds": "Vergaberunden",
    "announcements": "Ankündigungen",
    "recommendations": "Empfehlungen",
    "toolbox": "Toolbox",
}


def progress_printer():  # type: ignore[no-untyped-def]
    """A ``(step, done, total)`` callback drawing one progress bar per step on the terminal."""
    bars: dict[str, object] = {}

    def report(step: str, done: int, total: int) -> None:
        bar = bars.get(step)
        if bar is None:
            label = STEP_LABELS.get(step, step)
            bar = click.progressbar(length=max(total, 1), label=f"{label:<16}", show_pos=True)
            bar.__enter__()
            bars[step] = bar
        bar.update(done - bar.pos)  # type: ignore[attr-defined]
        if done >= total:
            bar.__exit__(None, None, None)  # type: ignore[attr-defined]

    return report


demo_cli = AppGroup("demo", help="Demo data of the Münsterland (real places, synthetic providers).")


@demo_cli.command("load")
@click.option("--organisations", default=600, show_default=True, help="Number of organisations.")
@click.option("--seed", default=42, show_default=True)
@click.option(
    "--mean-degree", default=6.0, show_default=True, help="Average collaborations per organisation."
)
@click.option("--if-empty", is_flag=True, help="Do nothing when organisations exist already.")
def demo_load(organisations: int, seed: int, mean_degree: float, if_empty: bool) -> None:
    """Load reference data plus a synthetic demo network and demo accounts."""
    import sqlalchemy as sa

    from network.demo import DEMO_PASSWORD, load_demo
    from network.extensions import db
    from network.models import Organisation

    if if_empty and db.session.scalar(sa.select(sa.func.count()).select_from(Organisation)):
        click.echo("Demodaten sind bereits geladen; nichts zu tun.")
        return
    click.echo(
        "Synthetische Demodaten: alle Anbieter außer den realen Krankenhäusern und Kommunen "
        "sind erfunden."
    )
    try:
        summary = load_demo(
            organisations, seed=seed, mean_degree=mean_degree, progress=progress_printer()
        )
    except RuntimeError as err:
        raise click.ClickException(str(err)) from err
    click.echo(
        f"Geladen: {summary.municipalities} Gemeinden, {summary.organisations} Organisationen, "
        f"{summary.collaborations} Kooperationen."
    )
    for key, value in summary.extra.items():
        click.echo(f"  {key}: {value}")
    if summary.accounts:
        click.echo(f"Demo-Zugänge (Passwort für alle: {DEMO_PASSWORD}):")
        for email, role in summary.accounts:
            click.echo(f"  {role:<12} {email}")


def register_commands(app: Flask) -> None:
    app.cli.add_command(demo_cli)
    for module in _area_modules("cli"):
        module.register(app)
