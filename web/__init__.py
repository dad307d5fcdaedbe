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
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
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
        MAX_CONTENT_LENGTH=8 * 1024 * 1024,
        LOGIN_RATE_LIMIT="10 per minute",
        RATELIMIT_STORAGE_URI="memory://",
        MAIL_SERVER=None,
        MAIL_PORT=25,
        MAIL_USERNAME=None,
        MAIL_PASSWORD=None,
        MAIL_STARTTLS=False,
        MAIL_SENDER="jetmatch <no-reply@jetmatch.invalid>",
        MAIL_TRANSPORT=None,  # an object with .send(EmailMessage); tests pass a ListTransport
        PAGE_SIZE=50,
        VOLUNTEER_PAGE_SIZE=20,  # committees want a handful; the next page is a click away
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
    app.extensions["jetmatch_limiter"] = Limiter(
        get_remote_address, app=app, storage_uri=app.config["RATELIMIT_STORAGE_URI"], default_limits=[])

    from web import alumnus, api, auth, chapter, committee, coordinator, home, partnerships, relationships

    for module in (auth, home, relationships, committee, chapter, coordinator, partnerships, alumnus, api):
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
        temp = folder / f".secret_key.{os.getpid()}.{secrets.token_hex(4)}"
        temp.write_text(secrets.token_hex(32))
        temp.chmod(0o600)
        try:
            os.link(temp, path)
        except FileExistsError:
            pass
        finally:
            temp.unlink()
    return path.read_text().strip()
