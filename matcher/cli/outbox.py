"""`jetmatch mail send` and `jetmatch mail status`: deliver the outbox, see what waits.

The commands of the ``mail`` group (:mod:`matcher.cli.mail`), kept apart from it because their
options' defaults come from :mod:`matcher.mail`, which loads SQLAlchemy: `jetmatch mail --help`
lists them without importing this module.
"""

from __future__ import annotations

import os

import click

from matcher.cli._app import AppContext, emit_json, pass_app
from matcher.mail import DEFAULT_SENDER, MAX_ATTEMPTS, SMTPTransport, outbox_counts, send_outbox

__all__ = ["send", "status"]


@click.command("send")
@click.option("--server", envvar="JETMATCH_MAIL_SERVER", help="SMTP host (JETMATCH_MAIL_SERVER).")
@click.option("--port", type=int, envvar="JETMATCH_MAIL_PORT", default=25, show_default=True)
@click.option("--sender", envvar="JETMATCH_MAIL_SENDER", default=DEFAULT_SENDER, show_default=True)
@click.option("--timeout", type=float, default=10.0, show_default=True, help="Seconds to wait on the server.")
@click.option("--limit", type=click.IntRange(1, 100_000), default=500, show_default=True)
@click.option("--max-attempts", type=click.IntRange(1, 100), default=MAX_ATTEMPTS, show_default=True,
              help="Attempts before a message is marked failed.")
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
@pass_app
def send(app: AppContext, server: str | None, port: int, sender: str, timeout: float, limit: int,
         max_attempts: int, as_json: bool) -> None:
    """Send the e-mails that are due, with a timeout and retries; mark each sent or failed."""
    app.ensure_schema()
    if not server:
        raise click.ClickException("no SMTP server: set JETMATCH_MAIL_SERVER or pass --server")
    transport = SMTPTransport(server, port, os.environ.get("JETMATCH_MAIL_USERNAME"),
                              os.environ.get("JETMATCH_MAIL_PASSWORD"),
                              os.environ.get("JETMATCH_MAIL_STARTTLS", "").lower() in ("1", "true", "yes"), timeout)
    with app.session() as session:
        counts = send_outbox(session, transport, sender=sender, limit=limit, max_attempts=max_attempts)
    if as_json:
        emit_json(counts)
    else:
        click.echo(f"sent {counts['sent']}, will retry {counts['retried']}, failed {counts['failed']}; "
                   f"{counts['pending']} still pending")


@click.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
@pass_app
def status(app: AppContext, as_json: bool) -> None:
    """Count the outbox's pending, sent and failed messages."""
    app.ensure_schema()
    with app.session() as session:
        counts = outbox_counts(session)
    if as_json:
        emit_json(counts)
    else:
        click.echo(", ".join(f"{n} {state}" for state, n in counts.items()))
