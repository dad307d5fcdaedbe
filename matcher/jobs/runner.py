"""Run one job in a worker: mark it running, do it, record done or failed with the error.

Jobs that rewrite the same rows never run at once, however many workers there are: each
kind takes a lock of its own name first, held for the job's transaction. On PostgreSQL it
is an advisory lock (released by the server if the worker dies); on SQLite a ``flock`` on
a file beside the database (released by the kernel if the worker dies).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import logging
import os
import socket
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from matcher import db
from matcher.jobs.kinds import KINDS, Progress
from matcher.models import Job

__all__ = ["run_job", "worker_name", "recover_interrupted", "job_lock"]

_log = logging.getLogger(__name__)
_ENGINES: dict[tuple[int, str], tuple[Engine, sessionmaker[Session]]] = {}
_ENGINES_LOCK = threading.Lock()
_ERROR_MAX = 4000


def worker_name() -> str:
    """``host:pid`` of this process, as recorded on the jobs it runs."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _sessions(url: str) -> tuple[Engine, sessionmaker[Session]]:
    key = (os.getpid(), url)
    with _ENGINES_LOCK:
        if key not in _ENGINES:
            engine = db.make_engine(url, pool_pre_ping=True)
            _ENGINES[key] = (engine, db.make_sessionmaker(engine))
        return _ENGINES[key]


class _QueueProgress(Progress):
    """Progress written to the queue's key-value store, at most every half second."""

    def __init__(self, huey, job_id: int):
        self.huey, self.job_id, self._last = huey, job_id, 0.0

    def __call__(self, done: int, total: int, step: str) -> None:
        now = time.monotonic()
        if now - self._last < 0.5 and done not in (0, total):
            return
        self._last = now
        try:
            from matcher.jobs.queue import put_progress  # Huey: only a worker's jobs report progress

            put_progress(self.huey, self.job_id, {"done": done, "total": total, "step": step})
        except Exception:  # progress is a courtesy: never fail a job for it
            _log.exception("could not record the progress of job %s", self.job_id)


@contextlib.contextmanager
def job_lock(engine: Engine, name: str) -> Iterator[None]:
    """Hold the lock ``name`` of this database (waiting for it) for the duration of the block."""
    if engine.dialect.name == "postgresql":
        key = zlib.crc32(f"jetmatch.{name}".encode()) - 2**31
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT pg_advisory_lock(%s)", (key,))
            try:
                yield
            finally:
                conn.exec_driver_sql("SELECT pg_advisory_unlock(%s)", (key,))
                conn.commit()
        return
    database = make_url(str(engine.url)).database
    if not database or database == ":memory:":
        with _MEMORY_LOCKS.setdefault(name, threading.Lock()):
            yield
        return
    path = Path(database).with_name(f"{Path(database).name}.{name}.lock")
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


_MEMORY_LOCKS: dict[str, threading.Lock] = {}


def _start(sessions: sessionmaker[Session], job_id: int) -> tuple[str, dict[str, Any]] | None:
    """Mark the job running; return (kind, params), or None when it is not queued (any more)."""
    with db.session_scope(sessions) as session:
        job = session.get(Job, job_id, with_for_update=True)
        if job is None or job.status != "queued":
            _log.info("job %s is %s: not run", job_id, "missing" if job is None else job.status)
            return None
        job.status, job.started_at, job.worker = "running", _now(), worker_name()
        job.attempts = (job.attempts or 0) + 1
        return job.kind, dict(job.params or {})


def _finish(sessions: sessionmaker[Session], job_id: int, result: dict[str, Any] | None,
            error: str | None) -> None:
    with db.session_scope(sessions) as session:
        job = session.get(Job, job_id)
        job.status = "failed" if error else "done"
        job.result, job.error, job.finished_at = result, error, _now()


def run_job(url: str, job_id: int, huey=None) -> str | None:
    """Run job ``job_id`` of the database at ``url``; return its final status (None if not run).

    A failure is recorded on the job (the exception's type and message) and logged with its
    traceback; it is not raised, so the worker goes on with the next job.

    Parameters
    ----------
    url : str
        The app database URL.
    job_id : int
        The job to run.
    huey : huey.Huey, optional
        The queue whose store the progress is written to.

    Returns
    -------
    str or None
        "done" or "failed"; None when the job was not started (gone, or not queued).
    """
    engine, sessions = _sessions(url)
    started = _start(sessions, job_id)
    if started is None:
        return None
    kind, params = started
    progress = _QueueProgress(huey, job_id) if huey is not None else Progress()
    try:
        with job_lock(engine, kind), db.session_scope(sessions) as session:
            result = KINDS[kind].run(session, params, progress, job_id=job_id)
    except Exception as exc:
        _log.exception("job %s (%s) failed", job_id, kind)
        error = f"{type(exc).__name__}: {exc}"[:_ERROR_MAX]
        _finish(sessions, job_id, None, error)
        status = "failed"
    else:
        _finish(sessions, job_id, result, None)
        status = "done"
    if huey is not None:
        with contextlib.suppress(Exception):
            from matcher.jobs.queue import clear_progress

            clear_progress(huey, job_id)
    return status


def recover_interrupted(url: str) -> list[int]:
    """Mark failed the jobs left running by a worker of this host that is no longer alive.

    Their queue message was taken when they started, so they would otherwise stay
    "running" for ever; failed, a coordinator can retry them.

    Parameters
    ----------
    url : str
        The app database URL.

    Returns
    -------
    list of int
        The ids of the jobs marked failed.
    """
    _engine, sessions = _sessions(url)
    host = socket.gethostname()
    found = []
    with db.session_scope(sessions) as session:
        for job in session.scalars(select(Job).where(Job.status == "running")):
            where, _, pid = (job.worker or "").rpartition(":")
            if where == host and pid.isdigit() and not _alive(int(pid)):
                job.status, job.finished_at = "failed", _now()
                job.error = f"interrupted: the worker {job.worker} stopped before the job finished"
                found.append(job.id)
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
