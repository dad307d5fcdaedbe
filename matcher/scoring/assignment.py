"""Capacity-aware assignment: each alumnus at most ``max_matches``, each relationship at most
``volunteers_wanted``, maximising the total score.

The candidate edges are the stored volunteer suggestions. A bipartite b-matching LP has a
totally unimodular constraint matrix, so HiGHS's simplex returns a 0/1 vertex; the result
is checked against both capacities anyway.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

__all__ = ["assign_edges", "assign_pool"]


def assign_edges(rows: np.ndarray, cols: np.ndarray, scores: np.ndarray, row_cap: np.ndarray,
                 col_cap: np.ndarray) -> np.ndarray:
    """Return a boolean mask of the chosen edges: capacities respected, total score maximal.

    Parameters
    ----------
    rows, cols : edge end points (alumnus index, relationship index).
    scores : edge scores; edges scoring <= 0 are never chosen.
    row_cap, col_cap : capacity of each alumnus and relationship.

    Examples
    --------
    >>> assign_edges(np.array([0, 0, 1]), np.array([0, 1, 0]), np.array([3.0, 2.0, 2.5]),
    ...              np.array([1, 1]), np.array([1, 1])).tolist()
    [False, True, True]
    """
    chosen = np.zeros(len(scores), bool)
    live = np.flatnonzero(scores > 0)
    if live.size == 0:
        return chosen
    r, c, s = rows[live], cols[live], scores[live]
    n_r, n_c, e = len(row_cap), len(col_cap), live.size
    a = sp.vstack([sp.csr_matrix((np.ones(e), (r, np.arange(e))), shape=(n_r, e)),
                   sp.csr_matrix((np.ones(e), (c, np.arange(e))), shape=(n_c, e))]).tocsr()
    b = np.concatenate([row_cap, col_cap]).astype(float)
    res = linprog(-s, A_ub=a, b_ub=b, bounds=(0, 1), method="highs-ds")
    if res.status != 0:
        raise RuntimeError(f"assignment LP failed: {res.message}")
    chosen[live] = res.x > 0.5
    _repair(chosen, rows, cols, scores, row_cap, col_cap)
    return chosen


def _repair(chosen, rows, cols, scores, row_cap, col_cap) -> None:
    """Drop the weakest edges wherever rounding left a capacity exceeded (never expected)."""
    for ends, cap in ((rows, row_cap), (cols, col_cap)):
        idx = np.flatnonzero(chosen)
        for node in np.flatnonzero(np.bincount(ends[idx], minlength=len(cap)) > cap):
            mine = idx[ends[idx] == node]
            chosen[mine[np.argsort(-scores[mine])][cap[node]:]] = False


def assign_pool(session) -> dict[str, Any]:
    """Assign over the stored volunteer suggestions; report pairs, total score and Coverage."""
    from sqlalchemy import func, select

    from matcher import models as m

    approved = {a: n for a, n in session.execute(select(m.MatchRequest.alumnus_id, func.count())
                                    .where(m.MatchRequest.status == "approved")
                                    .group_by(m.MatchRequest.alumnus_id))}
    q = (select(m.Suggestion, m.Alumnus, m.Relationship)
         .join(m.Alumnus, m.Suggestion.alumnus_id == m.Alumnus.id)
         .join(m.Relationship, m.Suggestion.relationship_id == m.Relationship.id)
         .where(m.Suggestion.kind == "volunteer", m.Alumnus.consent.is_(True)))
    edges = session.execute(q).all()
    alumni = sorted({a.id: a for _, a, _ in edges}.values(), key=lambda a: a.id)
    rels = sorted({r.id: r for _, _, r in edges}.values(), key=lambda r: r.id)
    a_index = {a.id: i for i, a in enumerate(alumni)}
    r_index = {r.id: i for i, r in enumerate(rels)}
    rows = np.array([a_index[a.id] for _, a, _ in edges], np.int64)
    cols = np.array([r_index[r.id] for _, _, r in edges], np.int64)
    scores = np.array([s.score for s, _, _ in edges], float)
    row_cap = np.array([max(0, a.max_matches - approved.get(a.id, 0)) for a in alumni], np.int64)
    col_cap = np.array([r.volunteers_wanted for r in rels], np.int64)
    chosen = assign_edges(rows, cols, scores, row_cap, col_cap)
    willing = session.scalar(select(func.count()).select_from(m.Alumnus)
                             .where(m.Alumnus.consent.is_(True), m.Alumnus.max_matches > 0)) or 0
    pairs = [dict(alumnus_id=a.id, external_id=a.external_id, relationship_id=r.id, us_place=r.us_label,
                  jp_place=r.jp_label, score=s.score)
             for (s, a, r), keep in zip(edges, chosen) if keep]
    pairs.sort(key=lambda p: (-p["score"], p["relationship_id"], p["alumnus_id"]))
    covered = len({p["alumnus_id"] for p in pairs})
    return dict(pairs=pairs, total_score=round(float(scores[chosen].sum()), 4), willing=willing,
                assigned_alumni=covered, coverage=covered / willing if willing else 0.0,
                relationships_filled=len({p["relationship_id"] for p in pairs}))
