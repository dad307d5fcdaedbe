"""Job rows: add a job, send it to the queue once its row is committed, retry it, list them.

A job is first a row of ``jobs`` written in the caller's transaction (an import and the
re-score it asks for commit together, or not at all). Only after that transaction commits
is the job's id sent to the queue, so a worker never picks up a job it cannot read yet.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from sqlalchemy import Select, event, select
from sqlalchemy.orm import Session

from matcher.jobs.kinds import KINDS
from matcher.jobs.queue import send_job
from matcher.models import Job

__all__ = ["add_job", "retry_job", "jobs_query", "job_view", "JobError"]

_PENDING = "jetmatch_pending_jobs"
_log = logging.getLogger(__name__)


class JobError(ValueError):
    """Say that a job cannot be added or retried as asked (unknown kind, not failed ...).

    Examples
    --------
    >>> issubclass(JobError, ValueError)
    True
    """


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def add_job(session: Session, kind: str, params: dict[str, Any] | None = None, *, title: str | None = None,
            requested_by: str | None = None, coalesce: bool = False) -> Job:
    """Add a queued job of ``kind``; it is sent to the queue when ``session`` commits.

    Parameters
    ----------
    session : Session
        The caller's session; the job row is flushed in its transaction.
    kind : str
        A key of :data:`matcher.jobs.kinds.KINDS`.
    params : dict, optional
        JSON-able arguments of the job.
    title : str, optional
        What the coordinators' page says ("re-score 12 alumni after importing alumni.csv").
    requested_by : str, optional
        The login (or "cli") that caused it.
    coalesce : bool, optional
        Return the queued job of the same kind and params instead of adding a twin.

    Returns
    -------
    Job
        The (flushed) row.

    Raises
    ------
    JobError
        When ``kind`` is not a known kind.

    Examples
    --------
    >>> from matcher.jobs.kinds import KINDS
    >>> "rescore" in KINDS and "retrain_partnerships" in KINDS and "send_outbox" in KINDS
    True
    """
    if kind not in KINDS:
        raise JobError(f"unknown job kind {kind!r}; expected one of {', '.join(sorted(KINDS))}")
    params = params or {}
    if coalesce:
        for twin in session.scalars(select(Job).where(Job.kind == kind, Job.status == "queued")):
            if twin.params == params:
                return twin
    job = Job(kind=kind, title=(title or KINDS[kind].title)[:200], params=params, status="queued",
              requested_by=requested_by, attempts=0, created_at=_now())
    session.add(job)
    session.flush()
    _send_on_commit(session, job.id)
    return job


def retry_job(session: Session, job_id: int, requested_by: str | None = None) -> Job:
    """Queue a failed job again (sent when ``session`` commits); its error is kept until it runs.

    Parameters
    ----------
    session : Session
        The caller's session; the change is flushed, not committed.
    job_id : int
        The failed job.
    requested_by : str, optional
        The login (or "cli") that asked for the retry.

    Returns
    -------
    Job
        The job, queued again.

    Raises
    ------
    JobError
        When there is no such job or it has not failed.
    """
    job = session.get(Job, job_id)
    if job is None:
        raise JobError(f"no job {job_id}")
    if job.status != "failed":
        raise JobError(f"job {job_id} is {job.status}; only a failed job can be retried")
    job.status, job.finished_at, job.worker = "queued", None, None
    if requested_by:
        job.requested_by = requested_by
    session.flush()
    _send_on_commit(session, job.id)
    return job


def _send_on_commit(session: Session, job_id: int) -> None:
    pending = session.info.setdefault(_PENDING, [])
    pending.append(job_id)
    if not event.contains(session, "after_commit", _send_pending):
        event.listen(session, "after_commit", _send_pending)
        event.listen(session, "after_rollback", _forget_pending)


def _send_pending(session: Session) -> None:
    ids = session.info.pop(_PENDING, [])
    url = session.get_bind().engine.url.render_as_string(hide_password=False)
    for job_id in ids:
        try:
            send_job(url, job_id)
        except Exception:  # the row stays queued; the coordinators' page shows it waiting
            _log.exception("could not send job %s to the queue", job_id)


def _forget_pending(session: Session) -> None:
    session.info.pop(_PENDING, None)


def jobs_query(status: str | None = None) -> Select:
    """Select the jobs, newest first (optionally of one status).

    Parameters
    ----------
    status : str, optional
        "queued", "running", "done" or "failed"; all jobs when not given.

    Returns
    -------
    sqlalchemy.Select
        The query, for the caller to page through or run.

    Examples
    --------
    >>> print(jobs_query("failed").whereclause)
    jobs.status = :status_1
    """
    q = select(Job).order_by(Job.id.desc())
    return q.where(Job.status == status) if status else q


def job_view(job: Job, progress: dict[str, Any] | None = None) -> dict[str, Any]:
    """Show a job as the page and ``jetmatch jobs --json`` show it.

    Parameters
    ----------
    job : Job
        The job row.
    progress : dict, optional
        Its recorded progress (:func:`read_progress`); shown only while it runs.

    Returns
    -------
    dict
        id, kind, title, status, params, requested_by, attempts, worker, progress, result,
        error, and the times as ISO 8601 text in UTC.

    Examples
    --------
    >>> import datetime as dt
    >>> job = Job(id=5, kind="rescore", title="re-score 3 alumni", status="done", attempts=1,
    ...           created_at=dt.datetime(2026, 1, 5, 10, 0))
    >>> view = job_view(job, {"done": 3, "total": 3})
    >>> view["created_at"], view["progress"]
    ('2026-01-05T10:00:00+00:00', None)
    """
    def when(value: dt.datetime | None) -> str | None:
        if value is None:
            return None
        return (value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)).isoformat(timespec="seconds")

    return {"id": job.id, "kind": job.kind, "title": job.title, "status": job.status, "params": job.params,
            "requested_by": job.requested_by, "attempts": job.attempts, "worker": job.worker,
            "progress": progress if job.status == "running" else None, "result": job.result, "error": job.error,
            "created_at": when(job.created_at), "started_at": when(job.started_at),
            "finished_at": when(job.finished_at)}
