"""What every command shares: the database context, its click decorator, JSON output, lazy modules.

Nothing heavy is imported here or at the top of a command module: `jetmatch --help` loads
click and these modules only, and each command imports what it needs when it runs.
"""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass, field
from functools import cached_property
from types import ModuleType
from typing import TYPE_CHECKING

import click

from matcher.instance import database_url, instance_path

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session, sessionmaker

__all__ = ["AppContext", "pass_app", "emit_json", "lazy_module", "collector_paused"]


def lazy_module(name: str) -> ModuleType:
    """Return the module ``name``, run on the first use of one of its attributes (importlib's LazyLoader).

    A command module can then name ``db`` or ``pt`` at its top and still start in
    milliseconds for the commands that never touch them.

    >>> lazy_module("json").dumps([1])
    '[1]'
    """
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    spec.loader = importlib.util.LazyLoader(spec.loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


db = lazy_module("matcher.db")

# Set by the console script's main: the process ends when its command does.
ONE_SHOT = False


def collector_paused():
    """Pause Python's cycle collector for a command's heavy work, which makes few cycles
    (:func:`matcher.collector.paused`).

    Importing SQLAlchemy, the models and Numba and loading 40,000 alumni create some
    million objects that live to the end of `jetmatch score`; the collector walked them
    again and again (three full collections and some 400 younger ones, about 0.8 s). When
    the process ends with the command (``ONE_SHOT``), they are frozen at the end of the
    block, so neither the first collection afterwards nor the interpreter's exit walks
    them; in a process that goes on (tests), the collector simply resumes.
    """
    from matcher.collector import paused

    return paused(freeze=ONE_SHOT)


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
        if not db.is_current(self.engine):
            raise click.ClickException(
                f"the database at {self.engine.url.render_as_string(hide_password=True)} is not initialised "
                "or is out of date: run `jetmatch init` first"
            )

    def gazetteer(self):
        """The gazetteer of this database, from the instance folder's cache file when it is current.

        On SQLite a current file is found and read without SQLAlchemy (and the schema check it
        makes stands for :meth:`ensure_schema`); otherwise the schema is checked here.
        """
        if self._gazetteer is None:
            from matcher.cached import cached_gazetteer, stored_gazetteer

            folder = instance_path() / "cache"
            self._gazetteer = stored_gazetteer(database_url(self.url), folder)
            if self._gazetteer is None:
                self.ensure_schema()
                with self.session() as session:
                    self._gazetteer = cached_gazetteer(session, folder)
        return self._gazetteer


pass_app = click.make_pass_decorator(AppContext)


def emit_json(data) -> None:
    """Print ``data`` as JSON on stdout (UTF-8, kanji kept as they are)."""
    from matcher.cli._json import dumps_indented  # json.dumps(…, indent=2)'s text, faster

    click.echo(dumps_indented(data))
