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

from matcher._exports import lazy_exports

# Loaded on first use, like :mod:`matcher.scoring`'s names: `jetmatch score` takes a job lock
# (:func:`matcher.jobs.runner.job_lock`) and should not import Huey and psycopg for it.
__all__ = lazy_exports(__name__, {
    "kinds": ["KINDS", "Kind", "Progress"],
    "queue": ["close_queues", "queue_file", "queue_for", "read_progress"],
    "records": ["JobError", "add_job", "job_view", "jobs_query", "retry_job"],
    "runner": ["recover_interrupted", "run_job"],
    "triggers": ["after_import", "after_relationship_change", "describe_rescore", "rescore_alumni",
                 "rescore_everything"],
    "worker": ["WorkerThreads", "run_worker", "start_worker"],
})
