"""Background jobs: re-scoring after changes, retraining, sending mail -- never inside a request.

The parts:

- :mod:`~matcher.jobs.queue`: the Huey queue of a database (SQLite file beside it, or
  PostgreSQL tables in it) and the live progress of running jobs; why Huey;
- :mod:`~matcher.jobs.records`: job rows, sent to the queue when their transaction commits;
- :mod:`~matcher.jobs.kinds`: what each kind of job does (through the engine's public functions);
- :mod:`~matcher.jobs.triggers`: which jobs an import or a relationship edit queues;
- :mod:`~matcher.jobs.runner`: one job's run in a worker, its locks and its outcome;
- :mod:`~matcher.jobs.worker`: the worker (``jetmatch worker``, ``jetmatch serve``) and
  in-process worker threads.

Examples
--------
>>> from matcher.jobs import KINDS
>>> sorted(KINDS)
['rescore', 'retrain_partnerships', 'send_outbox']
"""

from matcher.jobs.kinds import KINDS, Kind, Progress
from matcher.jobs.queue import close_queues, queue_file, queue_for, read_progress
from matcher.jobs.records import JobError, add_job, job_view, jobs_query, retry_job
from matcher.jobs.runner import recover_interrupted, run_job
from matcher.jobs.triggers import (after_import, after_relationship_change, describe_rescore, rescore_alumni,
                                   rescore_everything)
from matcher.jobs.worker import WorkerThreads, run_worker, start_worker

__all__ = [
    "KINDS",
    "Kind",
    "Progress",
    "JobError",
    "add_job",
    "retry_job",
    "jobs_query",
    "job_view",
    "after_import",
    "after_relationship_change",
    "rescore_alumni",
    "rescore_everything",
    "describe_rescore",
    "queue_for",
    "close_queues",
    "queue_file",
    "read_progress",
    "run_job",
    "recover_interrupted",
    "run_worker",
    "start_worker",
    "WorkerThreads",
]
