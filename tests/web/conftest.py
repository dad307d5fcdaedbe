"""Web fixtures: an app whose sessions run inside a rolled-back transaction, a client,
the named world, sign-in helpers, and a live server on its own database for the browser."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher
from sqlalchemy.orm import Session

import jm_world
from matcher import accounts, db
from matcher.decisions import ListTransport
from web import create_app


@pytest.fixture(autouse=True, scope="session")
def _quick_password_hashing():
    """Cheap argon2 parameters: the tests sign in hundreds of times."""
    original = accounts._hasher
    accounts._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield
    accounts._hasher = original


@pytest.fixture
def connection(engine):
    """A connection inside a transaction that is rolled back after the test."""
    with engine.connect() as conn:
        transaction = conn.begin()
        yield conn
        transaction.rollback()


@pytest.fixture
def db_session(connection) -> Iterator[Session]:
    """A session on the test's connection, for setting data up and checking it."""
    session = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    yield session
    session.close()


@pytest.fixture
def world(db_session) -> jm_world.World:
    return jm_world.build(db_session)


@pytest.fixture
def outbox() -> ListTransport:
    return ListTransport()


def app_config(url: str, **extra) -> dict:
    return {"TESTING": True, "DATABASE_URL": url, "SECRET_KEY": "test-secret", "SESSION_COOKIE_SECURE": False,
            "MAIL_SENDER": "jetmatch <no-reply@jetmatch.test>",
            "GRAPH_CHECK_SECONDS": 0,  # each test builds its own world: check the graph's fingerprint every time
            **extra}


@pytest.fixture
def app(db_url, connection, outbox, gazetteer, tmp_path, monkeypatch):
    monkeypatch.setenv("JETMATCH_INSTANCE_PATH", str(tmp_path / "instance"))
    return create_app(app_config(db_url, DB_CONNECTION=connection, MAIL_TRANSPORT=outbox, GAZETTEER=gazetteer))


@pytest.fixture
def client(app):
    return app.test_client()


CSRF = re.compile(r'name="csrf-token" content="([^"]+)"')


def csrf_token(client) -> str:
    """The session's CSRF token, read from a page's meta tag."""
    page = client.get("/login", follow_redirects=True).get_data(as_text=True)
    return CSRF.search(page).group(1)


def login(client, login_name: str, password: str = jm_world.PASSWORD):
    """Sign in through the form (CSRF included); return the response."""
    return client.post("/login", data={"login": login_name, "password": password, "csrf_token": csrf_token(client)})


def post(client, url: str, data: dict | None = None, **kw):
    """POST a form with the session's CSRF token."""
    return client.post(url, data={**(data or {}), "csrf_token": csrf_token(client)}, **kw)


@pytest.fixture
def as_role(client, world):
    """Sign the client in as one of the world's users: ``as_role("committee")``."""
    def sign_in(key: str):
        response = login(client, world.logins[key])
        assert response.status_code == 302, f"could not sign in as {key}"
        return client
    return sign_in


class LiveServer:
    def __init__(self, app):
        from werkzeug.serving import make_server

        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.thread.join(5)


@pytest.fixture(scope="module")
def live_world(scratch_db_url):
    """The named world committed to the module's scratch database."""
    engine = db.make_engine(scratch_db_url)
    original = accounts._hasher
    accounts._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    try:
        with db.session_scope(db.make_sessionmaker(engine)) as session:
            world = jm_world.build(session)
            logins = dict(world.logins)
            ids = {"hot_springs": world.hot_springs.id, "rutland": world.rutland.id, "hana": world.hana.id}
    finally:
        accounts._hasher = original
        engine.dispose()
    return {"url": scratch_db_url, "logins": logins, **ids}


@pytest.fixture(scope="module")
def live_server(live_world):
    """The app served by werkzeug on 127.0.0.1 (a free port), on the module's scratch database."""
    outbox = ListTransport()
    app = create_app(app_config(live_world["url"], MAIL_TRANSPORT=outbox))
    with LiveServer(app) as server:
        server.outbox = outbox
        server.app = app
        yield server
    app.extensions["jetmatch_engine"].dispose()


AXE_VERSION = "4.14.1"


@pytest.fixture(scope="session")
def axe_source() -> str:
    """axe-core's script, fetched once from the npm registry (`npm pack`) into a cache folder.

    Cached under $JETMATCH_CACHE (default ~/.cache/jetmatch); without npm and without a cached
    copy the accessibility checks skip, except under CI, where that is a failure.
    """
    import os
    import shutil
    import subprocess
    import tarfile
    import tempfile
    from pathlib import Path

    cache = Path(os.environ.get("JETMATCH_CACHE", Path.home() / ".cache" / "jetmatch")) / f"axe-core-{AXE_VERSION}"
    script = cache / "axe.min.js"
    if not script.exists():
        if shutil.which("npm") is None:
            message = "no npm to fetch axe-core with, and no cached copy"
            pytest.fail(message) if os.environ.get("CI") else pytest.skip(message)
        cache.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as folder:
            done = subprocess.run(["npm", "pack", f"axe-core@{AXE_VERSION}", "--silent"], cwd=folder,
                                  capture_output=True, text=True, check=True, timeout=300)
            with tarfile.open(Path(folder) / done.stdout.strip().splitlines()[-1]) as tar:
                member = tar.extractfile("package/axe.min.js")
                partial = cache / f".axe.min.js.{os.getpid()}"
                partial.write_bytes(member.read())
                partial.replace(script)
    return script.read_text(encoding="utf-8")
