"""Coverage: which relationships have enough willing alumni near them or tied to their partner."""

from __future__ import annotations

import numpy as np
from sqlalchemy import select

from matcher.models import Chapter
from matcher.reports.pool import RADIUS_KM, Pool

__all__ = ["coverage", "NEEDED"]

NEEDED = 3


def coverage(session, pool: Pool, needed: int = NEEDED, radius_km: float = RADIUS_KM) -> dict:
    """Count the volunteers each relationship has, those with none first ("recruit here").

    A volunteer is a consenting alumnus living within ``radius_km`` of the US side or placed in
    the partner; a relationship with at least ``needed`` of them is covered. Chapters are
    scored by the share of the relationships in their states that are covered.

    Parameters
    ----------
    session : Session
        Read only (the chapters).
    pool : Pool
        The consenting alumni and the relationships (:func:`load_pool`).
    needed : int, optional
        Volunteers a relationship needs to count as covered.
    radius_km : float, optional
        How near the US side a volunteer lives.

    Returns
    -------
    dict
        ``relationships`` (one row each: volunteers, near, tied, covered), ``chapters``
        (relationships, covered, share), and the totals.
    """
    rows = []
    for rel in pool.relationships:
        near = pool.near(rel, radius_km)  # sorted ids
        tied = pool.tied[rel["id"]]  # sorted ids; a prefecture's can be thousands: no Python sets
        n = len(np.union1d(near, tied))
        rows.append({"relationship_id": rel["id"], "relationship": rel["label"], "status": rel["status"],
                     "state": rel["state"], "volunteers": n, "near": len(near), "tied": len(tied),
                     "covered": n >= needed})
    rows.sort(key=lambda r: (r["volunteers"] > 0, r["volunteers"], r["relationship"]))
    chapters = []
    for ch in session.scalars(select(Chapter).order_by(Chapter.name)):
        mine = [r for r in rows if r["state"] in ch.state_list]
        covered = sum(r["covered"] for r in mine)
        chapters.append({"chapter": ch.name, "slug": ch.slug, "relationships": len(mine), "covered": covered,
                         "share": round(covered / len(mine), 3) if mine else None})
    chapters.sort(key=lambda c: (c["share"] is None, -(c["share"] or 0), c["chapter"]))
    return {"needed": needed, "radius_km": radius_km, "relationships_total": len(rows),
            "covered": sum(r["covered"] for r in rows), "with_none": sum(r["volunteers"] == 0 for r in rows),
            "relationships": rows, "chapters": chapters}
