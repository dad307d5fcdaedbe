"""What to queue after a change: re-scores after imports and relationship edits, retraining.

Incremental where it can be: an import of alumni or placements re-scores only the alumni
it wrote; relationships (or chapters) changing re-score everything, since every alum's
list may move, and relationships also retrain the partnership model.
"""

from __future__ import annotations

import os

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from matcher.jobs.records import add_job
from matcher.models import Alumnus, Job

__all__ = ["after_import", "after_relationship_change", "after_mail_queued", "rescore_alumni", "rescore_everything",
           "describe_rescore"]


def rescore_alumni(session: Session, alumnus_ids: list[int], why: str, requested_by: str | None = None) -> Job:
    """Queue a re-score of these alumni (a full one if that is cheaper; the job decides).

    Parameters
    ----------
    session : Session
        The caller's session; the job is sent when it commits.
    alumnus_ids : list of int
        The alumni to re-score.
    why : str
        What caused it, for the job's title.
    requested_by : str, optional
        The login (or "cli") that caused it.

    Returns
    -------
    Job
        The job added.
    """
    ids = sorted(set(int(i) for i in alumnus_ids))
    title = f"re-score {len(ids):,} alumn{'us' if len(ids) == 1 else 'i'} after {why}"
    return add_job(session, "rescore", {"alumni": ids}, title=title, requested_by=requested_by)


def rescore_everything(session: Session, why: str, requested_by: str | None = None) -> Job:
    """Queue a full re-score (one queued full re-score is enough: a twin is not added).

    Parameters
    ----------
    session : Session
        The caller's session; the job is sent when it commits.
    why : str
        What caused it, for the job's title.
    requested_by : str, optional
        The login (or "cli") that caused it.

    Returns
    -------
    Job
        The job added, or the full re-score already queued.
    """
    return add_job(session, "rescore", {"full": True}, title=f"re-score every alumnus after {why}",
                   requested_by=requested_by, coalesce=True)


def after_relationship_change(session: Session, why: str, requested_by: str | None = None) -> list[Job]:
    """Queue what a relationship added, edited or removed calls for: a full re-score and retraining.

    Parameters
    ----------
    session : Session
        The session the change was written in; the jobs are sent when it commits.
    why : str
        What changed, for the jobs' titles.
    requested_by : str, optional
        The login (or "cli") that made the change.

    Returns
    -------
    list of Job
        The jobs added (or the queued twins they joined).
    """
    return [rescore_everything(session, why, requested_by),
            add_job(session, "retrain_partnerships", title=f"retrain the partnership model after {why}",
                    requested_by=requested_by, coalesce=True)]


def after_mail_queued(session: Session) -> Job | None:
    """Queue a send of the mail outbox when a mail server is configured (else mail waits for one).

    Without ``JETMATCH_MAIL_SERVER`` nothing is queued: the messages stay in the outbox, where
    ``jetmatch mail status`` counts them and ``jetmatch mail send --server …`` delivers them.
    """
    if not os.environ.get("JETMATCH_MAIL_SERVER"):
        return None
    return add_job(session, "send_outbox", title="send the e-mails a decision wrote", coalesce=True)


def after_import(session: Session, report, requested_by: str | None = None) -> list[Job]:
    """Queue the jobs an import calls for (none for a dry run, a failed import or no change).

    Parameters
    ----------
    session : Session
        The session the import was written in; the jobs are sent when it commits, with the import.
    report : matcher.ingest.ImportReport
        The import's report.
    requested_by : str, optional
        The login (or "cli") that imported.

    Returns
    -------
    list of Job
        The jobs added (or the queued twins they joined).
    """
    if report.dry_run or not (report.inserted or report.updated):
        return []
    why = f"importing {report.kind} ({_name(report.file)})"
    if report.kind in ("alumni", "placements"):
        return [rescore_alumni(session, report.alumni_ids, why, requested_by)] if report.alumni_ids else []
    if report.kind == "relationships":
        return after_relationship_change(session, why, requested_by)
    if report.kind == "chapters":  # members and hubs of the chapters' partner lists move
        return [rescore_everything(session, why, requested_by)]
    return []


def describe_rescore(session: Session, job: Job) -> str:
    """Say in words how many alumni a re-score job covers ("scoring 1,200 alumni").

    Parameters
    ----------
    session : Session
        Read only (a full re-score counts the alumni).
    job : Job
        A re-score job.

    Returns
    -------
    str
        The phrase.
    """
    ids = (job.params or {}).get("alumni")
    n = len(ids) if ids is not None else session.scalar(select(func.count()).select_from(Alumnus)) or 0
    return f"scoring {n:,} alumn{'us' if n == 1 else 'i'}"


def _name(path: str) -> str:
    return path.replace("\\", "/").rsplit("/", 1)[-1]
