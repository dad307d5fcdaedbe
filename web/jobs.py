"""Coordinators: background jobs -- queued, running with progress, done, failed with the error."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, g, jsonify, redirect, render_template, request, url_for

from matcher import jobs
from matcher.models import Job
from web.auth import role_required
from web.database import get_session

bp = Blueprint("jobs", __name__)

ADDABLE = {"rescore": "Re-score every alumnus", "retrain_partnerships": "Retrain the partnership model"}


def _progress(found: list[Job]) -> dict[int, dict]:
    """Live progress of the running jobs, from the queue's store (a failure there shows none)."""
    running = [j.id for j in found if j.status == "running"]
    if not running:
        return {}
    try:
        return jobs.read_progress(jobs.queue_for(current_app.config["DATABASE_URL"]), running)
    except Exception:
        current_app.logger.exception("could not read the progress of jobs %s", running)
        return {}


def status_line(view: dict) -> str:
    """One sentence on where a job stands, for the page and its polling script."""
    if view["status"] == "queued":
        return "waiting for a worker"
    if view["status"] == "running":
        p = view["progress"]
        return f"running: {p['step']} ({p['done']:,} of {p['total']:,})" if p else "running"
    if view["status"] == "done":
        merged = (view["result"] or {}).get("merged_into")
        return f"done, by job #{merged}" if merged else "done"
    return f"failed: {view['error']}"


@bp.get("/jobs")
@role_required("coordinator")
def index():
    """List background jobs, newest first; failed ones can be retried."""
    db = get_session()
    found = db.scalars(jobs.jobs_query(request.args.get("status") or None).limit(100)).all()
    progress = _progress(found)
    views = [jobs.job_view(j, progress.get(j.id)) for j in found]
    active = any(v["status"] in ("queued", "running") for v in views)
    return render_template("jobs/index.html", views=views, status_line=status_line, active=active, addable=ADDABLE)


@bp.get("/jobs/<int:job_id>.json")
@role_required("coordinator")
def show_json(job_id: int):
    """One job as JSON, with a sentence on where it stands (the import page polls this)."""
    job = get_session().get(Job, job_id)
    if job is None:
        return jsonify(error=f"no job {job_id}"), 404
    view = jobs.job_view(job, _progress([job]).get(job.id))
    return jsonify({**view, "line": status_line(view), "finished": view["status"] in ("done", "failed")})


@bp.post("/jobs/<int:job_id>/retry")
@role_required("coordinator")
def retry(job_id: int):
    """Queue a failed job again."""
    db = get_session()
    try:
        job = jobs.retry_job(db, job_id, requested_by=g.user.login)
    except jobs.JobError as exc:
        db.rollback()
        flash(str(exc).capitalize() + ".", "error")
        return redirect(url_for("jobs.index")), 303
    db.commit()
    flash(f"Job #{job.id} is queued again: {job.title}.", "info")
    return redirect(url_for("jobs.index")), 303


@bp.post("/jobs/add")
@role_required("coordinator")
def add():
    """Queue a full re-score or a retraining by hand."""
    db = get_session()
    kind = request.form.get("kind", "")
    if kind not in ADDABLE:
        flash("Choose a job to run.", "error")
        return redirect(url_for("jobs.index")), 303
    if kind == "rescore":
        job = jobs.rescore_everything(db, "a coordinator's request", g.user.login)
    else:
        job = jobs.add_job(db, kind, requested_by=g.user.login, coalesce=True)
    db.commit()
    flash(f"Job #{job.id} queued: {job.title}.", "info")
    return redirect(url_for("jobs.index")), 303
