"""`jetmatch serve`, `jetmatch users add` and `jetmatch demo`: the web app, accounts, a demo site.

Registered in :mod:`matcher.cli`. No Flask import here: `demo` hands over to
`jetmatch serve`, which starts gunicorn.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from matcher.cli._app import AppContext, db, emit_json, pass_app
from matcher.console import status

__all__ = ["serve", "users", "demo"]

DEMO_PASSWORD = "jetmatch-demo"


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=5000, show_default=True, envvar="JETMATCH_PORT")
@click.option("--workers", type=int, default=2, show_default=True, help="gunicorn worker processes.")
@click.option("--dev", is_flag=True, help="Use Flask's development server instead of gunicorn.")
@pass_app
def serve(app: AppContext, host: str, port: int, workers: int, dev: bool) -> None:
    """Serve the web app (gunicorn; --dev for Flask's reloading server)."""
    app.ensure_schema()
    env = dict(os.environ)
    env["JETMATCH_DATABASE_URL"] = app.engine.url.render_as_string(hide_password=False)
    if not dev:  # the app is built once in gunicorn's master, its shared structures loaded before the fork
        env["JETMATCH_PRELOAD"] = "1"
    if dev:
        args = [sys.executable, "-m", "flask", "--app", "web:create_app", "run", "--host", host, "--port", str(port)]
    else:
        args = [sys.executable, "-m", "gunicorn", "--bind", f"{host}:{port}", "--workers", str(workers),
                "--preload", "--access-logfile", "-", "web:create_app()"]
    click.echo(f"serving on http://{host}:{port}/ (Ctrl-C to stop)")
    os.execvpe(args[0], args, env)


@click.group()
def users() -> None:
    """Manage logins."""


@users.command("add")
@click.option("--login", required=True, help="The login, usually an e-mail address.")
@click.option("--role", required=True, type=click.Choice(["coordinator", "chapter_lead", "committee", "alumnus"]))
@click.option("--chapter", help="Chapter slug (chapter leads).")
@click.option("--relationship", "relationship_id", type=int, help="Relationship id (committee members).")
@click.option("--alum", help="The alum's external id (alumni).")
@click.option("--password", help="Set a password now; without one, an invite link is printed.")
@click.option("--base-url", default="http://127.0.0.1:5000", show_default=True, envvar="JETMATCH_BASE_URL",
              help="Where the site is served, for the invite link.")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def users_add(app: AppContext, login, role, chapter, relationship_id, alum, password, base_url, as_json) -> None:
    """Add a user scoped to their chapter, relationship or own profile."""
    from matcher.accounts import AccountError, create_user

    app.ensure_schema()
    try:
        with db.session_scope(app.sessions) as session:
            user, invite = create_user(session, login, role, chapter=chapter, relationship_id=relationship_id,
                                       alum=alum, password=password)
            result = {"login": user.login, "role": user.role, "id": user.id,
                      "invite_url": f"{base_url.rstrip('/')}/invite/{invite}" if invite else None}
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        emit_json(result)
        return
    click.echo(f"added {result['login']} ({role})")
    if result["invite_url"]:
        click.echo(f"invite link (works once): {result['invite_url']}")


def _demo_accounts(session) -> list[dict[str, str]]:
    """Create one account per role, scoped to the demo's best-known relationship and chapter."""
    from sqlalchemy import select

    from matcher.accounts import create_user
    from matcher.models import Alumnus, Chapter, Municipality, Relationship, Suggestion, USPlace

    rel = session.scalar(select(Relationship).join(USPlace, Relationship.us_place_id == USPlace.id)
                         .join(Municipality, Relationship.jp_municipality_code == Municipality.code)
                         .where(USPlace.name == "Hot Springs", Municipality.name == "Hanamaki"))
    if rel is None:  # any relationship with suggestions, else any at all
        rel = session.scalar(select(Relationship).join(Suggestion, Suggestion.relationship_id == Relationship.id)
                             .order_by(Relationship.id)) or session.scalar(select(Relationship).order_by(Relationship.id))
    chapter = session.scalar(select(Chapter).join(Suggestion, Suggestion.chapter_id == Chapter.id)
                             .order_by(Chapter.id)) or session.scalar(select(Chapter).order_by(Chapter.id))
    alum = None
    if rel is not None:
        alum = session.scalar(select(Alumnus).join(Suggestion, Suggestion.alumnus_id == Alumnus.id)
                              .where(Suggestion.relationship_id == rel.id).order_by(Suggestion.score.desc()))
    alum = alum or session.scalar(select(Alumnus).order_by(Alumnus.id))
    wanted = [("coordinator@demo.jetmatch", "coordinator", {}),
              ("coordinator2@demo.jetmatch", "coordinator", {})]
    if chapter is not None:
        wanted.append(("lead@demo.jetmatch", "chapter_lead", {"chapter": chapter.slug}))
    if rel is not None:
        wanted.append(("committee@demo.jetmatch", "committee", {"relationship_id": rel.id}))
    if alum is not None:
        wanted.append(("alum@demo.jetmatch", "alumnus", {"alum": alum.external_id}))
    made = []
    for login, role, scope in wanted:
        create_user(session, login, role, password=DEMO_PASSWORD, **scope)
        what = (f"chapter {scope['chapter']}" if "chapter" in scope else
                f"committee of {rel.label}" if "relationship_id" in scope else
                f"alum {alum.display_name} ({alum.external_id})" if "alum" in scope else "everything")
        made.append({"login": login, "password": DEMO_PASSWORD, "role": role, "sees": what})
    return made


def build_demo(path: Path, alumni: int, seed: int = 1) -> dict:
    """Build a fresh demo SQLite database at ``path``; return what it holds and the logins."""
    from matcher.partnerships import train as train_partnerships
    from matcher.refdata import load_reference_data

    for leftover in (path, path.with_name(path.name + "-journal"), path.with_name(path.name + "-wal")):
        leftover.unlink(missing_ok=True)
    engine = db.make_engine(f"sqlite:///{path}")
    sessions = db.make_sessionmaker(engine)
    try:
        status("migrating schema…")
        db.upgrade(engine)
        summary: dict = {"database": str(path)}
        with db.session_scope(sessions) as session:
            summary["reference"] = load_reference_data(session, progress=status)
        if alumni:
            from matcher.synth import add_demo_alumni

            with db.session_scope(sessions) as session:
                summary["alumni"] = add_demo_alumni(session, alumni, seed=seed)["inserted"]
        try:
            from matcher.scoring.suggestions import score_all
        except ImportError:
            summary["scoring"] = "matcher.scoring.scorer is not available: no suggestions"
        else:
            status("scoring…")
            with db.session_scope(sessions) as session:
                summary["scoring"] = score_all(session)
        with db.session_scope(sessions) as session:
            summary["partnerships_model"] = train_partnerships(session).version  # the page starts fast
            summary["accounts"] = _demo_accounts(session)
    finally:
        engine.dispose()
    return summary


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=5000, show_default=True)
@click.option("--alumni", type=click.IntRange(min=0), default=2000, show_default=True,
              help="Synthetic alumni to add.")
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--workers", type=int, default=2, show_default=True)
@click.option("--no-serve", is_flag=True, help="Build the database and print the logins, then stop.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_context
def demo(ctx: click.Context, host: str, port: int, alumni: int, seed: int, workers: int, no_serve: bool,
         as_json: bool) -> None:
    """Build a fresh demo database (instance/demo.sqlite), one login per role, and serve it."""
    path = db.instance_path() / "demo.sqlite"
    summary = build_demo(path, alumni, seed)
    url = f"http://{host}:{port}/"
    summary["url"] = url
    if as_json:
        emit_json(summary)
    else:
        scoring = summary["scoring"]
        click.echo(f"demo database: {path}")
        if isinstance(scoring, dict):
            click.echo(f"{scoring.get('alumni')} alumni scored against {scoring.get('relationships')} relationships: "
                       f"{scoring.get('volunteer_suggestions')} volunteer and "
                       f"{scoring.get('partner_suggestions')} partner suggestions")
        else:
            click.echo(scoring)
        click.echo(f"\nopen {url} and sign in as:")
        for a in summary["accounts"]:
            click.echo(f"  {a['role']:<12} {a['login']:<28} password {a['password']}   ({a['sees']})")
    if no_serve:
        return
    # Plain HTTP on loopback: the browser must send the session cookie without TLS.
    os.environ.setdefault("JETMATCH_SESSION_COOKIE_SECURE", "false")
    ctx.obj = AppContext(url=f"sqlite:///{path}")
    ctx.invoke(serve, host=host, port=port, workers=workers, dev=False)
