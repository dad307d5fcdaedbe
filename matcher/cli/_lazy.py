"""A click group that imports a command's module only when that command is used (click's LazyGroup).

`jetmatch --help` then loads click and this module only: the group lists every command
with the short help kept in its table, and imports ``matcher.cli.data`` (say) when
``resolve`` runs or shows its own help. This is the pattern of click's documentation,
"Lazily Loading Subcommands", with the short help added so the listing loads nothing.
"""

from __future__ import annotations

import importlib
from gettext import gettext as _
from typing import NamedTuple

import click

__all__ = ["LazyCommand", "LazyGroup"]


class LazyCommand(NamedTuple):
    """Where a command lives (``"module:attribute"``) and the first paragraph of its help."""

    target: str
    help: str

    def short_help(self, limit: int) -> str:
        """The help line `--help` lists, cut to ``limit`` as click cuts a loaded command's."""
        return click.Command(None, help=self.help).get_short_help_str(limit)

    def load(self) -> click.Command:
        """Import the module and return the command object."""
        module, _, attribute = self.target.partition(":")
        command = getattr(importlib.import_module(module), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{self.target} is not a click command")
        return command


class LazyGroup(click.Group):
    """A group whose commands are named in ``lazy_subcommands``: name → :class:`LazyCommand`.

    Parameters
    ----------
    lazy_subcommands : dict[str, LazyCommand]
        The commands loaded on first use; commands added with ``add_command`` work as usual.
    """

    def __init__(self, *args, lazy_subcommands: dict[str, LazyCommand] | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_subcommands = dict(lazy_subcommands or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_subcommands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy_subcommands:
            self.add_command(self.lazy_subcommands[cmd_name].load(), cmd_name)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """List the commands as :meth:`click.Group.format_commands` does, from the table for those not loaded."""
        shown = [name for name in self.list_commands(ctx)
                 if name not in self.commands or not self.commands[name].hidden]
        if not shown:
            return
        limit = formatter.width - 6 - max(len(name) for name in shown)
        rows = [(name, self.commands[name].get_short_help_str(limit) if name in self.commands
                 else self.lazy_subcommands[name].short_help(limit)) for name in shown]
        with formatter.section(_("Commands")):
            formatter.write_dl(rows)
