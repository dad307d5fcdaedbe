"""What each kind of job does. Every body takes ``(session, params, progress)`` and returns a
JSON-able summary; the runner commits when it returns and records the error when it raises.

Kinds
-----
- ``rescore``: refresh suggestions after an import or a relationship edit. With
  ``{"alumni": [ids]}`` only those alumni are re-scored, one by one through the engine's
  :func:`~matcher.scoring.rescore_alumnus`, committed in small groups; with
  ``{"full": true}`` -- or when the list is long enough that one full pass is cheaper --
  everything is re-scored by :func:`~matcher.scoring.score_all`.
- ``retrain_partnerships``: fit and store the partnership model
  (:func:`matcher.partnerships.train`), after relationships change.
- ``send_outbox``: send the mail outbox through the transport set up from ``JETMATCH_MAIL_*``.
  The outbox itself is another part of jetmatch: :data:`SEND_OUTBOX` is set to its
  ``send_outbox(session, transport)``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

__all__ = ["Kind", "KINDS", "Progress", "SEND_OUTBOX", "INCREMENTAL_MAX", "full_rescore_is_cheaper",
           "mail_transport_from_env"]

# The mail outbox's sender, ``send_outbox(session, transport)``; None until it is wired in.
SEND_OUTBOX: Callable[[Session, Any], Any] | None = None

# Re-scoring one alum costs a few ms of statements; one full pass costs about the same as
# re-scoring this share of all alumni one by one (measured by scripts/bench-freshness).
INCREMENTAL_MAX = 2000
INCREMENTAL_SHARE = 0.05
_GROUP = 50  # alumni re-scored per commit: readers see progress, a failure loses little


class Progress:
    """How a job reports how far it is: ``progress(done, total, step)`` (a no-op by default)."""

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
    """A kind of job: the default title on the jobs page and the function that does it."""

    title: str
    run: Callable[[Session, dict[str, Any], Progress], dict[str, Any]]


def full_rescore_is_cheaper(n_changed: int, n_alumni: int) -> bool:
    """Whether re-scoring everything beats re-scoring ``n_changed`` of ``n_alumni`` one by one.

    >>> full_rescore_is_cheaper(1, 40_000), full_rescore_is_cheaper(5_000, 40_000)
    (False, True)
    >>> full_rescore_is_cheaper(30, 100)
    True
    """
    return n_changed > min(INCREMENTAL_MAX, max(20, INCREMENTAL_SHARE * n_alumni))


def _rescore(session: Session, params: dict[str, Any], progress: Progress) -> dict[str, Any]:
    from matcher.models import Alumnus
    from matcher.scoring import invalidate, rescore_alumnus, score_all

    # This worker may have cached the relationships before another process changed them.
    invalidate()
    alumni = params.get("alumni")
    n_alumni = session.scalar(select(func.count()).select_from(Alumnus)) or 0
    if params.get("full") or alumni is None or full_rescore_is_cheaper(len(alumni), n_alumni):
        progress(0, 1, "scoring every alumnus")
        summary = score_all(session, progress=lambda batches: progress.track(batches, "storing suggestions"))
        return {"mode": "full", **summary}
    for start in range(0, len(alumni), _GROUP):
        progress(start, len(alumni), "re-scoring alumni")
        for alumnus_id in alumni[start:start + _GROUP]:
            rescore_alumnus(session, int(alumnus_id))
        session.commit()
    return {"mode": "incremental", "alumni": len(alumni)}


def _retrain_partnerships(session: Session, params: dict[str, Any], progress: Progress) -> dict[str, Any]:
    from matcher.partnerships import train

    progress(0, 1, "training")
    row = train(session, seed=int(params.get("seed", 0)))
    return {"version": row.version, **(row.metrics or {})}


def mail_transport_from_env():
    """The SMTP transport of ``JETMATCH_MAIL_SERVER`` / ``_PORT`` / ``_USERNAME`` / ``_PASSWORD`` /
    ``_STARTTLS``, or None when no server is configured."""
    from matcher.decisions import SMTPTransport

    server = os.environ.get("JETMATCH_MAIL_SERVER")
    if not server:
        return None
    return SMTPTransport(server, int(os.environ.get("JETMATCH_MAIL_PORT", "25")),
                         os.environ.get("JETMATCH_MAIL_USERNAME"), os.environ.get("JETMATCH_MAIL_PASSWORD"),
                         os.environ.get("JETMATCH_MAIL_STARTTLS", "").lower() in ("1", "true", "yes"))


def _send_outbox(session: Session, params: dict[str, Any], progress: Progress) -> dict[str, Any]:
    if SEND_OUTBOX is None:
        raise RuntimeError("this installation has no mail outbox to send")
    transport = mail_transport_from_env()
    if transport is None:
        raise RuntimeError("no mail server is configured (set JETMATCH_MAIL_SERVER); nothing was sent")
    progress(0, 1, "sending")
    sent = SEND_OUTBOX(session, transport)
    return {"sent": sent if isinstance(sent, (int, dict, list)) else None}


KINDS: dict[str, Kind] = {
    "rescore": Kind("re-score suggestions", _rescore),
    "retrain_partnerships": Kind("retrain the partnership model", _retrain_partnerships),
    "send_outbox": Kind("send the mail outbox", _send_outbox),
}
