"""Engine, sessions and schema migrations.

The database is chosen by ``--database-url``, else ``JETMATCH_DATABASE_URL``, else a
SQLite file in the instance folder (``JETMATCH_INSTANCE_PATH`` or ``./instance``).
The same code and Alembic migrations serve SQLite and PostgreSQL.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from matcher.instance import database_url, instance_path

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = [
    "database_url",
    "instance_path",
    "make_engine",
    "make_sessionmaker",
    "session_scope",
    "upgrade",
    "prepare",
    "downgrade",
    "current_revision",
    "head_revision",
    "is_current",
]

MIGRATIONS = Path(__file__).with_name("migrations")


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _private_sqlite_file(url: str) -> None:
    """Create a missing SQLite file readable by its owner only; SQLite gives its journals the same mode."""
    parsed = make_url(url)
    name = parsed.database
    if parsed.get_backend_name() != "sqlite" or not name or name == ":memory:" or name.startswith("file:"):
        return
    path = Path(name)
    if path.parent.is_dir():
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:
            pass


def make_engine(url: str | None = None, **kwargs) -> Engine:
    """Create an engine for ``url`` with foreign keys enforced on SQLite too.

    A new SQLite file is created readable and writable by its owner only: it holds
    alumni's contact details and password hashes.
    """
    url = database_url(url)
    _private_sqlite_file(url)
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Return a session factory bound to ``engine``."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """Open a session, commit when the block succeeds, roll back when it raises."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def _alembic_config(engine: Engine) -> Config:
    from alembic.config import Config  # Alembic only where the schema is read or changed

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the schema up to ``revision``."""
    from alembic import command

    command.upgrade(_alembic_config(engine), revision)


def prepare(engine: Engine, progress: Callable[[str], None] | None = None) -> dict[str, int]:
    """Migrate the schema to head and load (or refresh) the reference data in one transaction.

    The one way a database is made ready: ``jetmatch init``, the demo, the benchmark and the
    test fixtures all call it. ``progress`` gets short status lines. Returns the counts that
    :func:`matcher.refdata.load_reference_data` reports.
    """
    from matcher.refdata import load_reference_data  # the gazetteer behind it: only `init` and the like need it

    upgrade(engine)
    with session_scope(make_sessionmaker(engine)) as session:
        return load_reference_data(session, progress=progress or (lambda _: None))


def downgrade(engine: Engine, revision: str = "base") -> None:
    """Migrate the schema down to ``revision``."""
    from alembic import command

    command.downgrade(_alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    """Return the schema's current Alembic revision, or None for an empty database."""
    if not inspect(engine).has_table("alembic_version"):
        return None
    with engine.connect() as conn:
        return conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()


def head_revision() -> str:
    """Return the newest migration's revision id (Alembic's answer, see :func:`_scan_head`)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config).get_current_head()


_REVISION = re.compile(r"""^(down_revision|revision)\s*=\s*["']([^"']+)["']""", re.M)


def _scan_head() -> str | None:
    """Return the one revision no migration builds on, read from the files; None unless exactly one.

    Every command checks the schema before it runs; reading a dozen short files costs
    a millisecond, where Alembic's script directory costs a third of a second to import.
    """
    revisions, parents = set(), set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        found = dict((key, value) for key, value in _REVISION.findall(path.read_text(encoding="utf-8")))
        if "revision" in found:
            revisions.add(found["revision"])
            parents.add(found.get("down_revision"))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def is_current(engine: Engine) -> bool:
    """Whether the schema is at the newest migration (Alembic decides only when the files are unusual)."""
    head = _scan_head() or head_revision()
    return current_revision(engine) == head
