"""Workers: Huey's consumer on the queue of one database, as a process or as threads in this one.

``jetmatch worker`` (and the one worker ``jetmatch serve`` starts) call :func:`run_worker`;
tests and benchmarks that want a real worker beside them call :func:`start_worker`.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time

from huey.consumer import Consumer

from matcher import db
from matcher.jobs.queue import queue_for
from matcher.jobs.runner import recover_interrupted

__all__ = ["run_worker", "start_worker", "WorkerThreads", "POLL_S"]

# An idle worker looks at the queue at least this often (on PostgreSQL a NOTIFY wakes it at
# once): what a coordinator waits, at most, before an import's re-score starts.
POLL_S = 0.5
_log = logging.getLogger(__name__)


def _consumer(url: str, workers: int, cls=Consumer) -> Consumer:
    return cls(queue_for(url), workers=workers, worker_type="thread", periodic=False, initial_delay=0.05,
               backoff=1.5, max_delay=POLL_S, check_worker_health=True)


def run_worker(url: str | None = None, workers: int = 1, parent_pid: int | None = None) -> None:
    """Run ``workers`` job threads on the queue of the database at ``url`` until stopped.

    SIGINT (Ctrl-C) lets the running job finish; SIGTERM stops at once (a job cut short is
    marked failed when a worker starts again, and can be retried). With ``parent_pid``,
    the worker also stops when that process is gone (``jetmatch serve`` killed outright).

    Parameters
    ----------
    url : str, optional
        The app database URL (default: the configured one).
    workers : int, optional
        How many jobs run at once.
    parent_pid : int, optional
        Stop when this process is gone.
    """
    url = db.database_url(url)
    for job_id in recover_interrupted(url):
        _log.warning("job %s was interrupted by a stopped worker: marked failed", job_id)
    consumer = _consumer(url, workers)
    if parent_pid:
        threading.Thread(target=_orphan_watch, args=(parent_pid,), daemon=True, name="jetmatch-orphan-watch").start()
    consumer.run()


def _orphan_watch(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(1)
    _log.warning("parent process %s is gone: stopping", parent_pid)
    os.kill(os.getpid(), signal.SIGINT)


class _Quiet(Consumer):
    """A consumer that leaves the signal handlers alone: it runs beside a program that owns them."""

    def _set_signal_handlers(self) -> None:
        pass


class WorkerThreads:
    """Hold the worker threads started by :func:`start_worker`; ``stop()`` waits for the running job.

    Parameters
    ----------
    consumer : huey.consumer.Consumer
        The running consumer.
    """

    def __init__(self, consumer: Consumer):
        self.consumer = consumer

    def stop(self) -> None:
        self.consumer.stop(graceful=True)
        self.consumer.huey.storage.close()

    def __enter__(self) -> WorkerThreads:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def start_worker(url: str | None = None, workers: int = 1) -> WorkerThreads:
    """Start ``workers`` job threads on the queue of the database at ``url`` in this process.

    The same consumer and storage as ``jetmatch worker``, without taking over the signals.

    Parameters
    ----------
    url : str, optional
        The app database URL (default: the configured one).
    workers : int, optional
        How many jobs run at once.

    Returns
    -------
    WorkerThreads
        Call ``stop()`` (or leave its ``with`` block) to stop them.
    """
    url = db.database_url(url)
    recover_interrupted(url)
    consumer = _consumer(url, workers, cls=_Quiet)
    consumer.start()
    return WorkerThreads(consumer)
