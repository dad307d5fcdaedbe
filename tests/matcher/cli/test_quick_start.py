"""A quick CLI: `jetmatch --help` and each command's help load no engine library."""

import json
import subprocess
import sys

import pytest

HEAVY = ("numpy", "scipy", "sklearn", "numba", "networkx", "alembic", "flask")

_PROBE = """
import json, sys
from matcher.cli import cli
try:
    cli(sys.argv[1:], prog_name="jetmatch")
except SystemExit:
    pass
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})))
"""


def _loaded(*args: str) -> set[str]:
    run = subprocess.run([sys.executable, "-c", _PROBE, *args], capture_output=True, text=True, check=True)
    return set(json.loads(run.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize("args", [("--help",), ("score", "--help"), ("partnerships", "--help"),
                                  ("resolve", "--help")], ids=" ".join)
def test_help_imports_no_heavy_library(args):
    loaded = _loaded(*args)
    assert "click" in loaded  # the probe ran the command group
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))
