"""What each kind of job does. Every body takes ``(session, params, progress, job_id)`` and returns
a JSON-able summary; the runner commits when it returns and records the error when it raises.

Kinds
-----
- ``rescore``: refresh suggestions after an import or a relationship edit. With
  ``{"alumni": [ids]}`` only those alumni are re-scored, one by one through the engine's
  :func:`~matcher.scoring.rescore_alumnus`, committed in small groups; with
  ``{"full": true}`` -- or when one full pass is cheaper, judged from the seconds the last
  re-score jobs on this database took -- everything is re-scored by
  :func:`~matcher.scoring.score_all`. Re-score jobs queued behind a starting one are merged
  into it.
- ``retrain_partnerships``: fit and store the partnership model
  (:func:`matcher.partnerships.train`), after relationships change.
- ``send_outbox``: send the mail outbox (:func:`matcher.mail.send_outbox`) through the transport
  set up from ``JETMATCH_MAIL_*``; queued whenever a decision writes e-mails and a server is set.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from matcher.mail import DEFAULT_SENDER, SMTPTransport, send_outbox
from matcher.models import Alumnus, Job

__all__ = ["Kind", "KINDS", "Progress", "SEND_OUTBOX", "PER_ALUM_S", "FULL_FIXED_S", "FULL_PER_ALUM_S",
           "full_rescore_is_cheaper", "mail_transport_from_env"]

# The mail outbox's sender (a module attribute, so a test can hand in another).
SEND_OUTBOX: Callable[..., Any] = send_outbox

# Until a worker has timed both ways on this database (each re-score job records its
# seconds), assume what was measured on a 35,000-alumni SQLite demo on 2 cores: 15-17 ms to
# re-score one alum through the engine, 18 s for a full pass (a second to load, then about
# 0.5 ms an alum).
PER_ALUM_S = 0.015
FULL_FIXED_S = 1.0
FULL_PER_ALUM_S = 0.0005
_GROUP = 50  # alumni re-scored per commit: readers see progress, a failure loses little


class Progress:
    """Report how far a job is: ``progress(done, total, step)`` (a no-op by default).

    The runner hands a job a subclass that records each call where the jobs page reads it.

    Examples
    --------
    >>> class Seen(Progress):
    ...     def __call__(self, done, total, step):
    ...         print(done, total, step)
    >>> list(Seen().track(["a", "b"], "scoring"))
    0 2 scoring
    1 2 scoring
    2 2 scoring
    ['a', 'b']
    """

    def __call__(self, done: int, total: int, step: str) -> None:
        pass

    def track(self, items: Iterable, step: str) -> Iterator:
        """Yield ``items`` (a sized iterable), reporting each one as done."""
        items = list(items)
        for i, item in enumerate(items):
            self(i, len(items), step)
            yield item
        self(len(items), len(items), step)


@dataclass(frozen=True)
class Kind:
    """Describe a kind of job: the default title on the jobs page and the function that does it.

    Parameters
    ----------
    title : str
        What the jobs page calls a job of this kind unless it is given a title.
    run : callable
        ``run(session, params, progress, job_id=None)``; returns the job's summary, a JSON-able dict.

    Examples
    --------
    >>> from matcher.jobs import KINDS
    >>> isinstance(KINDS["rescore"], Kind), callable(KINDS["rescore"].run)
    (True, True)
    """

    title: str
    run: Callable[..., dict[str, Any]]  # (session, params, progress, job_id=None) -> summary


def full_rescore_is_cheaper(n_changed: int, n_alumni: int, per_alum_s: float = PER_ALUM_S,
                            full_s: float | None = None) -> bool:
    """Whether one full pass over ``n_alumni`` beats re-scoring ``n_changed`` of them one by one.

    ``full_s`` is the expected seconds of a full pass (default: a fixed second plus
    :data:`FULL_PER_ALUM_S` an alum).

    >>> full_rescore_is_cheaper(1, 40_000), full_rescore_is_cheaper(5_000, 40_000)
    (False, True)
    >>> full_rescore_is_cheaper(200, 40_000, full_s=1.5)  # once a full pass takes 1.5 s
    True
    >>> full_rescore_is_cheaper(1_000, 1_000)  # a small database: one pass is quicker
    True
    """
    if full_s is None:
        full_s = FULL_FIXED_S + n_alumni * FULL_PER_ALUM_S
    return n_changed * per_alum_s > full_s


def _measured_costs(session: Session, n_alumni: int) -> tuple[float, float | None]:
    """(seconds an alum incrementally, seconds of a full pass now) from the latest re-score jobs.

    A full pass is scaled from the last one only when that one covered at least half as
    many alumni: on a small database its fixed costs dominate and would not scale.
    """
    per, full = None, None
    results = session.scalars(select(Job.result).where(Job.kind == "rescore", Job.status == "done")
                              .order_by(Job.id.desc()).limit(50))
    for r in results:
        if not r or not r.get("seconds") or not r.get("alumni"):
            continue
        if per is None and r.get("mode") == "incremental" and r["alumni"] >= 10:
            per = r["seconds"] / r["alumni"]
        if full is None and r.get("mode") == "full" and r["alumni"] * 2 >= n_alumni:
            full = r["seconds"] * max(1.0, n_alumni / r["alumni"])
    return per or PER_ALUM_S, full


def _absorb_queued_twins(session: Session, job_id: int | None, params: dict[str, Any]) -> tuple[dict[str, Any], set[int]]:
    """Take over the re-score jobs queued behind this one; return the merged params and their alumni.

    They are marked done ("merged into #N") in this job's transaction, so if this job fails
    they are queued again; its params become the union, so a retry covers them too.
    """
    if job_id is None:
        return params, set()
    twins = session.scalars(select(Job).where(Job.kind == "rescore", Job.status == "queued", Job.id != job_id)
                            .with_for_update(skip_locked=True)).all()
    if not twins:
        return params, set()
    merged, added = dict(params), set()
    for twin in twins:
        if merged.get("full") or "alumni" not in merged or twin.params.get("full") or "alumni" not in twin.params:
            merged = {"full": True}
        else:
            added |= set(twin.params["alumni"])
            merged["alumni"] = sorted(set(merged["alumni"]) | added)
        twin.status, twin.result, twin.worker = "done", {"merged_into": job_id}, None
        twin.started_at = twin.finished_at = dt.datetime.now(dt.timezone.utc)
    session.get(Job, job_id).params = merged
    return merged, added


def _rescore(session: Session, params: dict[str, Any], progress: Progress, job_id: int | None = None) -> dict[str, Any]:
    # imported here, not at the top: matcher.decisions and matcher.accounts import matcher.jobs, and
    # matcher.scoring/partnerships would make them load numpy, scipy (and numba) at import time
    from matcher.scoring import invalidate

    started = time.perf_counter()
    params, _ = _absorb_queued_twins(session, job_id, params)
    # This worker may have cached the relationships before another process changed them.
    invalidate()
    alumni = params.get("alumni")
    n_alumni = session.scalar(select(func.count()).select_from(Alumnus)) or 0
    if params.get("full") or alumni is None or full_rescore_is_cheaper(len(alumni), n_alumni,
                                                                      *_measured_costs(session, n_alumni)):
        return _full(session, progress, started)
    done = _one_by_one(session, alumni, progress, job_id)
    if done is None:  # a full re-score was queued meanwhile and merged in
        return _full(session, progress, started)
    return {"mode": "incremental", "alumni": done, "seconds": round(time.perf_counter() - started, 3)}


def _full(session: Session, progress: Progress, started: float) -> dict[str, Any]:
    # in-function for the reason given in _rescore
    from matcher.scoring import score_all

    progress(0, 1, "scoring every alumnus")
    summary = score_all(session, progress=lambda batches: progress.track(batches, "storing suggestions"))
    return {"mode": "full", **summary, "seconds": round(time.perf_counter() - started, 3)}


def _one_by_one(session: Session, alumni: list[int], progress: Progress, job_id: int | None) -> int | None:
    """Re-score alumni through the engine, committing by groups; return how many (None: go full).

    Between groups, re-score jobs queued meanwhile are merged in: their alumni join the
    list (again, if already done: their rows have changed since).
    """
    # in-function for the reason given in _rescore
    from matcher.scoring import rescore_alumnus

    pending, done, sqlite = list(dict.fromkeys(alumni)), 0, session.get_bind().dialect.name == "sqlite"
    params: dict[str, Any] = {"alumni": list(pending)}
    while pending:
        progress(done, done + len(pending), "re-scoring alumni")
        group, pending = pending[:_GROUP], pending[_GROUP:]
        for alumnus_id in group:
            rescore_alumnus(session, int(alumnus_id))
        done += len(group)
        params, added = _absorb_queued_twins(session, job_id, {"alumni": sorted(set(params["alumni"]) | set(group))})
        if params.get("full"):
            return None
        pending += [a for a in sorted(added) if a not in pending]
        session.commit()
        if sqlite and pending:
            # SQLite has one writer and its busy handler retries every 100 ms at most: leave a
            # gap, so an import waiting to write gets in instead of timing out behind us.
            time.sleep(0.12)
    return done


def _retrain_partnerships(session: Session, params: dict[str, Any], progress: Progress,
                          job_id: int | None = None) -> dict[str, Any]:
    # in-function for the reason given in _rescore
    from matcher.partnerships import train

    progress(0, 1, "training")
    row = train(session, seed=int(params.get("seed", 0)))
    from matcher.cached import prepare_scoring_inputs

    prepare_scoring_inputs(session)  # the cache file `jetmatch partnerships score` reads, for this model
    return {"version": row.version, **(row.metrics or {})}


def mail_transport_from_env():
    """The SMTP transport of ``JETMATCH_MAIL_SERVER`` / ``_PORT`` / ``_USERNAME`` / ``_PASSWORD`` /
    ``_STARTTLS``, or None when no server is configured."""
    server = os.environ.get("JETMATCH_MAIL_SERVER")
    if not server:
        return None
    return SMTPTransport(server, int(os.environ.get("JETMATCH_MAIL_PORT", "25")),
                         os.environ.get("JETMATCH_MAIL_USERNAME"), os.environ.get("JETMATCH_MAIL_PASSWORD"),
                         os.environ.get("JETMATCH_MAIL_STARTTLS", "").lower() in ("1", "true", "yes"))


def _send_outbox(session: Session, params: dict[str, Any], progress: Progress,
                 job_id: int | None = None) -> dict[str, Any]:
    transport = mail_transport_from_env()
    if transport is None:
        raise RuntimeError("no mail server is configured (set JETMATCH_MAIL_SERVER); nothing was sent")
    progress(0, 1, "sending")
    sent = SEND_OUTBOX(session, transport, sender=os.environ.get("JETMATCH_MAIL_SENDER") or DEFAULT_SENDER)
    return {"sent": sent if isinstance(sent, (int, dict, list)) else None}


KINDS: dict[str, Kind] = {
    "rescore": Kind("re-score suggestions", _rescore),
    "retrain_partnerships": Kind("retrain the partnership model", _retrain_partnerships),
    "send_outbox": Kind("send the mail outbox", _send_outbox),
}
