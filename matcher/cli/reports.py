"""Report and graph commands: `report`, `graph export`."""

from __future__ import annotations

from pathlib import Path

import click

from matcher.cli._app import AppContext, emit_json, pass_app

__all__ = ["report", "graph"]


@click.command()
@click.option("--years", type=click.IntRange(min=1), default=5, show_default=True,
              help="A relationship with no request or decision for this many years counts as dormant.")
@click.option("--json", "as_json", is_flag=True,
              help="Print the whole report as JSON (keys: coverage, decisions, exposure, dormant, graph).")
@pass_app
def report(app: AppContext, years: int, as_json: bool) -> None:
    """Coverage, decisions, exposure, dormant relationships and the tie graph, in figures."""
    from matcher.reports import build_report

    app.ensure_schema()
    with app.session() as session:
        data = build_report(session, dormant_years=years)
    if as_json:
        emit_json(data)
        return
    c, d, e, r, g = (data[k] for k in ("coverage", "decisions", "exposure", "dormant", "graph"))
    click.echo(f"coverage: {c['covered']} of {c['relationships_total']} relationships have ≥{c['needed']} willing "
               f"alumni within {c['radius_km']:g} km or placed in the partner; {c['with_none']} have none")
    for row in c["relationships"][:5]:
        click.echo(f"  recruit here: {row['relationship']} ({row['volunteers']} volunteers)")
    median = d["median_hours_to_decision"]
    click.echo(f"decisions: {d['requests']} requests, {d['decided']} decided; median time to decision "
               f"{'-' if median is None else f'{median:g} h'}")
    share = e["top_decile_share"]
    click.echo(f"exposure: top 10% of {e['consenting_alumni']} willing alumni hold "
               f"{'-' if share is None else f'{share:.0%}'} of top-{e['top']} slots; Gini {e['gini']:.2f}; "
               f"{e['never_suggested_count']} never suggested")
    click.echo(f"dormant: {r['count']} relationships ({r['marked_dormant']} marked dormant, the rest quiet for "
               f"{r['years']} years)")
    click.echo(f"graph: {g['nodes']} nodes, {g['edges']} edges; the tie network has {g['components']} components; "
               f"{len(g['states_without_tie'])} states have no tie")
    for b in g["bridges"][:5]:
        click.echo(f"  bridge: {b['name']} ({b['kind']}, betweenness {b['betweenness']:.3f}, {b['ties']} ties)")


@click.group()
def graph() -> None:
    """The place graph: US places, states, JP municipalities, prefectures, ties and placements."""


@graph.command("export")
@click.option("--format", "fmt", type=click.Choice(["graphml", "gexf", "json"]), default="graphml",
              show_default=True, help="GraphML or GEXF (for Gephi, yEd, Cytoscape) or node-link JSON.")
@click.option("--json", "as_json", is_flag=True, help="Print what was written as JSON.")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@pass_app
def export(app: AppContext, fmt: str, as_json: bool, file: Path) -> None:
    """Write the graph to FILE. Alumni are anonymous nodes: no names, e-mail or homes."""
    from matcher.graph import build_graph, export_graph

    app.ensure_schema()
    with app.session() as session:
        written = export_graph(build_graph(session), file, fmt)
    if as_json:
        emit_json(written)
    else:
        click.echo(f"wrote {written['nodes']} nodes and {written['edges']} edges to {file} ({fmt})")
