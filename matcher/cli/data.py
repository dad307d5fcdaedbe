"""Data commands: `init`, `resolve`, `import`."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from typing import TYPE_CHECKING

from matcher.cli._app import AppContext, db, emit_json, pass_app
from matcher.console import status

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

__all__ = ["init", "resolve", "import_", "table_counts", "describe_resolution"]


@click.command()
@click.option("--demo", "demo_n", type=click.IntRange(min=0), default=0, show_default=True,
              help="Also add N synthetic alumni with placements.")
@click.option("--seed", type=int, default=1, show_default=True, help="Seed for the synthetic alumni.")
@click.option("--json", "as_json", is_flag=True, help="Print what was loaded as JSON.")
@pass_app
def init(app: AppContext, demo_n: int, seed: int, as_json: bool) -> None:
    """Create or upgrade the schema and load the reference data."""
    status("migrating schema…")
    reference = db.prepare(app.engine, progress=status)
    summary: dict[str, object] = {"revision": db.current_revision(app.engine), "reference": reference}
    if demo_n:
        from matcher.synth import add_demo_alumni

        with db.session_scope(app.sessions) as session:
            summary["demo"] = add_demo_alumni(session, demo_n, seed=seed, progress=True)
    with app.session() as session:
        summary["counts"] = table_counts(session)
    if as_json:
        emit_json(summary)
    else:
        counts = summary["counts"]
        click.echo(f"schema at revision {summary['revision']}; database "
                   f"{app.engine.url.render_as_string(hide_password=True)}")
        click.echo(", ".join(f"{n} {name}" for name, n in counts.items()))


def table_counts(session: Session) -> dict[str, int]:
    """Return the number of rows in the main tables."""
    from sqlalchemy import func, select

    from matcher import models as m

    tables = {"prefectures": m.Prefecture, "municipalities": m.Municipality, "aliases": m.MunicipalityAlias,
              "us_places": m.USPlace, "zips": m.USZip, "relationships": m.Relationship,
              "chapters": m.Chapter, "alumni": m.Alumnus, "placements": m.Placement}
    return {name: session.scalar(select(func.count()).select_from(model)) for name, model in tables.items()}


@click.command()
@click.argument("queries", nargs=-1, required=True)
@click.option("--country", type=click.Choice(["JP", "US"], case_sensitive=False), help="Only look on one side.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list, one object per query.")
@pass_app
def resolve(app: AppContext, queries: tuple[str, ...], country: str | None, as_json: bool) -> None:
    """Resolve place names: "Yamauchi, Saga", "Ōita", "大分市", "Rice Lake, WI", "54868"."""
    gazetteer = app.gazetteer()  # checks the schema, or finds a cache file made when it was current
    answers = [gazetteer.resolve(q, country=country.upper() if country else None) for q in queries]
    if as_json:
        emit_json([a.to_json() for a in answers])
        return
    for a in answers:
        click.echo(describe_resolution(a))
    if any(a.status != "resolved" for a in answers):
        sys.exit(1)


def _run_now(app: AppContext, queued: list[dict]) -> list[dict]:
    """Run queued jobs in this process (a worker that picks them up later finds them done)."""
    from matcher.jobs import job_view, run_job
    from matcher.models import Job

    url = app.engine.url.render_as_string(hide_password=False)
    for view in queued:
        run_job(url, view["id"])
    with app.session() as session:
        return [job_view(session.get(Job, view["id"])) for view in queued]


def describe_resolution(a) -> str:
    """One line for a person: what a query resolved to, or why not."""
    from matcher.gazetteer import place_problem

    if a.status != "resolved":
        return f"{a.query!r}: {place_problem(a)}"
    where = a.prefecture or a.state or ""
    line = f"{a.query!r}: {a.name}{' ' + a.name_ja if a.name_ja else ''} ({a.kind}, {where}) [{a.code}]"
    if a.via_alias:
        line += f" — {a.via_alias['name']} merged into it on {a.via_alias['merged_on']}"
    if a.ward:
        line += f" — {a.ward['name']} ward"
    if a.via and a.via not in ("name", "alias"):
        line += f" (via {a.via})"
    return line


@click.command("import")
@click.argument("kind", type=click.Choice(["alumni", "placements", "relationships", "chapters", "seekers"]))
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check every row and report; write nothing.")
@click.option("--skip-invalid", is_flag=True,
              help="Write the good rows; put the bad ones in FILE.rejects.csv with an `error` column.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--foreground", is_flag=True,
              help="Run the follow-up jobs (re-scoring, retraining) here and now instead of in the background.")
@pass_app
def import_(app: AppContext, kind: str, file: Path, dry_run: bool, skip_invalid: bool, as_json: bool,
            foreground: bool) -> None:
    """Import a CSV of KIND: all rows or none, with every problem located by row and column.

    What the import changes is re-scored by a background job (see `jetmatch jobs`).
    """
    from matcher.ingest.importer import import_csv
    from matcher.jobs import after_import, job_view

    app.ensure_schema()
    gazetteer = app.gazetteer()
    with db.session_scope(app.sessions) as session:  # one transaction: all rows or none, and their jobs
        report = import_csv(session, kind, file, gazetteer=gazetteer, dry_run=dry_run,
                            skip_invalid=skip_invalid)
        queued = [job_view(j) for j in after_import(session, report, requested_by="cli")]
    if foreground:
        queued = _run_now(app, queued)
    if as_json:
        emit_json({**report.to_json(), "jobs": queued})
    else:
        click.echo(report.summary())
        if foreground:
            for view in queued:
                click.echo(f"job #{view['id']} {view['status']}: {view['title']}"
                           + (f" ({view['error']})" if view["error"] else ""))
        else:
            from matcher.cli.jobs import print_queued

            print_queued(queued)
    if not report.ok and not (skip_invalid and report.rejected):  # a bad header fails even then
        sys.exit(1)
