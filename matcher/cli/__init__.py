"""The ``jetmatch`` command.

Every command that prints data takes ``--json``; human output goes to stdout, progress
to stderr (and only on a terminal). The database comes from ``--database-url`` or
``JETMATCH_DATABASE_URL``; the default is a SQLite file in the instance folder.

The group is defined here and each command group lives in a module of its own
(``data``, ``scoring``, ``partnerships``, ``reports``, ``web``, ``jobs``); they share only :mod:`matcher.cli._app`.
"""

from __future__ import annotations

import click

from matcher.cli._app import AppContext, emit_json, pass_app
from matcher.cli.audit import audit
from matcher.cli.data import import_, init, resolve
from matcher.cli.jobs import jobs, worker
from matcher.cli.mail import mail
from matcher.cli.partnerships import partnerships
from matcher.cli.reports import graph, report
from matcher.cli.scoring import COMMANDS as _SCORING_COMMANDS
from matcher.cli.web import demo, serve, users

__all__ = ["main", "cli", "AppContext", "pass_app", "emit_json"]


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--database-url", envvar="JETMATCH_DATABASE_URL", help="SQLAlchemy URL (default: SQLite in ./instance).")
@click.version_option(package_name="jetmatch")
@click.pass_context
def cli(ctx: click.Context, database_url: str | None) -> None:
    """jetmatch: join JET alumni to US–Japan sister-city relationships."""
    ctx.obj = AppContext(url=database_url)
    ctx.call_on_close(ctx.obj.close)


for _command in (init, resolve, import_, serve, worker, jobs, partnerships, *_SCORING_COMMANDS, users, demo, report,
                 graph, audit, mail):
    cli.add_command(_command)


def main() -> None:
    """Entry point of the console script."""
    cli(prog_name="jetmatch")
