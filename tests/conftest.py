"""Shared fixtures: a migrated database with reference data on SQLite (default) or
PostgreSQL (when JETMATCH_DATABASE_URL is set), a rolled-back session per test, a
scratch database for tests that must commit, and a CLI runner."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, MetaData, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from matcher import db

BASE_URL = os.environ.get("JETMATCH_DATABASE_URL")


def backend() -> str:
    """Return "postgresql" or "sqlite": the back end this test run uses."""
    return "postgresql" if BASE_URL and BASE_URL.startswith("postgres") else "sqlite"


def _scratch_url(tmp_dir) -> Iterator[str]:
    """Yield the URL of a new, empty database; drop it afterwards."""
    if backend() == "sqlite":
        yield f"sqlite:///{tmp_dir / f'scratch-{uuid.uuid4().hex[:8]}.sqlite'}"
        return
    admin_url = make_url(db.database_url(BASE_URL))
    name = f"jetmatch_t_{uuid.uuid4().hex[:10]}"
    admin = db.make_engine(admin_url.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _prepare(url: str) -> Engine:
    engine = db.make_engine(url)
    db.prepare(engine)
    return engine


@pytest.fixture(scope="session")
def db_url(tmp_path_factory) -> Iterator[str]:
    """A database migrated to head with the reference data loaded, for the whole run."""
    if backend() == "postgresql":
        url = db.database_url(BASE_URL)
        engine = db.make_engine(url)
        _drop_everything(engine)
        engine.dispose()
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'jetmatch.sqlite'}"
    engine = _prepare(url)
    engine.dispose()
    yield url


def _drop_everything(engine: Engine) -> None:
    """Leave the given database empty (leftovers of an earlier run included)."""
    if db.current_revision(engine):
        db.downgrade(engine, "base")
    meta = MetaData()
    meta.reflect(engine)
    meta.drop_all(engine)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))


@pytest.fixture(scope="session")
def engine(db_url) -> Iterator[Engine]:
    engine = db.make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine) -> Iterator[Session]:
    """A session whose work is rolled back after the test, commits included."""
    with engine.connect() as connection:
        transaction = connection.begin()
        if connection.dialect.name == "sqlite":
            # The sqlite3 module begins transactions lazily, so a released SAVEPOINT would
            # commit for real: open the outer transaction explicitly.
            connection.exec_driver_sql("BEGIN")
        session = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
        try:
            yield session
        finally:
            session.close()
            transaction.rollback()


@pytest.fixture
def empty_db_url(tmp_path) -> Iterator[str]:
    """The URL of a brand-new empty database (no schema), dropped after the test."""
    yield from _scratch_url(tmp_path)


@pytest.fixture(scope="module")
def scratch_db_url(tmp_path_factory) -> Iterator[str]:
    """A migrated database with reference data that this test module may commit to."""
    for url in _scratch_url(tmp_path_factory.mktemp("scratch")):
        _prepare(url).dispose()
        yield url


@pytest.fixture
def runner(monkeypatch, tmp_path) -> CliRunner:
    """A CLI runner; pass ``--database-url`` explicitly to choose a database."""
    monkeypatch.setenv("JETMATCH_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.delenv("JETMATCH_DATABASE_URL", raising=False)
    return CliRunner()


@pytest.fixture(scope="session")
def gazetteer(engine):
    """The gazetteer built from the reference tables, loaded once per run."""
    from matcher.gazetteer.resolver import Gazetteer

    with Session(engine) as s:
        return Gazetteer.from_session(s)


class _Collect:
    """An aiosmtpd handler that keeps every message it accepts."""

    def __init__(self):
        self.messages: list = []
        self.connections = 0

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self.connections += 1
        session.host_name = hostname
        return responses

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope)
        return "250 OK"


class _Hang(_Collect):
    """An aiosmtpd handler that greets, then never answers EHLO: a server that hangs."""

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        import asyncio

        self.connections += 1
        await asyncio.Event().wait()


@pytest.fixture
def smtp_server():
    """Start a real SMTP server (aiosmtpd) on a free loopback port: ``smtp_server(hang=False)``.

    Returns the handler, with ``.port``, ``.messages`` (envelopes) and ``.connections``.
    """
    import socket

    from aiosmtpd.controller import Controller

    started = []

    def start(hang: bool = False):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        handler = _Hang() if hang else _Collect()
        controller = Controller(handler, hostname="127.0.0.1", port=port)
        controller.start()
        started.append(controller)
        handler.port = port
        return handler

    yield start
    for controller in started:
        controller.stop()
