"""The jetmatch web app: one blueprint per role, server-rendered, usable without JavaScript.

``create_app(test_config=None)`` follows Flask's tutorial factory: defaults, then
``JETMATCH_*`` environment variables, then the test mapping. The database URL comes
from ``JETMATCH_DATABASE_URL`` (via :func:`matcher.db.database_url`); the secret key
from ``JETMATCH_SECRET_KEY`` or a file generated once in the instance folder.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import Flask
from flask_wtf.csrf import CSRFProtect

from matcher import db as mdb

__all__ = ["create_app"]


def create_app(test_config: dict | None = None) -> Flask:
    """Create and configure the app."""
    app = Flask(__name__, instance_path=str(mdb.instance_path()), instance_relative_config=True)
    app.config.from_mapping(
        DATABASE_URL=None,
        SECRET_KEY=None,
        SESSION_COOKIE_SECURE=True,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=8 * 3600,
        # The cookie is re-sent only when the session changed: the last-seen time moves at most once a
        # minute (web.auth.SEEN_GRAIN), and the idle and absolute limits are checked on the server.
        SESSION_REFRESH_EACH_REQUEST=False,
        SESSION_IDLE_TIMEOUT=3600,  # seconds without a request before a session ends
        SESSION_ABSOLUTE_LIFETIME=8 * 3600,  # seconds after sign-in, however busy
        MAX_CONTENT_LENGTH=8 * 1024 * 1024,
        LOGIN_ACCOUNT_LIMIT=10,  # wrong passwords per account per window, shared by all workers
        LOGIN_IP_LIMIT=100,  # wrong passwords per address per window
        LOGIN_WINDOW_MINUTES=15,
        BASE_URL="http://127.0.0.1:5000",  # where the site is served: invite links start here
        INVITE_DAYS=7,
        API_TOKEN_DAYS=90,
        MAIL_SERVER=None,
        MAIL_PORT=25,
        MAIL_USERNAME=None,
        MAIL_PASSWORD=None,
        MAIL_STARTTLS=False,
        MAIL_SENDER="jetmatch <no-reply@jetmatch.invalid>",
        MAIL_TRANSPORT=None,  # an object with .send(EmailMessage); tests pass a ListTransport
        PAGE_SIZE=50,
        VOLUNTEER_PAGE_SIZE=20,  # committees want a handful; the next page is a click away
        GRAPH_CHECK_SECONDS=5.0,  # how often pages re-check the place graph's data fingerprint
        PRELOAD=False,  # load shared read-only structures now (gunicorn --preload: before the fork)
    )
    app.config.from_prefixed_env("JETMATCH")
    if test_config is not None:
        app.config.from_mapping(test_config)
    app.config["DATABASE_URL"] = mdb.database_url(app.config["DATABASE_URL"])
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = _instance_secret(Path(app.instance_path))

    from web import database, security

    database.init_app(app)
    security.init_app(app)
    CSRFProtect(app)

    from web import (alumnus, api, auth, chapter, committee, coordinator, home, jobs, maps, partnerships,
                     relationships, reports)

    for module in (auth, home, relationships, committee, chapter, coordinator, jobs, partnerships, alumnus, api, maps,
                   reports):
        app.register_blueprint(module.bp)
    app.extensions["csrf"].exempt(api.bp)  # token-authenticated, never cookie-authenticated
    if app.config["PRELOAD"]:
        from web.warm import warm

        warm(app)
    return app


def _instance_secret(folder: Path) -> str:
    """Return the secret key kept in the instance folder, creating it on first use."""
    path = folder / "secret_key"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        # Written aside, then linked into place: gunicorn workers starting together agree.
        # Created readable by the owner only: the key signs every session cookie.
        temp = folder / f".secret_key.{os.getpid()}.{secrets.token_hex(4)}"
        handle = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(handle, "w") as out:
            out.write(secrets.token_hex(32))
        try:
            os.link(temp, path)
        except FileExistsError:
            pass
        finally:
            temp.unlink()
    return path.read_text().strip()
