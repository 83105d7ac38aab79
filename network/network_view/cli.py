"""``flask --app network graph export FILE``: the network as GraphML, GEXF or Cytoscape.js JSON."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup

__all__ = ["register", "graph_cli"]

graph_cli = AppGroup("graph", help="The stakeholder graph: export for Gephi, yEd and the browser.")


@graph_cli.command("export")
@click.argument("file", type=click.Path(dir_okay=False, writable=True, path_type=Path))
@click.option("--kreis", "kreise", multiple=True, help="Kreis key (e.g. 05566); repeatable.")
@click.option(
    "--model-region", "model_regions", multiple=True, help="Model-region slug; repeatable."
)
@click.option("--kind", "kinds", multiple=True, help="Organisation kind code; repeatable.")
@click.option(
    "--edge-kind", "edge_kinds", multiple=True, help="Collaboration kind code; repeatable."
)
@click.option(
    "--with-places",
    is_flag=True,
    help="Full stakeholder multigraph: municipalities, located-in and neighbour edges too.",
)
@click.option(
    "--no-metrics", is_flag=True, help="Skip the analyses (no centralities or communities)."
)
def export_command(
    file: Path,
    kreise: tuple[str, ...],
    model_regions: tuple[str, ...],
    kinds: tuple[str, ...],
    edge_kinds: tuple[str, ...],
    with_places: bool,
    no_metrics: bool,
) -> None:
    """Write the network to FILE; the format follows the extension (.graphml, .gexf, .json).

    Organisations carry kind, municipality, Kreis, model region, coordinates, offers and needs
    and (unless --no-metrics) degree centrality, betweenness, community and number of partners.
    """
    from flask_babel import force_locale
    from werkzeug.datastructures import MultiDict

    from network.cli import progress_printer
    from network.graph import UnsupportedFormatError
    from network.graph.export import WRITERS
    from network.network_view.dashboard import parse_filters, write_export

    if file.suffix.lower() not in WRITERS:
        raise click.BadParameter(
            f"use one of {', '.join(WRITERS)} (got {file.suffix or 'no extension'})",
            param_hint="FILE",
        )
    args = MultiDict(
        [("kreis", v) for v in kreise]
        + [("model_region", v) for v in model_regions]
        + [("kind", v) for v in kinds]
        + [("edge_kind", v) for v in edge_kinds]
    )
    with force_locale("de"):
        filters, errors = parse_filters(args)
    if errors:
        raise click.UsageError(" ".join(errors.values()))
    printer = progress_printer()

    def progress(step: str, done: int, total: int) -> None:
        # load, build, analyse, prepare: one bar; writing the file: another.
        printer("export" if step == "write" else "analysis", done, total)

    try:
        summary = write_export(
            file,
            filters,
            with_places=with_places,
            metrics=not no_metrics,
            progress=progress,
        )
    except UnsupportedFormatError as err:
        raise click.ClickException(str(err)) from err
    click.echo(
        f"Wrote {summary['organisations']} organisations and {summary['collaborations']} "
        f"collaborations ({summary['nodes']} nodes, {summary['edges']} edges) to "
        f"{summary['path']} as {summary['format'].upper()} in {summary['seconds']} s."
    )


def register(app: Flask) -> None:
    app.cli.add_command(graph_cli)
