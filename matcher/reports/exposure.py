"""Exposure: how concentrated suggestions are, and which willing alumni are never suggested, and why."""

from __future__ import annotations

import math
from collections import Counter, defaultdict

import numpy as np
from sqlalchemy import select

from matcher.models import Alumnus, Placement, Suggestion
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
    """How many relationships' top-``top`` volunteer lists each consenting alum is in."""
    by_rel: dict[int, list[tuple[float, int]]] = defaultdict(list)
    for rid, aid, score in session.execute(
            select(Suggestion.relationship_id, Suggestion.alumnus_id, Suggestion.score)
            .join(Alumnus, Suggestion.alumnus_id == Alumnus.id)
            .where(Suggestion.kind == "volunteer", Alumnus.consent.is_(True))):
        by_rel[rid].append((-score, aid))
    return Counter(aid for rows in by_rel.values() for _, aid in sorted(rows)[:top])


def _why(row, has_placement: bool, scored: bool) -> str:
    if not has_placement:
        return "no placement recorded"
    if row.max_matches == 0:
        return "capacity set to 0"
    if row.availability_hours == 0:
        return "no hours available"
    if row.home_lat is None:
        return "no home location"
    if not scored:
        return "not scored yet (added after the last scoring run)"
    return "outranked: in no relationship's top list"


def exposure_report(session, top: int = 10) -> dict:
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

    Returns
    -------
    dict
        ``top_decile_share``, ``gini``, the ``reasons`` and ``never_suggested`` tables, and counts.
    """
    alumni = session.execute(select(Alumnus.id, Alumnus.given_name, Alumnus.family_name, Alumnus.max_matches, Alumnus.availability_hours,
                                    Alumnus.home_lat).where(Alumnus.consent.is_(True)).order_by(Alumnus.id)).all()
    slots = _top_slots(session, top)
    counts = sorted((slots.get(a.id, 0) for a in alumni), reverse=True)
    k = math.ceil(len(alumni) / 10)
    total = sum(counts)
    suggested = set(session.scalars(select(Suggestion.alumnus_id).where(Suggestion.kind == "volunteer").distinct()))
    placed = set(session.scalars(select(Placement.alumnus_id).distinct()))
    never = [{"alumnus": display_name(a.given_name, a.family_name), "reason": _why(a, a.id in placed, a.id in suggested)}
             for a in alumni if not slots.get(a.id)]
    return {"top": top, "consenting_alumni": len(alumni), "slots": total,
            "top_decile_alumni": k, "top_decile_share": round(sum(counts[:k]) / total, 3) if total else None,
            "gini": gini(counts), "never_suggested_count": len(never),
            "reasons": [{"reason": r, "alumni": n} for r, n in Counter(x["reason"] for x in never).most_common()],
            "never_suggested": never}
