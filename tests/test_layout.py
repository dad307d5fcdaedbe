"""The package layout holds: every module imports on its own, and the CLI runs as a module."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys

import pytest


def _modules() -> list[str]:
    names = []
    for top in ("matcher", "web"):
        package = importlib.import_module(top)
        names.append(top)
        for info in pkgutil.walk_packages(package.__path__, top + "."):
            # alembic's env.py runs migrations on import; __main__ runs the command
            if ".migrations" not in info.name and not info.name.endswith("__main__"):
                names.append(info.name)
    return names


MODULES = _modules()


def test_the_packages_named_by_the_layout_exist():
    for name in ("matcher.cli", "matcher.gazetteer", "matcher.ingest", "matcher.partnerships", "matcher.scoring"):
        assert hasattr(importlib.import_module(name), "__all__"), name
    flat = [m for m in MODULES if m.count(".") == 1 and m.split(".")[1].startswith(("link", "ingest_", "cli_"))]
    assert flat == []


@pytest.mark.slow
def test_every_module_imports_alone_in_a_fresh_interpreter():
    # one interpreter per module: a cycle hidden by the order of earlier imports shows up here
    script = "import importlib, sys\nfor n in sys.argv[1:]:\n    importlib.import_module(n)\n"
    failures = {}
    for name in MODULES:
        done = subprocess.run([sys.executable, "-c", script, name], capture_output=True, text=True)
        if done.returncode:
            failures[name] = done.stderr.strip().splitlines()[-1]
    assert failures == {}
    assert len(MODULES) > 50


def test_python_dash_m_matcher_cli_help_lists_the_commands():
    done = subprocess.run([sys.executable, "-m", "matcher.cli", "--help"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    for command in ("init", "resolve", "import", "score", "suggest", "partnerships", "serve", "demo", "bench"):
        assert f"  {command} " in done.stdout
