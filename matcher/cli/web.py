"""`jetmatch serve`, `jetmatch users …` and `jetmatch demo`: the web app, accounts, a demo site.

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

__all__ = ["serve", "users", "demo", "gunicorn_options"]

DEMO_PASSWORD = "jetmatch-demo"
_BASE_URL = click.option("--base-url", default="http://127.0.0.1:5000", show_default=True, envvar="JETMATCH_BASE_URL",
                         help="Where the site is served, for invite links.")
_INVITE_DAYS = click.option("--invite-days", type=click.IntRange(1, 365), default=7, show_default=True,
                            envvar="JETMATCH_INVITE_DAYS", help="How long the invite link works.")


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=5000, show_default=True, envvar="JETMATCH_PORT")
@click.option("--workers", type=int, default=2, show_default=True, help="gunicorn worker processes.")
@click.option("--threads", type=click.IntRange(min=1), default=1, show_default=True,
              help="Request threads per worker (gunicorn's gthread workers, which keep connections alive).")
@click.option("--access-log/--no-access-log", default=True, show_default=True,
              help="Log every request on standard output.")
@click.option("--dev", is_flag=True, help="Use Flask's development server instead of gunicorn.")
@click.option("--job-workers", type=click.IntRange(min=0), default=1, show_default=True,
              help="Background job threads to run beside the web workers (0: run `jetmatch worker` apart).")
@pass_app
def serve(app: AppContext, host: str, port: int, workers: int, threads: int, access_log: bool, dev: bool,
          job_workers: int) -> None:
    """Serve the web app (gunicorn; --dev for Flask's reloading server) and run background jobs.

    One process runs the background jobs (re-scoring after imports ...) beside the web
    workers; both stop when this command stops.
    """
    app.ensure_schema()
    env = _absolute_env(app.engine.url)
    # gunicorn and flask put their working folder first on sys.path: started elsewhere, a folder there
    # named ``web`` would be imported as the app. Run them where this ``web`` package is (beside matcher).
    os.chdir(Path(__file__).resolve().parents[2])
    if not dev:  # the app is built once in gunicorn's master, its shared structures loaded before the fork
        env["JETMATCH_PRELOAD"] = "1"
    if dev:
        args = [sys.executable, "-m", "flask", "--app", "web:create_app", "run", "--host", host, "--port", str(port)]
    else:
        args = [sys.executable, "-m", "gunicorn", *gunicorn_options(host, port, workers, threads, access_log),
                "web:create_app()"]
    click.echo(f"serving on http://{host}:{port}/ (Ctrl-C to stop)")
    if not job_workers:
        os.execvpe(args[0], args, env)
    jobs = [sys.executable, "-m", "matcher.cli", "worker", "--workers", str(job_workers),
            "--parent-pid", str(os.getpid())]
    sys.exit(_supervise([jobs, args], env))


def _absolute_env(url) -> dict[str, str]:
    """The environment for the servers, with the database, instance and data folders as absolute paths
    (they run in another working folder)."""
    from matcher.instance import instance_path

    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:" \
            and not url.database.startswith("file:"):
        url = url.set(database=str(Path(url.database).resolve()))
    env = dict(os.environ, JETMATCH_DATABASE_URL=url.render_as_string(hide_password=False),
               JETMATCH_INSTANCE_PATH=str(instance_path()))
    if env.get("JETMATCH_DATA_DIR"):
        env["JETMATCH_DATA_DIR"] = str(Path(env["JETMATCH_DATA_DIR"]).resolve())
    return env


def gunicorn_options(host: str, port: int, workers: int, threads: int = 1, access_log: bool = True) -> list[str]:
    """gunicorn's command-line options for the web app (scripts/bench-web serves its yardstick page with the same).

    gthread workers, even with one thread, keep a client's connection open between requests
    (HTTP keep-alive, ``--keep-alive`` seconds idle): sync workers close it after every
    response, so each request paid a new TCP connection and gunicorn's accept cycle.
    ``--preload`` builds the app once in the master, its shared structures loaded before the fork.
    """
    options = ["--bind", f"{host}:{port}", "--workers", str(workers), "--worker-class", "gthread",
               "--threads", str(threads), "--keep-alive", "5", "--preload"]
    return options + (["--access-logfile", "-"] if access_log else [])


def _supervise(commands: list[list[str]], env: dict[str, str], resend_after: float = 3.0) -> int:
    """Run the commands as children until the last one (the web server) exits; stop them all then.

    SIGINT and SIGTERM stop the web server; the job worker always gets SIGINT, which lets a
    running job finish. A web server still running ``resend_after`` seconds after it was told
    gets SIGTERM again every ``resend_after`` seconds: one told while it was still starting may
    not have had its handlers yet and lost the signal (serve then waited for it for ever).
    Whatever still runs a minute after the stop is killed.
    """
    import signal
    import subprocess
    import time

    # Own process groups: a Ctrl-C reaches only this process, which passes it on exactly once
    # to the worker (a second SIGINT would make the worker drop a job in hand).
    children = [subprocess.Popen(c, env=env, process_group=0) for c in commands]
    web, told, stopping = children[-1], set(), []

    def tell(child, signum) -> None:
        if child.poll() is None and child.pid not in told:
            told.add(child.pid)
            child.send_signal(signum)

    def pass_on(signum, _frame):
        stopping.append(time.monotonic())
        tell(web, signal.SIGINT if signum == signal.SIGINT else signal.SIGTERM)
        for child in children[:-1]:
            tell(child, signal.SIGINT)  # a worker's graceful stop: the job in hand finishes

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, pass_on)
    try:
        while True:
            try:
                code = web.wait(timeout=resend_after)
                break
            except subprocess.TimeoutExpired:
                if not stopping:
                    continue
                if time.monotonic() - stopping[0] > 60:
                    web.kill()
                else:
                    web.send_signal(signal.SIGTERM)  # a repeated SIGTERM is still gunicorn's graceful stop
    finally:
        for child in children:
            tell(child, signal.SIGINT)
        for child in children:
            try:
                child.wait(timeout=60)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
    return code


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
@_BASE_URL
@_INVITE_DAYS
@click.option("--json", "as_json", is_flag=True)
@pass_app
def users_add(app: AppContext, login, role, chapter, relationship_id, alum, password, base_url, invite_days,
              as_json) -> None:
    """Add a user scoped to their chapter, relationship or own profile."""
    from matcher.accounts import AccountError, create_user, user_summary

    app.ensure_schema()
    try:
        with db.session_scope(app.sessions) as session:
            user, invite = create_user(session, login, role, chapter=chapter, relationship_id=relationship_id,
                                       alum=alum, password=password, invite_days=invite_days)
            result = {"login": user.login, "role": user.role, "id": user.id,
                      "invite_url": f"{base_url.rstrip('/')}/invite/{invite}" if invite else None,
                      "invite_expires_at": user_summary(user)["invite_expires_at"]}
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        emit_json(result)
        return
    click.echo(f"added {result['login']} ({role})")
    if result["invite_url"]:
        click.echo(f"invite link (works once, until {result['invite_expires_at'][:10]}): {result['invite_url']}")


def _change(app: AppContext, login: str, change) -> dict:
    """Apply ``change(session, user)`` to the user with ``login`` in one transaction; return their summary."""
    from matcher.accounts import AccountError, find_user, user_summary

    app.ensure_schema()
    try:
        with db.session_scope(app.sessions) as session:
            user = find_user(session, login)
            extra = change(session, user) or {}
            return {**user_summary(user), **extra}
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc


def _report(result: dict, as_json: bool, sentence: str) -> None:
    if as_json:
        emit_json(result)
        return
    click.echo(sentence)
    if result.get("invite_url"):
        click.echo(f"invite link (works once, until {result['invite_expires_at'][:10]}): {result['invite_url']}")


@users.command("disable")
@click.argument("login")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def users_disable(app: AppContext, login: str, as_json: bool) -> None:
    """Stop LOGIN signing in; their open sessions and API token stop working at once."""
    from matcher.accounts import disable_user

    result = _change(app, login, disable_user)
    _report(result, as_json, f"disabled {result['login']}: sessions ended, sign-in and API refused")


@users.command("enable")
@click.argument("login")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def users_enable(app: AppContext, login: str, as_json: bool) -> None:
    """Let a disabled LOGIN sign in again."""
    from matcher.accounts import enable_user

    result = _change(app, login, enable_user)
    _report(result, as_json, f"enabled {result['login']}")


@users.command("reset-password")
@click.argument("login")
@click.option("--password", help="Set this password now; without one, the password is cleared and an invite "
                                 "link is printed.")
@_BASE_URL
@_INVITE_DAYS
@click.option("--json", "as_json", is_flag=True)
@pass_app
def users_reset_password(app: AppContext, login: str, password: str | None, base_url: str, invite_days: int,
                         as_json: bool) -> None:
    """Reset LOGIN's password: every session of theirs ends and their API token is revoked."""
    from matcher.accounts import reset_password

    def change(session, user):
        token = reset_password(session, user, password, invite_days=invite_days)
        return {"invite_url": f"{base_url.rstrip('/')}/invite/{token}" if token else None}

    result = _change(app, login, change)
    _report(result, as_json, f"reset the password of {result['login']}: sessions ended, API token revoked")


@users.command("revoke-token")
@click.argument("login")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def users_revoke_token(app: AppContext, login: str, as_json: bool) -> None:
    """Revoke LOGIN's API token at once."""
    from matcher.accounts import revoke_api_token

    result = _change(app, login, lambda _session, user: {"revoked": revoke_api_token(user)})
    _report(result, as_json, f"revoked the API token of {result['login']}" if result["revoked"]
            else f"{result['login']} had no API token")


@users.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def users_list(app: AppContext, as_json: bool) -> None:
    """List logins: role, state, invite expiry, API token expiry and last use."""
    from sqlalchemy import select

    from matcher.accounts import user_summary
    from matcher.models import User

    app.ensure_schema()
    with db.session_scope(app.sessions) as session:
        rows = [user_summary(u) for u in session.scalars(select(User).order_by(User.role, User.login))]
    if as_json:
        emit_json(rows)
        return
    for row in rows:
        token = row["api_token"]
        token_text = (f"token until {token['expires_at'][:10]}, last used {token['last_used_at'] or 'never'}"
                      if token else "no token")
        click.echo(f"{row['login']:<32} {row['role']:<12} {row['state']:<9} {token_text}")


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

    from matcher.jobs import queue_file

    jobs_file = queue_file(str(path))
    for leftover in (path, path.with_name(path.name + "-journal"), path.with_name(path.name + "-wal"),
                     jobs_file, jobs_file.with_name(jobs_file.name + "-wal"),
                     jobs_file.with_name(jobs_file.name + "-shm")):
        leftover.unlink(missing_ok=True)
    engine = db.make_engine(f"sqlite:///{path}")
    sessions = db.make_sessionmaker(engine)
    try:
        status("migrating schema…")
        summary: dict = {"database": str(path), "reference": db.prepare(engine, progress=status)}
        if alumni:
            from matcher.synth import add_demo_alumni

            with db.session_scope(sessions) as session:
                summary["alumni"] = add_demo_alumni(session, alumni, seed=seed)["inserted"]
        from matcher.scoring import score_all

        status("scoring…")
        with db.session_scope(sessions) as session:
            summary["scoring"] = score_all(session)
        with db.session_scope(sessions) as session:
            summary["partnerships_model"] = train_partnerships(session).version  # the page starts fast
            from matcher.cached import prepare_scoring_inputs

            prepare_scoring_inputs(session)  # and so does `jetmatch partnerships score`
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
    ctx.invoke(serve, host=host, port=port, workers=workers, dev=False, job_workers=1)
