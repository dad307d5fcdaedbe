"""The ``jetmatch`` command.

Every command that prints data takes ``--json``; human output goes to stdout, progress
to stderr (and only on a terminal). The database comes from ``--database-url`` or
``JETMATCH_DATABASE_URL``; the default is a SQLite file in the instance folder.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import click
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from matcher import db
from matcher.console import status

__all__ = ["main", "cli", "AppContext", "pass_app", "emit_json"]


@dataclass
class AppContext:
    """What every command needs: the database URL and, lazily, an engine and sessions."""

    url: str | None = None
    _gazetteer: object | None = field(default=None, repr=False)

    @cached_property
    def engine(self) -> Engine:
        return db.make_engine(self.url)

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        return db.make_sessionmaker(self.engine)

    def session(self) -> Session:
        return self.sessions()

    def close(self) -> None:
        """Close the engine's pooled connections (if one was made) when the command ends."""
        if "engine" in self.__dict__:
            self.engine.dispose()

    def ensure_schema(self) -> None:
        """Refuse to run against a database that `jetmatch init` has not prepared."""
        if db.current_revision(self.engine) != db.head_revision():
            raise click.ClickException(
                f"the database at {self.engine.url.render_as_string(hide_password=True)} is not initialised "
                "or is out of date: run `jetmatch init` first"
            )

    def gazetteer(self):
        if self._gazetteer is None:
            from matcher.gazetteer import Gazetteer

            with self.session() as session:
                self._gazetteer = Gazetteer.from_session(session)
        return self._gazetteer


pass_app = click.make_pass_decorator(AppContext)


def emit_json(data) -> None:
    """Print ``data`` as JSON on stdout (UTF-8, kanji kept as they are)."""
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--database-url", envvar="JETMATCH_DATABASE_URL", help="SQLAlchemy URL (default: SQLite in ./instance).")
@click.version_option(package_name="jetmatch")
@click.pass_context
def cli(ctx: click.Context, database_url: str | None) -> None:
    """jetmatch: join JET alumni to US–Japan sister-city relationships."""
    ctx.obj = AppContext(url=database_url)
    ctx.call_on_close(ctx.obj.close)


@cli.command()
@click.option("--demo", "demo_n", type=click.IntRange(min=0), default=0, show_default=True,
              help="Also add N synthetic alumni with placements.")
@click.option("--seed", type=int, default=1, show_default=True, help="Seed for the synthetic alumni.")
@click.option("--json", "as_json", is_flag=True, help="Print what was loaded as JSON.")
@pass_app
def init(app: AppContext, demo_n: int, seed: int, as_json: bool) -> None:
    """Create or upgrade the schema and load the reference data."""
    from matcher.refdata import load_reference_data

    status("migrating schema…")
    db.upgrade(app.engine)
    summary: dict[str, object] = {"revision": db.current_revision(app.engine)}
    with db.session_scope(app.sessions) as session:
        summary["reference"] = load_reference_data(session, progress=status)
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
    from matcher import models as m

    tables = {"prefectures": m.Prefecture, "municipalities": m.Municipality, "aliases": m.MunicipalityAlias,
              "us_places": m.USPlace, "zips": m.USZip, "relationships": m.Relationship,
              "chapters": m.Chapter, "alumni": m.Alumnus, "placements": m.Placement}
    return {name: session.scalar(select(func.count()).select_from(model)) for name, model in tables.items()}


@cli.command()
@click.argument("queries", nargs=-1, required=True)
@click.option("--country", type=click.Choice(["JP", "US"], case_sensitive=False), help="Only look on one side.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list, one object per query.")
@pass_app
def resolve(app: AppContext, queries: tuple[str, ...], country: str | None, as_json: bool) -> None:
    """Resolve place names: "Yamauchi, Saga", "Ōita", "大分市", "Rice Lake, WI", "54868"."""
    app.ensure_schema()
    gazetteer = app.gazetteer()
    answers = [gazetteer.resolve(q, country=country.upper() if country else None) for q in queries]
    if as_json:
        emit_json([a.to_json() for a in answers])
        return
    for a in answers:
        click.echo(describe_resolution(a))
    if any(a.status != "resolved" for a in answers):
        sys.exit(1)


def describe_resolution(a) -> str:
    """One line for a person: what a query resolved to, or why not."""
    if a.status == "unknown":
        return f"{a.query!r}: unknown place"
    if a.status == "ambiguous":
        names = "; ".join(f"{c.name} ({c.kind}, {c.prefecture or c.state}) [{c.code}]" for c in a.candidates)
        return f"{a.query!r}: ambiguous — {names}"
    where = a.prefecture or a.state or ""
    line = f"{a.query!r}: {a.name}{' ' + a.name_ja if a.name_ja else ''} ({a.kind}, {where}) [{a.code}]"
    if a.via_alias:
        line += f" — {a.via_alias['name']} merged into it on {a.via_alias['merged_on']}"
    return line


@cli.command("import")
@click.argument("kind", type=click.Choice(["alumni", "placements", "relationships", "chapters", "seekers"]))
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check every row and report; write nothing.")
@click.option("--skip-invalid", is_flag=True,
              help="Write the good rows; put the bad ones in FILE.rejects.csv with an `error` column.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@pass_app
def import_(app: AppContext, kind: str, file: Path, dry_run: bool, skip_invalid: bool, as_json: bool) -> None:
    """Import a CSV of KIND: all rows or none, with every problem located by row and column."""
    from matcher.ingest import import_csv

    app.ensure_schema()
    gazetteer = app.gazetteer()
    with db.session_scope(app.sessions) as session:  # one transaction: all rows or none
        report = import_csv(session, kind, file, gazetteer=gazetteer, dry_run=dry_run,
                            skip_invalid=skip_invalid)
    if as_json:
        emit_json(report.to_json())
    else:
        click.echo(report.summary())
    if not report.ok and not (skip_invalid and report.rejected):  # a bad header fails even then
        sys.exit(1)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=5000, show_default=True, envvar="JETMATCH_PORT")
@click.option("--workers", type=int, default=2, show_default=True, help="gunicorn worker processes.")
@click.option("--dev", is_flag=True, help="Use Flask's development server instead of gunicorn.")
@pass_app
def serve(app: AppContext, host: str, port: int, workers: int, dev: bool) -> None:
    """Serve the web app (gunicorn; --dev for Flask's reloading server)."""
    app.ensure_schema()
    env = dict(os.environ)
    env["JETMATCH_DATABASE_URL"] = app.engine.url.render_as_string(hide_password=False)
    if dev:
        args = [sys.executable, "-m", "flask", "--app", "web:create_app", "run", "--host", host, "--port", str(port)]
    else:
        args = [sys.executable, "-m", "gunicorn", "--bind", f"{host}:{port}", "--workers", str(workers),
                "--access-logfile", "-", "web:create_app()"]
    click.echo(f"serving on http://{host}:{port}/ (Ctrl-C to stop)")
    os.execvpe(args[0], args, env)


from matcher.cli_partnerships import partnerships  # noqa: E402  (needs AppContext above)

cli.add_command(partnerships)


from matcher.cli_engine import COMMANDS as _ENGINE_COMMANDS  # noqa: E402  (score, suggest, assign, model, bench)

for _command in _ENGINE_COMMANDS:
    cli.add_command(_command)


from matcher.cli_web import demo, users  # noqa: E402  (needs AppContext and serve above)

cli.add_command(users)
cli.add_command(demo)


def main() -> None:
    """Entry point of the console script."""
    cli(prog_name="jetmatch")


if __name__ == "__main__":
    main()
