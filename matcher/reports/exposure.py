"""Exposure: how concentrated suggestions are, and which willing alumni are never suggested, and why."""

from __future__ import annotations

import math
from collections import Counter, defaultdict

import numpy as np
from sqlalchemy import select

from matcher.models import Alumnus, Placement, Relationship, Suggestion
from matcher.names import display_name

__all__ = ["exposure_report", "gini"]


def gini(values) -> float:
    """Return the Gini coefficient of non-negative counts: 0 when all equal, near 1 when one holds all.

    Parameters
    ----------
    values : iterable of int or float
        Non-negative counts.

    Returns
    -------
    float
        Between 0 and 1 (0 for no values or an all-zero list).

    Examples
    --------
    >>> gini([1, 1, 1, 1])
    0.0
    >>> gini([0, 0, 0, 4])
    0.75
    """
    a = np.sort(np.asarray(values, dtype=float))
    if not len(a) or a.sum() == 0:
        return 0.0
    n = len(a)
    return float(round((2 * np.arange(1, n + 1) - n - 1).dot(a) / (n * a.sum()), 4))


def _top_slots(session, top: int) -> Counter:
    """How many relationships' top-``top`` volunteer lists each consenting alum is in.

    Best score first, ties by alum id. Each relationship's stored list (rows with ``rank`` > 0,
    the top k of the alumni eligible at scoring) holds its best consenting alumni, so only
    those few thousand rows are read; a relationship whose list holds fewer than ``top``
    consenting alumni (someone withdrew, or k < ``top``) reads all its rows, so the count is
    the same as ranking every row.
    """
    S = Suggestion
    base = (select(S.relationship_id, S.alumnus_id, S.score).join(Alumnus, S.alumnus_id == Alumnus.id)
            .where(S.kind == "volunteer", Alumnus.consent.is_(True)))
    by_rel: dict[int, list[tuple[float, int]]] = defaultdict(list)
    for rid, aid, score in session.execute(base.where(S.rank > 0)):
        by_rel[rid].append((-score, aid))
    short = [rid for rid in session.scalars(select(Relationship.id)) if len(by_rel.get(rid, ())) < top]
    for chunk in (short[i:i + 500] for i in range(0, len(short), 500)):
        for rid, aid, score in session.execute(base.where(S.rank == 0, S.relationship_id.in_(chunk))):
            by_rel[rid].append((-score, aid))
    return Counter(aid for rows in by_rel.values() for _, aid in sorted(rows)[:top])


# Why a willing alum is in no top list: the first of these that holds, in this order.
WHY = ("no placement recorded", "capacity set to 0", "no hours available", "no home location",
       "not scored yet (added after the last scoring run)", "outranked: in no relationship's top list")


def _why(placed: np.ndarray, max_matches: np.ndarray, hours: np.ndarray, home: np.ndarray,
         scored: np.ndarray) -> np.ndarray:
    """Index into :data:`WHY` for each alum (arrays of the same length; booleans and counts).

    >>> [WHY[i] for i in _why(np.array([0, 1, 1]), np.array([2, 0, 2]), np.array([4, 4, 4]),
    ...                      np.array([1, 1, 1]), np.array([0, 1, 1]))]
    ['no placement recorded', 'capacity set to 0', "outranked: in no relationship's top list"]
    """
    tests = [~placed.astype(bool), max_matches == 0, hours == 0, ~home.astype(bool), ~scored.astype(bool)]
    return np.select(tests, np.arange(len(tests)), default=len(tests))


def exposure_report(session, top: int = 10, limit: int | None = None) -> dict:
    """Measure how evenly the suggestions spread over the consenting alumni.

    Reports the share of top-``top`` slots held by the top 10% of consenting alumni, the Gini
    of slots across them, and the consenting alumni in no relationship's top ``top``, with the
    likely reason.

    Parameters
    ----------
    session : Session
        Read only.
    top : int, optional
        How many suggestions per relationship count as a slot.
    limit : int, optional
        List at most this many of the never-suggested alumni (``never_suggested_count`` and the
        ``reasons`` still count them all); default all.

    Returns
    -------
    dict
        ``top_decile_share``, ``gini``, the ``reasons`` and ``never_suggested`` tables, and counts.
    """
    alumni = session.execute(select(Alumnus.id, Alumnus.given_name, Alumnus.family_name, Alumnus.max_matches,
                                    Alumnus.availability_hours, Alumnus.home_lat.is_not(None))
                             .where(Alumnus.consent.is_(True)).order_by(Alumnus.id)).all()
    ids = np.fromiter((a[0] for a in alumni), dtype=np.int64, count=len(alumni))
    slots = _top_slots(session, top)
    held = np.fromiter((slots.get(a, 0) for a in ids.tolist()), dtype=np.int64, count=len(ids))
    counts = np.sort(held)[::-1]
    k = math.ceil(len(alumni) / 10)
    total = int(counts.sum())
    suggested = np.fromiter(session.scalars(select(Suggestion.alumnus_id).where(Suggestion.kind == "volunteer")
                                            .distinct()), dtype=np.int64)
    placed = np.fromiter(session.scalars(select(Placement.alumnus_id).distinct()), dtype=np.int64)
    never = np.flatnonzero(held == 0)
    rows = [alumni[i] for i in never.tolist()]
    why = _why(np.isin(ids[never], placed), np.array([a[3] for a in rows], dtype=float),
               np.array([a[4] for a in rows], dtype=float), np.array([bool(a[5]) for a in rows], dtype=bool),
               np.isin(ids[never], suggested)).tolist()
    listed = never if limit is None else never[:limit]  # names are written only for the rows listed
    reasons = Counter(WHY[i] for i in why)
    return {"top": top, "consenting_alumni": len(alumni), "slots": total,
            "top_decile_alumni": k, "top_decile_share": round(int(counts[:k].sum()) / total, 3) if total else None,
            "gini": gini(counts), "never_suggested_count": len(never),
            "reasons": [{"reason": r, "alumni": n} for r, n in reasons.most_common()],
            "never_suggested": [{"alumnus": display_name(alumni[i][1], alumni[i][2]), "reason": WHY[w]}
                                for i, w in zip(listed.tolist(), why)]}
