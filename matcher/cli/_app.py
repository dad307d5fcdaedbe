"""What every command shares: the database context, its click decorator, JSON output."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property

import click
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from matcher import db

__all__ = ["AppContext", "pass_app", "emit_json"]


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
            from matcher.gazetteer.resolver import Gazetteer

            with self.session() as session:
                self._gazetteer = Gazetteer.from_session(session)
        return self._gazetteer


pass_app = click.make_pass_decorator(AppContext)


def emit_json(data) -> None:
    """Print ``data`` as JSON on stdout (UTF-8, kanji kept as they are)."""
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))
