"""Stored suggestions: score the pool, explain each pair in sentences, store the lists, and
read them back (volunteers for a committee, relationships for an alum, partners for a chapter).

The array work is :mod:`matcher.scoring.scorer`; this module is the database side of it.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from typing import Any

import numpy as np

from matcher.scoring.comparisons import comparisons
from matcher.geo import haversine_km
from matcher.scoring.features import pair_codes
from matcher.scoring.pool import Pool, active_model, load_pool
from matcher.scoring.reasons import ReasonWriter
from matcher.scoring.scorer import Scorer, TopK, score_pool

__all__ = ["explain", "score_all", "rescore_alumnus", "suggest_volunteers", "suggest_relationships",
           "suggest_partners"]

_BATCH = 20_000  # pairs explained and inserted per round trip
_COLUMNS = ("kind", "alumnus_id", "chapter_id", "relationship_id", "score", "rank", "contributions",
            "model_version", "created_at")


def _insert(session, rows: list[tuple]) -> None:
    """Insert suggestion rows (tuples in :data:`_COLUMNS` order, reasons as JSON text) with one executemany.

    The statement goes to the driver as written: per-row parameter processing costs more
    than the insert itself at 400,000 rows. ``created_at`` is passed through the column type once.
    """
    if not rows:
        return
    from matcher.models import Suggestion

    conn = session.connection()
    dialect = conn.dialect
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    json_mark = f"CAST({mark} AS JSON)" if dialect.name == "postgresql" else mark
    sql = (f"INSERT INTO {Suggestion.__tablename__} ({', '.join(_COLUMNS)}) VALUES "
           f"({', '.join(json_mark if c == 'contributions' else mark for c in _COLUMNS)})")
    conn.exec_driver_sql(sql, rows)


def _now(session):
    """The current time as the driver wants it for ``suggestions.created_at``."""
    import datetime as dt

    from matcher.models import Suggestion

    dialect = session.connection().dialect
    process = Suggestion.__table__.c.created_at.type.dialect_impl(dialect).bind_processor(dialect)
    now = dt.datetime.now(dt.timezone.utc)
    return process(now) if process else now


_SCORERS: dict[str, Scorer] = {}


def _scorer(version: str, settings: dict[str, Any]) -> Scorer:
    """The :class:`Scorer` of a model, built once per process for the same settings."""
    key = json.dumps({**settings, "version": version}, sort_keys=True)
    scorer = _SCORERS.get(key)
    if scorer is None:
        if len(_SCORERS) > 8:
            _SCORERS.clear()
        scorer = _SCORERS[key] = Scorer({**settings, "version": version})
    return scorer


def _writer(pool: Pool, scorer: Scorer) -> ReasonWriter:
    """The reason writer of this model, kept with the (cached) relationship side, set to the pool's alumni."""
    key = ("reasons", scorer.version, json.dumps(scorer.settings["weights"], sort_keys=True))
    shared = pool.side.memo.get(key)
    if shared is None:
        shared = pool.side.memo[key] = ReasonWriter(scorer, pool.side)
    writer = copy.copy(shared)  # shares the relationship pieces; the alumni are this call's own (threads)
    writer.set_alumni(pool.alumni.ids, pool.info["alumni"], pool.alumni.codes)
    return writer


def explain(pool: Pool, scorer: Scorer, a: int, r: int, code: int) -> list[dict[str, Any]]:
    """Return the reasons for one pair: [{factor, level, weight, sentence}], weights summing to the score."""
    text = _writer(pool, scorer).pairs(np.array([a]), np.array([r]), np.array([code]), pool.alumni.muni,
                                       pool.alumni.pref)[0]
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


def _store_volunteers(session, pool: Pool, scorer: Scorer, pairs: TopK,
                      progress: Callable[[Iterable], Iterable] = iter) -> None:
    """Explain and insert the volunteer rows in batches (Core executemany, reasons as JSON text)."""
    writer, now, version = _writer(pool, scorer), _now(session), scorer.version
    alum_ids, rel_ids = pool.alumni.ids, pool.rels.ids
    for start in progress(range(0, pairs.rows.size, _BATCH)):
        part = pairs.take(slice(start, start + _BATCH))
        texts = writer.pairs(part.rows, part.cols, part.codes, pool.alumni.muni, pool.alumni.pref)
        _insert(session, [("volunteer", a, None, r, s, k, t, version, now)
                          for a, r, s, k, t in zip(alum_ids[part.rows].tolist(), rel_ids[part.cols].tolist(),
                                                   np.round(part.scores.astype(np.float64), 4).tolist(),
                                                   part.ranks.tolist(), texts)])


def _partner_rows(session, pool: Pool, scorer: Scorer, top: int) -> list[dict[str, Any]]:
    """Chapter x relationship suggestions: member ties, distance to the hub, dormancy."""
    from sqlalchemy import select

    from matcher.models import Chapter

    comps = comparisons(scorer.settings)
    radius = float(scorer.settings["partner_radius_km"])
    chapter_of = np.array([pool.info["alumni"][int(i)]["chapter_id"] or -1 for i in pool.alumni.ids], np.int64)
    table = pool.side.table
    rows = []
    for ch in session.scalars(select(Chapter).order_by(Chapter.id)):
        members = np.flatnonzero(chapter_of == ch.id)
        n_partner = np.zeros(len(pool.rels), int)
        n_ties = np.zeros(len(pool.rels), int)
        if members.size:
            place = pair_codes(pool.geo, pool.alumni.take(members), pool.rels, scorer.settings, table) // 18
            n_partner, n_ties = (place == 0).sum(0), (place <= 1).sum(0)
        hub = ch.hub_place
        found = []
        for r, rid in enumerate(pool.rels.ids.tolist()):
            rel = pool.info["rels"][rid]
            km = float(haversine_km(hub.lat, hub.lon, rel["lat"], rel["lon"])) if hub else float("nan")
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
            found.append((round(sum(x["weight"] for x in reasons), 4), rid, reasons))
        found.sort(key=lambda t: (-t[0], t[1]))
        rows += [dict(kind="partner", chapter_id=ch.id, relationship_id=rid, score=s, rank=i + 1,
                      model_version=scorer.version, contributions=reasons)
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


def score_all(session, top_k: int | None = None, progress: Callable[[Iterable], Iterable] = iter) -> dict[str, Any]:
    """Recompute and store every suggestion (volunteers and partners) with the active model.

    ``progress`` wraps the batches of suggestions being explained and stored (a progress bar).
    The relationship side is reloaded (and re-cached for :func:`rescore_alumnus`).
    """
    from sqlalchemy import delete

    from matcher.models import Suggestion

    version, settings = active_model(session)
    scorer = _scorer(version, settings)
    k = top_k or int(scorer.settings["top_k"])
    pool = load_pool(session, fresh=True)
    timings: dict[str, float] = {}
    by_col, by_row = score_pool(pool.geo, pool.alumni, pool.rels, scorer, k, k, timings=timings)
    pairs = _volunteer_pairs(by_col, by_row, len(pool.rels))
    partners = _partner_rows(session, pool, scorer, max(k, 25))
    with _page_cache(session):
        session.execute(delete(Suggestion.__table__))
        _store_volunteers(session, pool, scorer, pairs, progress)
        now = _now(session)
        _insert(session, [("partner", None, p["chapter_id"], p["relationship_id"], p["score"], p["rank"],
                           json.dumps(p["contributions"], ensure_ascii=False), p["model_version"], now)
                          for p in partners])
    session.flush()
    return dict(model_version=version, alumni=len(pool.alumni), relationships=len(pool.rels),
                volunteer_suggestions=int(pairs.rows.size), partner_suggestions=len(partners),
                features_s=round(timings.get("features_s", 0), 3), score_s=round(timings.get("score_s", 0), 3))


def rescore_alumnus(session, alumnus_id: int) -> list[dict[str, Any]]:
    """Refresh one alumnus's volunteer suggestions after they edit their profile; return the new rows.

    Their own top-k is replaced; they enter a relationship's list when they beat its k-th
    stored score, and every list they entered or left is re-ranked. The relationship side
    and the model come from the process caches, so this is one alumnus's row of NumPy and a
    handful of indexed statements.
    """
    from sqlalchemy import delete, select

    from matcher.models import Suggestion as S

    version, settings = active_model(session)
    scorer = _scorer(version, settings)
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
        texts = _writer(pool, scorer).pairs(np.zeros(chosen.size, np.int64), chosen, codes[chosen],
                                            pool.alumni.muni, pool.alumni.pref)
        rows = [dict(kind="volunteer", alumnus_id=alumnus_id, chapter_id=None, relationship_id=int(pool.rels.ids[r]),
                     score=round(float(scores[r]), 4), rank=0, contributions=t, model_version=version)
                for r, t in zip(chosen.tolist(), texts)]
        now = _now(session)
        _insert(session, [(*row.values(), now) for row in rows])
    _rerank(session, set(was_listed) | {int(pool.rels.ids[r]) for r in enter}, k)
    session.flush()
    for row in rows:
        row["contributions"] = json.loads(row["contributions"])
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


def _item(s, rel: dict[str, Any] | None = None) -> dict[str, Any]:
    return dict(score=s.score, rank=s.rank, model_version=s.model_version, reasons=s.contributions)


def suggest_volunteers(session, relationship_id: int, top: int = 10) -> list[dict[str, Any]]:
    """Return the stored volunteer list of one relationship, best first, with reasons."""
    from sqlalchemy import select

    from matcher.models import Alumnus, Relationship, Suggestion

    rel = session.get(Relationship, relationship_id)
    if rel is None:
        raise LookupError(f"no relationship {relationship_id}")
    q = (select(Suggestion, Alumnus).join(Alumnus, Suggestion.alumnus_id == Alumnus.id)
         .where(Suggestion.kind == "volunteer", Suggestion.relationship_id == relationship_id,
                Alumnus.consent.is_(True))
         .order_by(Suggestion.score.desc(), Suggestion.alumnus_id).limit(top))
    return [dict(relationship_id=rel.id, alumnus_id=a.id, external_id=a.external_id, alumnus=a.display_name,
                 home=a.home, us_place=rel.us_label, jp_place=rel.jp_label, **_item(s))
            for s, a in session.execute(q)]


def suggest_relationships(session, external_id: str, top: int = 10) -> list[dict[str, Any]]:
    """Return the stored relationships suggested for one alumnus (by external id), best first."""
    from sqlalchemy import select

    from matcher.models import Alumnus, Relationship, Suggestion

    alum = session.scalars(select(Alumnus).where(Alumnus.external_id == external_id)).first()
    if alum is None:
        raise LookupError(f"no alumnus {external_id}")
    q = (select(Suggestion, Relationship).join(Relationship, Suggestion.relationship_id == Relationship.id)
         .where(Suggestion.kind == "volunteer", Suggestion.alumnus_id == alum.id)
         .order_by(Suggestion.score.desc(), Suggestion.relationship_id).limit(top))
    return [dict(relationship_id=r.id, alumnus_id=alum.id, external_id=alum.external_id, us_place=r.us_label,
                 jp_place=r.jp_label, **_item(s)) for s, r in session.execute(q)]


def suggest_partners(session, slug: str, top: int = 10) -> list[dict[str, Any]]:
    """Return the stored relationships suggested to one chapter, best first."""
    from sqlalchemy import select

    from matcher.models import Chapter, Relationship, Suggestion

    ch = session.scalars(select(Chapter).where(Chapter.slug == slug)).first()
    if ch is None:
        raise LookupError(f"no chapter {slug!r}")
    q = (select(Suggestion, Relationship).join(Relationship, Suggestion.relationship_id == Relationship.id)
         .where(Suggestion.kind == "partner", Suggestion.chapter_id == ch.id)
         .order_by(Suggestion.score.desc(), Suggestion.relationship_id).limit(top))
    return [dict(relationship_id=r.id, chapter_id=ch.id, chapter=ch.slug, us_place=r.us_label, jp_place=r.jp_label,
                 status=r.status, **_item(s)) for s, r in session.execute(q)]
