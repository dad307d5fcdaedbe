"""A quick CLI: `jetmatch --help` and each command's help load no engine library, nor the database's."""

import json
import subprocess
import sys

import click
import pytest

from matcher.cli import cli
from matcher.cli._lazy import LazyGroup

HEAVY = ("sqlalchemy", "numpy", "scipy", "sklearn", "numba", "networkx", "alembic", "flask")

_PROBE = """
import json, sys
from matcher.cli import cli
try:
    cli(sys.argv[1:], prog_name="jetmatch")
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)))
"""


def _modules(*args: str) -> set[str]:
    """The modules a fresh interpreter holds after running `jetmatch ARGS`."""
    run = subprocess.run([sys.executable, "-c", _PROBE, *args], capture_output=True, text=True, check=True)
    return set(json.loads(run.stdout.strip().splitlines()[-1]))


def _loaded(*args: str) -> set[str]:
    """The top-level packages a fresh interpreter holds after running `jetmatch ARGS`."""
    return {name.split(".")[0] for name in _modules(*args)}


@pytest.mark.parametrize("args", [("--help",), ("score", "--help"), ("partnerships", "--help"), ("resolve", "--help"),
                                  ("model", "--help"), ("jobs", "--help"), ("mail", "--help"), ("users", "--help"),
                                  ("audit", "--help"), ("suggest", "--help"), ("graph", "--help")], ids=" ".join)
def test_help_imports_no_heavy_library(args):
    loaded = _loaded(*args)
    assert "click" in loaded  # the probe ran the command group
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_the_top_help_imports_no_command_module():
    loaded = _modules("--help")
    assert "matcher.cli" in loaded
    assert not {"matcher.cli.data", "matcher.cli.scoring", "matcher.cli.audit", "matcher.audit"} & loaded


def _lazy_entries(group: click.Group, path: tuple[str, ...] = ()):
    """Every (path, name, table entry) of the lazy groups under ``group``, loading each command."""
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if isinstance(group, LazyGroup) and name in group.lazy_subcommands:
            yield (*path, name), group.lazy_subcommands[name], command
        if isinstance(command, click.Group):
            yield from _lazy_entries(command, (*path, name))


@pytest.mark.parametrize("limit", [30, 45, 80, 1000])
def test_every_listed_command_loads_and_its_listed_help_is_its_own(limit):
    entries = list(_lazy_entries(cli))
    assert {"resolve", "score", "partnerships", "mail", "audit", "users"} <= {path[0] for path, _, _ in entries}
    assert ("mail", "send") in {path for path, _, _ in entries}
    for path, entry, command in entries:
        assert isinstance(command, click.Command), path
        assert command.name == path[-1], (path, command.name)
        assert entry.short_help(limit) == command.get_short_help_str(limit), path
