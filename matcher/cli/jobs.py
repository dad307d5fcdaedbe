"""`jetmatch worker` and `jetmatch jobs`: run background jobs, list them, retry or add one.

Registered in :mod:`matcher.cli`. `jetmatch serve` starts one worker itself; `worker` runs
more, apart (another terminal, another machine on the same PostgreSQL).
"""

from __future__ import annotations

import logging

import click

from matcher.cli._app import AppContext, emit_json, pass_app

__all__ = ["worker", "jobs", "print_queued"]


@click.command()
@click.option("--workers", "-w", type=click.IntRange(min=1), default=1, show_default=True,
              help="Job threads in this process.")
@click.option("--parent-pid", type=int, hidden=True, help="Stop when this process is gone (used by serve).")
@pass_app
def worker(app: AppContext, workers: int, parent_pid: int | None) -> None:
    """Run background jobs (re-scoring, retraining, mail) until Ctrl-C."""
    from matcher.jobs import run_worker

    app.ensure_schema()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s worker %(process)d %(levelname)s %(message)s")
    url = app.engine.url.render_as_string(hide_password=False)
    click.echo(f"jetmatch worker: {workers} job thread{'s' if workers != 1 else ''} on "
               f"{app.engine.url.render_as_string(hide_password=True)} (Ctrl-C to stop)", err=True)
    run_worker(url, workers=workers, parent_pid=parent_pid)


def _rows(app: AppContext, status: str | None, limit: int) -> list[dict]:
    from matcher.jobs import job_view, jobs_query, queue_for, read_progress

    with app.session() as session:
        found = session.scalars(jobs_query(status).limit(limit)).all()
        running = [j.id for j in found if j.status == "running"]
        progress = read_progress(queue_for(app.engine.url.render_as_string(hide_password=False)), running)
        return [job_view(j, progress.get(j.id)) for j in found]


def _line(row: dict) -> str:
    state = row["status"]
    if row["progress"]:
        p = row["progress"]
        state += f" {p['done']}/{p['total']} {p['step']}"
    merged = (row["result"] or {}).get("merged_into")
    if merged:
        state += f" by #{merged}"
    when = row["finished_at"] or row["started_at"] or row["created_at"]
    line = f"#{row['id']:<5} {state:<28} {when}  {row['title']}"
    if row["error"]:
        line += f"\n        error: {row['error']}"
    return line


@click.group(invoke_without_command=True)
@click.option("--status", type=click.Choice(["queued", "running", "done", "failed"]), help="Only jobs in this state.")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def jobs(ctx: click.Context, status: str | None, limit: int, as_json: bool) -> None:
    """List background jobs, newest first (queued, running with progress, done, failed with the error)."""
    if ctx.invoked_subcommand is not None:
        return
    app = ctx.find_object(AppContext)
    app.ensure_schema()
    rows = _rows(app, status, limit)
    if as_json:
        emit_json(rows)
        return
    if not rows:
        click.echo("no jobs yet")
    for row in rows:
        click.echo(_line(row))


@jobs.command("retry")
@click.argument("job_id", type=int)
@click.option("--json", "as_json", is_flag=True)
@pass_app
def jobs_retry(app: AppContext, job_id: int, as_json: bool) -> None:
    """Queue a failed job again."""
    from matcher import db
    from matcher.jobs import JobError, job_view, retry_job

    app.ensure_schema()
    try:
        with db.session_scope(app.sessions) as session:
            view = job_view(retry_job(session, job_id, requested_by="cli"))
    except JobError as exc:
        raise click.ClickException(str(exc)) from exc
    emit_json(view) if as_json else click.echo(f"job #{job_id} queued again: {view['title']}")


@jobs.command("add")
@click.argument("kind", type=click.Choice(["rescore", "retrain_partnerships", "send_outbox"]))
@click.option("--json", "as_json", is_flag=True)
@pass_app
def jobs_add(app: AppContext, kind: str, as_json: bool) -> None:
    """Queue a job: rescore (everything), retrain_partnerships or send_outbox."""
    from matcher import db
    from matcher.jobs import add_job, job_view, rescore_everything

    app.ensure_schema()
    with db.session_scope(app.sessions) as session:
        job = (rescore_everything(session, "a request from the command line", "cli") if kind == "rescore"
               else add_job(session, kind, requested_by="cli", coalesce=True))
        view = job_view(job)
    emit_json(view) if as_json else print_queued([view])


def print_queued(views: list[dict]) -> None:
    """Say which jobs were queued and where they will run."""
    for view in views:
        click.echo(f"queued job #{view['id']}: {view['title']}")
    if views:
        click.echo("they run in the background on `jetmatch serve` or `jetmatch worker`; `jetmatch jobs` shows them")
