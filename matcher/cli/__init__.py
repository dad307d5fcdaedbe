"""The ``jetmatch`` command.

Every command that prints data takes ``--json``; human output goes to stdout, progress
to stderr (and only on a terminal). The database comes from ``--database-url`` or
``JETMATCH_DATABASE_URL``; the default is a SQLite file in the instance folder.

The group is defined here and each command group lives in a module of its own
(``data``, ``scoring``, ``partnerships``, ``reports``, ``web``, ``jobs``, ``mail``, ``audit``); they share
only :mod:`matcher.cli._app`. The group imports a command's module when that command runs or shows its
help (:class:`matcher.cli._lazy.LazyGroup`), so `jetmatch --help` loads nothing but click.
"""

from __future__ import annotations

import sys

import click

from matcher.cli._app import AppContext, emit_json, pass_app
from matcher.cli._lazy import LazyCommand, LazyGroup

__all__ = ["main", "cli", "AppContext", "pass_app", "emit_json"]


#: Every command: where it lives and the first paragraph of its help, which `jetmatch --help`
#: lists without importing the module (tests/matcher/cli/test_quick_start.py keeps the two equal).
COMMANDS = {
    "assign": LazyCommand("matcher.cli.scoring:assign",
                          "Propose a capacity-aware assignment of volunteers to relationships."),
    "audit": LazyCommand("matcher.cli.audit:audit", "Check the audit trail of coordinators' decisions."),
    "bench": LazyCommand("matcher.cli.scoring:bench", "Benchmark scoring on synthetic arrays: times and peak memory."),
    "demo": LazyCommand("matcher.cli.web:demo",
                        "Build a fresh demo database (instance/demo.sqlite), one login per role, and serve it."),
    "graph": LazyCommand("matcher.cli.reports:graph",
                         "The place graph: US places, states, JP municipalities, prefectures, ties and placements."),
    "import": LazyCommand("matcher.cli.data:import_",
                          "Import a CSV of KIND: all rows or none, with every problem located by row and column."),
    "init": LazyCommand("matcher.cli.data:init", "Create or upgrade the schema and load the reference data."),
    "jobs": LazyCommand("matcher.cli.jobs:jobs", "List background jobs, newest first (queued, running with progress, "
                                                 "done, failed with the error)."),
    "mail": LazyCommand("matcher.cli.mail:mail", "The outbox of e-mails that decisions wrote."),
    "model": LazyCommand("matcher.cli.scoring:model", "Scoring models: status, train from decisions, use a version."),
    "partnerships": LazyCommand("matcher.cli.partnerships:partnerships",
                                "Likely new sister-city partnerships, learned from the existing ones."),
    "report": LazyCommand("matcher.cli.reports:report",
                          "Coverage, decisions, exposure, dormant relationships and the tie graph, in figures."),
    "resolve": LazyCommand("matcher.cli.data:resolve",
                           'Resolve place names: "Yamauchi, Saga", "Ōita", "大分市", "Rice Lake, WI", "54868".'),
    "score": LazyCommand("matcher.cli.scoring:score",
                         "Recompute all suggestions with the active model, with a progress bar."),
    "serve": LazyCommand("matcher.cli.web:serve",
                         "Serve the web app (gunicorn; --dev for Flask's reloading server) and run background jobs."),
    "suggest": LazyCommand("matcher.cli.scoring:suggest", "Ranked suggestions with reasons."),
    "users": LazyCommand("matcher.cli.web:users", "Manage logins."),
    "worker": LazyCommand("matcher.cli.jobs:worker", "Run background jobs (re-scoring, retraining, mail) until Ctrl-C."),
}


@click.group(cls=LazyGroup, lazy_subcommands=COMMANDS, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--database-url", envvar="JETMATCH_DATABASE_URL", help="SQLAlchemy URL (default: SQLite in ./instance).")
@click.version_option(package_name="jetmatch")
@click.pass_context
def cli(ctx: click.Context, database_url: str | None) -> None:
    """jetmatch: join JET alumni to US–Japan sister-city relationships."""
    ctx.obj = AppContext(url=database_url)
    ctx.call_on_close(ctx.obj.close)


def main() -> None:
    """Entry point of the console script.

    When the command ends, the process ends: Python's exit would otherwise run full cycle
    collections over every object still alive (after ``jetmatch score``, the pool's and the
    compiler's; half a second of CPU), only to hand the memory back to the system. So the
    collector is told to leave them (``gc.freeze``). Commands close their files, sessions and
    engines themselves (``with`` blocks, the context's close callbacks), before this point.
    """
    from matcher.cli import _app

    _app.ONE_SHOT = True
    try:
        cli(prog_name="jetmatch")
    finally:
        import gc

        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        gc.freeze()
