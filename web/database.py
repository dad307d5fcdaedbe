"""One SQLAlchemy session per request, opened on first use and closed in teardown."""

from __future__ import annotations

from flask import Flask, current_app, g
from sqlalchemy.orm import Session, sessionmaker

from matcher import db as mdb
from matcher.gazetteer import Gazetteer

__all__ = ["init_app", "get_session", "gazetteer", "transport"]


def init_app(app: Flask) -> None:
    """Make the app's session factory; close the request's session in teardown."""
    connection = app.config.get("DB_CONNECTION")
    if connection is not None:
        # Tests hand in a connection inside a transaction that they roll back afterwards.
        factory = sessionmaker(bind=connection, join_transaction_mode="create_savepoint",
                               expire_on_commit=False)
    else:
        engine = mdb.make_engine(app.config["DATABASE_URL"], pool_pre_ping=True)
        app.extensions["jetmatch_engine"] = engine
        factory = mdb.make_sessionmaker(engine)
    app.extensions["jetmatch_sessions"] = factory
    app.teardown_appcontext(_close_session)


def get_session() -> Session:
    """Return this request's session."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["jetmatch_sessions"]()
    return g.db_session


def _close_session(_exc: BaseException | None = None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


def gazetteer():
    """Return the app's gazetteer (built once), or None while matcher.gazetteer.resolver is missing."""
    app = current_app
    if "jetmatch_gazetteer" not in app.extensions:
        found = app.config.get("GAZETTEER")
        if found is None:
            found = Gazetteer.from_session(get_session())
        app.extensions["jetmatch_gazetteer"] = found
    return app.extensions["jetmatch_gazetteer"]


def transport():
    """Return the mail transport: the configured object, else SMTP when MAIL_SERVER is set."""
    from matcher.decisions import ListTransport, SMTPTransport

    app = current_app
    if "jetmatch_transport" not in app.extensions:
        cfg = app.config
        if cfg.get("MAIL_TRANSPORT") is not None:
            chosen = cfg["MAIL_TRANSPORT"]
        elif cfg.get("MAIL_SERVER"):
            chosen = SMTPTransport(cfg["MAIL_SERVER"], int(cfg["MAIL_PORT"]), cfg.get("MAIL_USERNAME"),
                                   cfg.get("MAIL_PASSWORD"), bool(cfg.get("MAIL_STARTTLS")))
        else:
            app.logger.warning("no MAIL_SERVER configured: approval e-mails are kept in memory only")
            chosen = ListTransport()
        app.extensions["jetmatch_transport"] = chosen
    return app.extensions["jetmatch_transport"]
