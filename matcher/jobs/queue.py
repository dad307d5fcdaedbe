"""The queue under the jobs: Huey, stored where the app's database already is.

Why Huey, and which storage
---------------------------
Huey is a small, maintained task queue whose storages include SQLite and PostgreSQL, so a
deployment needs no new server (no Redis, no broker) -- the promise of ``jetmatch serve``.

- **SQLite app database** -> Huey's own :class:`huey.SqliteHuey`, in a file *beside* the
  app's (``jetmatch.sqlite`` -> ``jetmatch-jobs.sqlite``). Not inside it: SQLite has one
  writer at a time, and a worker polling the queue (a write transaction each time) must
  never wait behind, or hold up, a score run that rewrites the suggestions. Huey's storage
  also switches its file to WAL, which we do not want to impose on the app's file.
- **PostgreSQL app database** -> Huey's own :class:`huey.PostgresHuey` (psycopg 3, which
  jetmatch already uses) in the same database, tables ``huey_task``, ``huey_kv`` ...
  It dequeues with ``FOR UPDATE SKIP LOCKED``, so any number of workers can share it.
  Huey 3's storage was preferred to ``huey.contrib.sql_huey`` (peewee: a second ORM and
  its own PostgreSQL driver) and to a home-made storage on SQLAlchemy (more code to keep).
- **In-memory SQLite** (``sqlite://``) -> :class:`huey.MemoryHuey`: only a worker thread
  in the same process sees it (tests of throwaway databases).

The queue carries only a job's id. What a job is and how it went is a row of the app's
``jobs`` table (:mod:`matcher.jobs.records`), so the coordinators' page reads one place and
nothing depends on Huey's result store (turned off). Huey's key-value store holds one thing:
the live progress of a running job, written there because a job that rewrites the
suggestions on SQLite holds the app database's only write lock while it does so.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path
from typing import Any

import psycopg
from huey import Huey, MemoryHuey, PostgresHuey, SqliteHuey
from sqlalchemy.engine import make_url

from matcher import db

__all__ = ["QUEUE_NAME", "TASK_NAME", "queue_for", "queue_file", "send_job", "close_queues", "put_progress", "read_progress",
           "clear_progress"]

QUEUE_NAME = "jetmatch"
TASK_NAME = "jetmatch.run_job"
_LOCK = threading.Lock()
_QUEUES: dict[tuple[int, str], tuple[Huey, Any]] = {}  # (pid, url) -> (queue, its run_job task)
_log = logging.getLogger(__name__)


def queue_file(database: str) -> Path:
    """Return the SQLite file of the queue that belongs to the SQLite app database ``database``.

    Parameters
    ----------
    database : str
        The path of the app's SQLite database.

    Returns
    -------
    pathlib.Path
        ``jetmatch-jobs.sqlite`` in the same folder.

    Examples
    --------
    >>> queue_file("/srv/jetmatch/instance/jetmatch.sqlite").name
    'jetmatch-jobs.sqlite'
    """
    path = Path(database)
    return path.with_name(f"{path.stem}-jobs{path.suffix or '.sqlite'}")


def queue_for(url: str | None = None) -> Huey:
    """Return the Huey queue of the database at ``url`` (one per process), with the job task registered.

    A forked process (a gunicorn worker) gets its own instance: connections are not shared
    across a fork.

    Parameters
    ----------
    url : str, optional
        The app database URL (default: the configured one); for SQLite the queue is a file
        beside it (:func:`queue_file`).

    Returns
    -------
    huey.Huey
        The queue.
    """
    return _get(url)[0]


def send_job(url: str | None, job_id: int) -> None:
    """Put job ``job_id`` of the database at ``url`` on its queue."""
    _get(url)[1](job_id)


def close_queues() -> None:
    """Close this process's queue connections (they reopen on next use).
    """
    with _LOCK:
        for huey, _task in _QUEUES.values():
            huey.storage.close()
        _QUEUES.clear()


def _get(url: str | None) -> tuple[Huey, Any]:
    url = db.database_url(url)
    key = (os.getpid(), url)
    with _LOCK:
        found = _QUEUES.get(key)
        if found is None:
            found = _QUEUES[key] = _open(url)
    return found


def _open(url: str) -> tuple[Huey, Any]:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            huey = MemoryHuey(QUEUE_NAME, results=False)
        else:
            huey = SqliteHuey(QUEUE_NAME, filename=str(queue_file(parsed.database)), results=False, timeout=10)
    else:
        dsn = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
        # Polled, not LISTEN-blocking: Huey leaves each thread's LISTEN connection to the
        # garbage collector, and a poll every half second is quick enough here.
        huey = PostgresHuey(QUEUE_NAME, dsn=dsn, results=False, create_tables=False, blocking=False)
        _create_pg_tables(huey)
    return huey, _register(huey, url)


def _create_pg_tables(huey: Huey) -> None:
    """Create Huey's tables if missing; two processes starting together may race once, so retry."""
    for attempt in range(3):
        try:
            huey.storage.initialize_schema()
            return
        except psycopg.errors.UniqueViolation:  # both ran CREATE TABLE IF NOT EXISTS at once
            if attempt == 2:
                raise


def _register(huey: Huey, url: str):
    """Register the one task every job runs through: look the job up by id and run it."""

    def run_job(job_id: int) -> None:
        # imported here, not at the top: matcher.jobs.runner imports this module (a cycle)
        from matcher.jobs.runner import run_job as run

        run(url, job_id, huey)

    return huey.task(name=TASK_NAME)(run_job)


# --- live progress -------------------------------------------------------------------------


def _progress_key(job_id: int) -> str:
    return f"progress:{job_id}"


def put_progress(huey: Huey, job_id: int, progress: dict[str, Any]) -> None:
    """Record how far a running job is (``{"done": 3, "total": 18, "step": "storing"}``)."""
    huey.storage.put_data(_progress_key(job_id), json.dumps(progress).encode())


def read_progress(huey: Huey, job_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Return the recorded progress of the given jobs (those that have reported any).

    Parameters
    ----------
    huey : huey.Huey
        The queue (:func:`queue_for`), whose key-value store holds the progress.
    job_ids : list of int
        The jobs asked about.

    Returns
    -------
    dict of int to dict
        Job id → its last ``done``, ``total`` and ``step``.
    """
    if not job_ids:
        return {}
    found = huey.storage.peek_many([_progress_key(i) for i in job_ids])
    out = {}
    for key, value in found.items():
        key = key.decode() if isinstance(key, bytes) else key
        out[int(key.split(":", 1)[1])] = json.loads(bytes(value))
    return out


def clear_progress(huey: Huey, job_id: int) -> None:
    """Forget a job's progress once it has finished."""
    huey.storage.delete_data(_progress_key(job_id))
