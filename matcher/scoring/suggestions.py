"""Stored suggestions: score the pool, explain each pair in sentences, store the lists, and
read them back (volunteers for a committee, relationships for an alum, partners for a chapter).

The array work is :mod:`matcher.scoring.scorer`; this module is the database side of it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from typing import Any

import numpy as np

from matcher.scoring.comparisons import comparisons
from matcher.geo import haversine_km
from matcher.scoring.features import pair_codes, placement_levels
from matcher.scoring.kernel_process import Pending, in_process
from matcher.scoring.pool import Pool, active_model, load_pool, model_settings
from matcher.scoring.readback import volunteer_reasons
from matcher.scoring.reasons import writer_for
from matcher.scoring.scorer import Scorer, TopK, scorer_for
from matcher.scoring.store import ensure_run, pack_levels, replacing, write_partners, write_volunteers

__all__ = ["explain", "score_all", "rescore_alumnus", "suggest_volunteers", "suggest_relationships",
           "suggest_partners"]

_BATCH = 50_000  # volunteer rows per bulk statement (the progress bar moves once per batch)


def explain(pool: Pool, scorer: Scorer, a: int, r: int, code: int) -> list[dict[str, Any]]:
    """Return the reasons for one pair: [{factor, level, weight, sentence}], weights summing to the score."""
    writer = writer_for(scorer, pool.side, pool.alumni.ids, pool.info["alumni"], pool.alumni.codes)
    text = writer.pairs(np.array([a]), np.array([r]), np.array([code]), pool.alumni.muni, pool.alumni.pref)[0]
    return json.loads(text)


def _volunteer_pairs(by_col: TopK, by_row: TopK, n_rels: int) -> TopK:
    """Each relationship's list (rank 1..k) and each alumnus's (rank 0 when only there), one row per pair."""
    cols = by_col.cols
    start = np.r_[0, np.flatnonzero(cols[1:] != cols[:-1]) + 1] if cols.size else np.empty(0, np.intp)
    rank = np.arange(cols.size) - np.repeat(start, np.diff(np.r_[start, cols.size])) + 1
    both = TopK.concat([TopK(by_col.rows, cols, by_col.scores, rank, by_col.codes),
                        TopK(by_row.rows, by_row.cols, by_row.scores, np.zeros(by_row.rows.size, np.int64),
                             by_row.codes)])
    _, first = np.unique(both.rows.astype(np.int64) * n_rels + both.cols, return_index=True)
    return both.take(first)


def volunteer_rows(geo, alumni, rels, settings: dict[str, Any], k: int) -> tuple[TopK, np.ndarray, dict[str, float]]:
    """Score a pool and return its volunteer rows as they are stored: (pairs, levels, timings).

    The pairs are each relationship's list and each alumnus's (:func:`_volunteer_pairs`) in
    the order of the relationship-and-score index (SQLite builds that index, see
    :func:`matcher.scoring.store.replacing`, from already sorted rows three times faster);
    ``levels`` are what the reasons are written from (:func:`matcher.scoring.store.pack_levels`).
    Arrays in, arrays out: this is what :mod:`matcher.scoring.kernel_process` runs, here or in
    its helper.
    """
    from matcher.scoring.scorer import score_pool

    scorer = scorer_for(settings)
    timings: dict[str, float] = {}
    by_col, by_row = score_pool(geo, alumni, rels, scorer, k, k, timings=timings)
    pairs = _volunteer_pairs(by_col, by_row, len(rels))
    pairs = pairs.take(np.lexsort((pairs.scores, rels.ids[pairs.cols])))
    return pairs, pack_levels(pairs.codes, scorer.combos(alumni.codes)[pairs.rows]), timings


def _store_volunteers(session, run_id: int, pool: Pool, pairs: TopK, levels: np.ndarray,
                      progress: Callable[[Iterable], Iterable] = iter) -> None:
    """Store the volunteer rows (from :func:`volunteer_rows`) in bulk: ids, score, rank and levels."""
    alum_ids, rel_ids = pool.alumni.ids[pairs.rows], pool.rels.ids[pairs.cols]
    for start in progress(range(0, pairs.rows.size, _BATCH)):
        part = slice(start, start + _BATCH)
        write_volunteers(session, run_id, alum_ids[part], rel_ids[part], pairs.scores[part], pairs.ranks[part],
                         levels[part])


def _partner_rows(session, pool: Pool, scorer: Scorer, top: int) -> list[dict[str, Any]]:
    """Chapter x relationship suggestions: member ties, distance to the hub, dormancy."""
    from sqlalchemy import select

    from matcher.models import Chapter

    comps = comparisons(scorer.settings)
    radius = float(scorer.settings["partner_radius_km"])
    chapter_of = pool.alumni.chapter
    place = placement_levels(pool.alumni, pool.rels, pool.side.table)  # only the placement tie counts here
    rel_info = [pool.info["rels"][rid] for rid in pool.rels.ids.tolist()]
    rel_lat, rel_lon = (np.array([r[key] for r in rel_info], float) for key in ("lat", "lon"))
    rows = []
    for ch in session.scalars(select(Chapter).order_by(Chapter.id)):
        members = place[chapter_of == ch.id]
        n_partner, n_ties = (members == 0).sum(0), (members <= 1).sum(0)
        hub = ch.hub_place
        hub_km = haversine_km(hub.lat, hub.lon, rel_lat, rel_lon) if hub else np.full(len(rel_info), np.nan)
        found = []
        for r, rel in enumerate(rel_info):
            km = float(hub_km[r])
            in_states = rel["us_state_abbr"] in ch.state_list
            hub_level = 0 if km <= 80 else 1 if in_states else 2 if km <= radius else None
            if hub_level is None:
                continue
            member_level = (0 if n_partner[r] >= 3 else 1 if n_partner[r] else 2 if n_ties[r] >= 3
                            else 3 if n_ties[r] else 4)
            status_level = {"dormant": 0, "unknown": 1}.get(rel["status"], 2)
            ctx = dict(n_partner=int(n_partner[r]), n_ties=int(n_ties[r]), partner_name=rel["jp_name"],
                       prefecture=rel["prefecture"], km=km, hub=ch.hub, us_state=rel["us_state"],
                       dormant_since=rel["dormant_since"] or "an unknown year")
            reasons = [dict(factor=f, level=comps[f].levels[lv].name, weight=comps[f].levels[lv].weight,
                            sentence=comps[f].levels[lv].describe(**ctx))
                       for f, lv in (("members", member_level), ("hub", hub_level), ("status", status_level))]
            reasons = [x for x in reasons if x["weight"] != 0]
            found.append((round(sum(x["weight"] for x in reasons), 4), int(pool.rels.ids[r]), reasons))
        found.sort(key=lambda t: (-t[0], t[1]))
        rows += [dict(chapter_id=ch.id, relationship_id=rid, score=s, rank=i + 1, contributions=reasons)
                 for i, (s, rid, reasons) in enumerate(found[:top])]
    return rows


@contextmanager
def _page_cache(session, mib: int = 256):
    """On SQLite, let the connection cache up to ``mib`` MiB of pages while the lists are rewritten.

    The default 2 MiB cache makes every index insert of 400,000 rows go to the file.
    """
    conn = session.connection()
    if conn.dialect.name != "sqlite":
        yield
        return
    before = conn.exec_driver_sql("PRAGMA cache_size").scalar()
    conn.exec_driver_sql(f"PRAGMA cache_size=-{mib * 1024}")
    try:
        yield
    finally:
        conn.exec_driver_sql(f"PRAGMA cache_size={int(before)}")


def score_all(session, top_k: int | None = None, progress: Callable[[Iterable], Iterable] = iter,
              kernel: Callable[..., Pending] = in_process) -> dict[str, Any]:
    """Recompute and store every suggestion (volunteers and partners) with the active model.

    The new lists replace the old ones in the session's transaction (see
    :mod:`matcher.scoring.store`): commit it, and readers go from the old lists to the new.
    ``progress`` wraps the batches of rows being stored (a progress bar). The relationship
    side is reloaded (and re-cached for :func:`rescore_alumnus`). ``kernel`` starts the
    scoring of the pool (:func:`volunteer_rows`, by :mod:`matcher.scoring.kernel_process`: here, or in a helper process
    while the partner rows are computed and the old rows cleared).

    Examples
    --------
    >>> summary = score_all(session)  # doctest: +SKIP
    >>> sorted(summary)  # doctest: +SKIP
    ['alumni', 'features_s', 'model_version', 'partner_suggestions', 'relationships', 'score_s', ...]
    """
    version, settings = active_model(session)
    settings = {**settings, "version": version}
    scorer = scorer_for(settings)
    k = top_k or int(scorer.settings["top_k"])
    pool = load_pool(session, fresh=True)
    scored = kernel(volunteer_rows, pool.geo, pool.alumni, pool.rels, settings, k)
    partners = _partner_rows(session, pool, scorer, max(k, 25))
    with _page_cache(session), replacing(session, version) as run_id:
        pairs, levels, timings = scored()
        _store_volunteers(session, run_id, pool, pairs, levels, progress)
        write_partners(session, run_id, partners)
    return dict(model_version=version, alumni=len(pool.alumni), relationships=len(pool.rels),
                volunteer_suggestions=int(pairs.rows.size), partner_suggestions=len(partners),
                features_s=round(timings.get("features_s", 0), 3), score_s=round(timings.get("score_s", 0), 3))


def rescore_alumnus(session, alumnus_id: int) -> list[dict[str, Any]]:
    """Refresh one alumnus's volunteer suggestions after they edit their profile; return the new rows.

    Their own top-k is replaced; they enter a relationship's list when they beat its k-th
    stored score, and every list they entered or left is re-ranked. The rows join the
    current run and are scored with its model (the active one before any run). The
    relationship side and the model come from the process caches, so this is one
    alumnus's row of NumPy and a handful of indexed statements.

    Returns
    -------
    The new rows: {kind, alumnus_id, chapter_id, relationship_id, score, rank, contributions, model_version}.
    """
    from sqlalchemy import delete, select

    from matcher.models import Suggestion as S

    run = ensure_run(session, active_model(session)[0])
    scorer = scorer_for(model_settings(session, run[1]))
    k = int(scorer.settings["top_k"])
    was_listed = session.scalars(select(S.relationship_id).where(S.kind == "volunteer", S.alumnus_id == alumnus_id,
                                                                 S.rank > 0)).all()
    session.execute(delete(S).where(S.kind == "volunteer", S.alumnus_id == alumnus_id))
    pool = load_pool(session, alumnus_ids=[alumnus_id])
    if not len(pool.alumni):
        _rerank(session, set(was_listed), k)
        return []
    codes = pair_codes(pool.geo, pool.alumni, pool.rels, scorer.settings, pool.side.table)[0]
    scores = scorer.pair_weights[codes] + scorer.alumnus_scores(pool.alumni.codes)[0]
    ok = np.flatnonzero(scorer.eligible[codes])
    order = ok[np.lexsort((ok, -scores[ok]))]
    kth = _kth_scores(session, pool.rels.ids[ok].tolist(), k)
    enter = [r for r in ok.tolist() if kth.get(int(pool.rels.ids[r])) is None
             or scores[r] > kth[int(pool.rels.ids[r])]]
    chosen = np.array(sorted(set(order[:k].tolist()) | set(enter), key=lambda r: (-scores[r], r)), np.int64)
    rows = []
    if chosen.size:
        writer = writer_for(scorer, pool.side, pool.alumni.ids, pool.info["alumni"], pool.alumni.codes)
        texts = writer.pairs(np.zeros(chosen.size, np.int64), chosen, codes[chosen], pool.alumni.muni,
                             pool.alumni.pref)
        levels = pack_levels(codes[chosen], scorer.combos(pool.alumni.codes)[0])
        write_volunteers(session, run[0], np.full(chosen.size, alumnus_id), pool.rels.ids[chosen], scores[chosen],
                         np.zeros(chosen.size, np.int64), levels)
        rows = [dict(kind="volunteer", alumnus_id=alumnus_id, chapter_id=None, relationship_id=int(pool.rels.ids[r]),
                     score=round(float(scores[r]), 4), rank=0, contributions=json.loads(t), model_version=run[1])
                for r, t in zip(chosen.tolist(), texts)]
    _rerank(session, set(was_listed) | {int(pool.rels.ids[r]) for r in enter}, k)
    session.flush()
    return rows


def _kth_scores(session, relationship_ids: list[int], k: int) -> dict[int, float | None]:
    """Each relationship's k-th best stored volunteer score (None when fewer than k), by the score index."""
    from sqlalchemy import select

    from matcher.models import Relationship, Suggestion as S

    if not relationship_ids:
        return {}
    kth = (select(S.score).where(S.relationship_id == Relationship.id, S.kind == "volunteer")
           .order_by(S.score.desc()).limit(1).offset(k - 1).scalar_subquery())
    return dict(session.execute(select(Relationship.id, kth).where(Relationship.id.in_(relationship_ids))).all())


def _rerank(session, relationship_ids: set[int], k: int) -> None:
    """Number the k best stored volunteers of each relationship 1..k and the one after them 0."""
    from sqlalchemy import bindparam, select, update

    from matcher.models import Suggestion as S

    changes = []
    for rid in sorted(relationship_ids):
        listed = session.execute(select(S.id, S.rank).where(S.kind == "volunteer", S.relationship_id == rid)
                                 .order_by(S.score.desc(), S.alumnus_id).limit(k + 1)).all()
        changes += [dict(sid=sid, new_rank=i + 1 if i < k else 0) for i, (sid, rank) in enumerate(listed)
                    if rank != (i + 1 if i < k else 0)]
    if changes:
        stmt = update(S.__table__).where(S.__table__.c.id == bindparam("sid")).values(rank=bindparam("new_rank"))
        session.execute(stmt, changes)


def _run_version():
    from sqlalchemy import select

    from matcher.models import ScoreRun, Suggestion

    return select(ScoreRun.model_version).where(ScoreRun.id == Suggestion.run_id).scalar_subquery()


def _items(session, found: list[tuple], fields) -> list[dict[str, Any]]:
    """Rows of (suggestion, other, model version) as dicts: ``fields(other)``, score, rank, model, reasons."""
    volunteer = [(s.alumnus_id, s.relationship_id, s.levels) for s, _, _ in found if s.kind == "volunteer"]
    written = iter(volunteer_reasons(session, volunteer, found[0][2]) if volunteer else [])
    return [dict(**fields(other), score=s.score, rank=s.rank, model_version=version,
                 reasons=next(written) if s.kind == "volunteer" else s.contributions)
            for s, other, version in found]


def suggest_volunteers(session, relationship_id: int, top: int = 10) -> list[dict[str, Any]]:
    """Return the stored volunteer list of one relationship, best first, with reasons.

    Examples
    --------
    >>> suggest_volunteers(session, 12, top=1)  # doctest: +SKIP
    [{'relationship_id': 12, 'alumnus_id': 311, 'external_id': 'A-00311', 'alumnus': 'Hana S.', 'home': ...,
      'us_place': ..., 'jp_place': ..., 'score': 7.3, 'rank': 1, 'model_version': 'default', 'reasons': [...]}]
    """
    from sqlalchemy import select

    from matcher.models import Alumnus, Relationship, Suggestion

    rel = session.get(Relationship, relationship_id)
    if rel is None:
        raise LookupError(f"no relationship {relationship_id}")
    q = (select(Suggestion, Alumnus, _run_version()).join(Alumnus, Suggestion.alumnus_id == Alumnus.id)
         .where(Suggestion.kind == "volunteer", Suggestion.relationship_id == relationship_id,
                Alumnus.consent.is_(True))
         .order_by(Suggestion.score.desc(), Suggestion.alumnus_id).limit(top))
    return _items(session, session.execute(q).all(), lambda a: dict(
        relationship_id=rel.id, alumnus_id=a.id, external_id=a.external_id, alumnus=a.display_name, home=a.home,
        us_place=rel.us_label, jp_place=rel.jp_label))


def suggest_relationships(session, external_id: str, top: int = 10) -> list[dict[str, Any]]:
    """Return the stored relationships suggested for one alumnus (by external id), best first.

    Examples
    --------
    >>> suggest_relationships(session, "A-00311", top=1)[0]["reasons"][0]["factor"]  # doctest: +SKIP
    'placement'
    """
    from sqlalchemy import select

    from matcher.models import Alumnus, Relationship, Suggestion

    alum = session.scalars(select(Alumnus).where(Alumnus.external_id == external_id)).first()
    if alum is None:
        raise LookupError(f"no alumnus {external_id}")
    q = (select(Suggestion, Relationship, _run_version())
         .join(Relationship, Suggestion.relationship_id == Relationship.id)
         .where(Suggestion.kind == "volunteer", Suggestion.alumnus_id == alum.id)
         .order_by(Suggestion.score.desc(), Suggestion.relationship_id).limit(top))
    return _items(session, session.execute(q).all(), lambda r: dict(
        relationship_id=r.id, alumnus_id=alum.id, external_id=alum.external_id, us_place=r.us_label,
        jp_place=r.jp_label))


def suggest_partners(session, slug: str, top: int = 10) -> list[dict[str, Any]]:
    """Return the stored relationships suggested to one chapter, best first.

    Examples
    --------
    >>> suggest_partners(session, "jetaa-nw", top=1)[0]["reasons"][0]["factor"]  # doctest: +SKIP
    'members'
    """
    from sqlalchemy import select

    from matcher.models import Chapter, Relationship, Suggestion

    ch = session.scalars(select(Chapter).where(Chapter.slug == slug)).first()
    if ch is None:
        raise LookupError(f"no chapter {slug!r}")
    q = (select(Suggestion, Relationship, _run_version())
         .join(Relationship, Suggestion.relationship_id == Relationship.id)
         .where(Suggestion.kind == "partner", Suggestion.chapter_id == ch.id)
         .order_by(Suggestion.score.desc(), Suggestion.relationship_id).limit(top))
    return _items(session, session.execute(q).all(), lambda r: dict(
        relationship_id=r.id, chapter_id=ch.id, chapter=ch.slug, us_place=r.us_label, jp_place=r.jp_label,
        status=r.status))
