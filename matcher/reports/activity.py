"""Decisions (how requests flow) and dormant relationships (and who could revive them)."""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter

import numpy as np
from sqlalchemy import select

from matcher.models import Decision, MatchRequest
from matcher.reports.pool import Pool

__all__ = ["decisions_report", "dormant_report", "score_deciles"]


def _utc(t: dt.datetime) -> dt.datetime:
    return t if t.tzinfo else t.replace(tzinfo=dt.timezone.utc)


def score_deciles(scores: list[float]) -> list[int]:
    """Return the decile (1–10) of each score among the given ones, by rank (ties share the lower decile).

    Parameters
    ----------
    scores : list of float
        The scores, in any order.

    Returns
    -------
    list of int
        One decile per score, in the same order.

    Examples
    --------
    >>> score_deciles([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0])
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    >>> score_deciles([5.0, 5.0, 1.0])
    [4, 4, 1]
    """
    a = np.asarray(scores, dtype=float)
    below = np.searchsorted(np.sort(a), a, side="left")
    return [int(b * 10 // len(a)) + 1 for b in below]


def decisions_report(session) -> dict:
    """Summarise requests and decisions: per week, time to decide, approval by score decile.

    The approval rate by score decile says whether the score is calibrated.

    Parameters
    ----------
    session : Session
        Read only.

    Returns
    -------
    dict
        ``per_week``, ``by_decile`` and ``per_coordinator`` tables, the number of requests and
        decided ones, and the median hours to a final decision.
    """
    requests = session.execute(select(MatchRequest.id, MatchRequest.kind, MatchRequest.requested_at,
                                      MatchRequest.status, MatchRequest.score)).all()
    decided = session.execute(select(Decision.request_id, Decision.status, Decision.decided_by, Decision.decided_at)
                              .order_by(Decision.request_id, Decision.sequence)).all()
    weeks = Counter(_utc(at).strftime("%G-W%V") for _, _, at, _, _ in requests)
    first_final: dict[int, dt.datetime] = {}
    for rid, status, _, at in decided:
        if status in ("approved", "rejected"):
            first_final.setdefault(rid, _utc(at))
    hours = [(first_final[rid] - _utc(at)).total_seconds() / 3600 for rid, _, at, _, _ in requests if rid in first_final]
    final = [(score, status) for _, _, _, status, score in requests
             if status in ("approved", "rejected") and score is not None]
    deciles: dict[int, list[str]] = {}
    for decile, (_, status) in zip(score_deciles([s for s, _ in final]), final):
        deciles.setdefault(decile, []).append(status)
    per_coordinator = Counter((who, status) for _, status, who, _ in decided)
    coordinators = sorted({who for who, _ in per_coordinator})
    return {
        "requests": len(requests), "decided": len(first_final),
        "median_hours_to_decision": round(statistics.median(hours), 2) if hours else None,
        "per_week": [{"week": w, "requests": n} for w, n in sorted(weeks.items())],
        "by_decile": [{"decile": d, "decided": len(s), "approved": s.count("approved"),
                       "approval_rate": round(s.count("approved") / len(s), 3)} for d, s in sorted(deciles.items())],
        "per_coordinator": [{"coordinator": who, "decisions": sum(n for (w, _), n in per_coordinator.items() if w == who),
                             **{s: per_coordinator.get((who, s), 0) for s in ("approved", "rejected", "on_hold")}}
                            for who in coordinators],
    }


def _last_activity(session) -> dict[int, dt.datetime]:
    """Each relationship's latest request or decision."""
    last: dict[int, dt.datetime] = {}
    for rid, at in session.execute(select(MatchRequest.relationship_id, MatchRequest.requested_at)
                                   .where(MatchRequest.relationship_id.is_not(None))):
        last[rid] = max(last.get(rid, _utc(at)), _utc(at))
    for rid, at in session.execute(select(MatchRequest.relationship_id, Decision.decided_at)
                                   .join(Decision, Decision.request_id == MatchRequest.id)
                                   .where(MatchRequest.relationship_id.is_not(None))):
        last[rid] = max(last.get(rid, _utc(at)), _utc(at))
    return last


def dormant_report(session, pool: Pool, years: int = 5, now: dt.datetime | None = None, revivers: int = 3) -> dict:
    """List the dormant relationships, each with the consenting alumni who could revive it.

    A relationship is dormant when marked so, or when it has had no request or decision for
    ``years`` years (and was signed before that). Revivers are those placed in the partner
    first, then those living within 100 km.

    Parameters
    ----------
    session : Session
        Read only.
    pool : Pool
        The consenting alumni and the relationships (:func:`load_pool`).
    years : int, optional
        Years without activity that make a relationship dormant.
    now : datetime, optional
        The moment the years count back from (default: now, UTC).
    revivers : int, optional
        At most this many alumni are named per relationship.

    Returns
    -------
    dict
        ``relationships`` (the table), ``count``, ``marked_dormant`` and ``years``.
    """
    now = now or dt.datetime.now(dt.timezone.utc)
    cutoff = now - dt.timedelta(days=365.25 * years)
    last = _last_activity(session)

    def name_of(alum: int) -> str:
        return pool.names[int(np.searchsorted(pool.alumni, alum))]  # pool.alumni is sorted

    rows = []
    for rel in pool.relationships:
        seen = last.get(rel["id"])
        quiet = (seen is None or seen < cutoff) and (rel["signed_year"] or 0) <= cutoff.year
        if rel["status"] != "dormant" and not quiet:
            continue
        tied = pool.tied[rel["id"]].tolist()  # sorted
        near = np.setdiff1d(pool.near(rel), pool.tied[rel["id"]], assume_unique=True).tolist()
        who = ([(a, "lived in the partner") for a in tied] + [(a, "lives near") for a in near])[:revivers]
        rows.append({"relationship_id": rel["id"], "relationship": rel["label"], "status": rel["status"],
                     "dormant_since": rel["dormant_since"], "last_activity": seen.date().isoformat() if seen else None,
                     "could_revive": len(tied) + len(near),
                     "alumni": "; ".join(f"{name_of(a)} ({how})" for a, how in who)})
    rows.sort(key=lambda r: (r["status"] != "dormant", -r["could_revive"], r["relationship"]))
    return {"years": years, "relationships": rows, "count": len(rows),
            "marked_dormant": sum(r["status"] == "dormant" for r in rows)}
