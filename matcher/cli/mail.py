"""`jetmatch mail`: the outbox of e-mails; its commands live in :mod:`matcher.cli.outbox`."""

from __future__ import annotations

import click

from matcher.cli._lazy import LazyCommand, LazyGroup

__all__ = ["mail"]

COMMANDS = {
    "send": LazyCommand("matcher.cli.outbox:send",
                        "Send the e-mails that are due, with a timeout and retries; mark each sent or failed."),
    "status": LazyCommand("matcher.cli.outbox:status", "Count the outbox's pending, sent and failed messages."),
}


@click.group(cls=LazyGroup, lazy_subcommands=COMMANDS)
def mail() -> None:
    """The outbox of e-mails that decisions wrote."""
