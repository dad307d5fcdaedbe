"""Stored suggestions: score the pool, explain each pair in sentences, store the lists, and
read them back (volunteers for a committee, relationships for an alum, partners for a chapter).

The array work is :mod:`matcher.scoring`; this module is the database side of it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from matcher.comparisons import ALUMNUS_FACTORS, comparisons
from matcher.features import EARTH_RADIUS_KM, decode_pair, pair_codes, placement_table
from matcher.pool import Pool, active_model, load_pool
from matcher.scoring import Scorer, TopK, score_pool

__all__ = ["explain", "score_all", "rescore_alumnus", "suggest_volunteers", "suggest_relationships",
           "suggest_partners"]

def _placement_level(p: dict, rel: dict, rel_muni: str | None, geo_pref: str) -> int:
    """The placement level of one placement for one relationship (the same rules as the arrays)."""
    if rel["jp_kind"] == "municipality" and p["muni"] and p["muni"] == rel_muni:
        return 0
    if p["pref"] == geo_pref:
        return 0 if rel["jp_kind"] == "prefecture" else 1
    return 5  # neighbour/region: decided by the array code


def _haversine(lat1, lon1, lat2, lon2) -> float:
    import math

    if None in (lat1, lon1, lat2, lon2) or any(math.isnan(x) for x in (lat1, lon1, lat2, lon2)):
        return float("nan")
    p1, l1, p2, l2 = map(math.radians, (lat1, lon1, lat2, lon2))
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin((l2 - l1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(1.0, a)))


def explain(pool: Pool, scorer: Scorer, a: int, r: int, code: int) -> list[dict[str, Any]]:
    """Return the reasons for one pair: [{factor, level, weight, sentence}], weights summing to the score."""
    comps = scorer.comps
    alum = pool.info["alumni"][int(pool.alumni.ids[a])]
    rel = pool.info["rels"][int(pool.rels.ids[r])]
    rel_muni = f"{pool.rels.muni[r]:05d}" if pool.rels.muni[r] >= 0 else None
    rel_pref = f"{pool.rels.pref[r] + 1:02d}"
    levels = dict(zip(("placement", "distance", "themes"), (int(x) for x in decode_pair(int(code)))))
    for f in ALUMNUS_FACTORS:
        levels[f] = int(pool.alumni.codes[f][a])
    ctx: dict[str, Any] = dict(us_place=rel["us_place"], us_state=rel["us_state"], themes=", ".join(rel["themes"]),
                               partner_prefecture=rel["prefecture"], japanese_level=alum["japanese_level"],
                               jet_years=alum["jet_years"], last_year=alum["last_year"], hours=alum["hours"],
                               km=_haversine(alum["lat"], alum["lon"], rel["lat"], rel["lon"]))
    ps = alum["placements"]
    if ps:
        best = min(ps, key=lambda p: (_placement_level(p, rel, rel_muni, rel_pref), p["pref"] != rel_pref))
        named = best["alias"] and rel["jp_name_at_signing"] and best["alias"] == rel["jp_name_at_signing"]
        ctx.update(place=best["alias"] or best["muni_name"] or f"{best['prefecture']} Prefecture",
                   merger=f" (merged into {best['muni_name']} in {best['merged']})" if best["alias"] else "",
                   partner_kind="as named at signing" if named else
                   ("prefecture" if rel["jp_kind"] == "prefecture" else "municipality"),
                   years=f"{best['start']}–{best['end']}", prefecture=best["prefecture"], region=best["region"])
    out = []
    for factor, code_ in levels.items():
        level = comps[factor].levels[code_]
        if level.weight != 0:
            out.append(dict(factor=factor, level=level.name, weight=round(level.weight, 4),
                            sentence=level.describe(**ctx)))
    return out


def _suggestion_rows(pool: Pool, scorer: Scorer, by_col: TopK, by_row: TopK) -> list[dict[str, Any]]:
    """Volunteer suggestion rows: each relationship's list (rank 1..k) and each alumnus's (rank 0 if only there)."""
    rank: dict[tuple[int, int], int] = {}
    for pos, (a, r) in enumerate(zip(by_col.rows.tolist(), by_col.cols.tolist())):
        rank[(a, r)] = 1 if pos == 0 or by_col.cols[pos - 1] != r else rank[prev] + 1
        prev = (a, r)
    scores = {(a, r): s for a, r, s in zip(by_col.rows.tolist(), by_col.cols.tolist(), by_col.scores.tolist())}
    scores.update({(a, r): s for a, r, s in zip(by_row.rows.tolist(), by_row.cols.tolist(), by_row.scores.tolist())})
    codes = {(a, r): c for part in (by_col, by_row)
             for a, r, c in zip(part.rows.tolist(), part.cols.tolist(), part.codes.tolist())}
    rows = []
    for (a, r), s in scores.items():
        code = codes[(a, r)]
        rows.append(dict(kind="volunteer", alumnus_id=int(pool.alumni.ids[a]), relationship_id=int(pool.rels.ids[r]),
                         score=round(float(s), 4), rank=rank.get((a, r), 0), model_version=scorer.version,
                         contributions=explain(pool, scorer, a, r, code)))
    return rows


def _partner_rows(session, pool: Pool, scorer: Scorer, top: int) -> list[dict[str, Any]]:
    """Chapter x relationship suggestions: member ties, distance to the hub, dormancy."""
    from sqlalchemy import select

    from matcher.models import Chapter

    comps = comparisons(scorer.settings)
    radius = float(scorer.settings["partner_radius_km"])
    chapter_of = np.array([pool.info["alumni"][int(i)]["chapter_id"] or -1 for i in pool.alumni.ids], np.int64)
    table = placement_table(pool.geo, pool.rels)
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
            km = _haversine(hub.lat, hub.lon, rel["lat"], rel["lon"]) if hub else float("nan")
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


def score_all(session, top_k: int | None = None, progress: Callable[[Iterable], Iterable] = iter) -> dict[str, Any]:
    """Recompute and store every suggestion (volunteers and partners) with the active model."""
    from sqlalchemy import delete, insert

    from matcher.models import Suggestion

    version, settings = active_model(session)
    scorer = Scorer({**settings, "version": version})
    k = top_k or int(scorer.settings["top_k"])
    pool = load_pool(session)
    timings: dict[str, float] = {}
    by_col, by_row = score_pool(pool.geo, pool.alumni, pool.rels, scorer, k, k, progress=progress, timings=timings)
    rows = _suggestion_rows(pool, scorer, by_col, by_row)
    partners = _partner_rows(session, pool, scorer, max(k, 25))
    session.execute(delete(Suggestion))
    for start in range(0, len(rows) + len(partners), 5000):
        batch = (rows + partners)[start:start + 5000]
        if batch:
            session.execute(insert(Suggestion), [{"chapter_id": None, "alumnus_id": None, **b} for b in batch])
    session.flush()
    return dict(model_version=version, alumni=len(pool.alumni), relationships=len(pool.rels),
                volunteer_suggestions=len(rows), partner_suggestions=len(partners),
                features_s=round(timings.get("features_s", 0), 3), score_s=round(timings.get("score_s", 0), 3))


def rescore_alumnus(session, alumnus_id: int) -> list[dict[str, Any]]:
    """Refresh one alumnus's volunteer suggestions after they edit their profile; return the new rows.

    Their own top-k is replaced; they enter a relationship's list when they beat its k-th
    stored score (the list is re-ranked and trimmed).
    """
    from sqlalchemy import delete, insert, select

    from matcher.models import Suggestion

    version, settings = active_model(session)
    scorer = Scorer({**settings, "version": version})
    k = int(scorer.settings["top_k"])
    session.execute(delete(Suggestion).where(Suggestion.kind == "volunteer", Suggestion.alumnus_id == alumnus_id))
    pool = load_pool(session, alumnus_ids=[alumnus_id])
    if not len(pool.alumni):
        return []
    codes = pair_codes(pool.geo, pool.alumni, pool.rels, scorer.settings)[0]
    scores = scorer.pair_weights[codes] + scorer.alumnus_scores(pool.alumni.codes)[0]
    ok = np.flatnonzero(scorer.eligible[codes])
    kth = {rid: s for rid, s in session.execute(select(Suggestion.relationship_id, Suggestion.score)
                                                 .where(Suggestion.kind == "volunteer", Suggestion.rank == k))}
    order = ok[np.lexsort((ok, -scores[ok]))]
    mine = set(order[:k].tolist())
    enter = {r for r in ok.tolist() if scores[r] > kth.get(int(pool.rels.ids[r]), -np.inf)}
    rows = []
    for r in sorted(mine | enter, key=lambda r: -scores[r]):
        rows.append(dict(kind="volunteer", alumnus_id=alumnus_id, chapter_id=None, relationship_id=int(pool.rels.ids[r]),
                         score=round(float(scores[r]), 4), rank=0, model_version=version,
                         contributions=explain(pool, scorer, 0, r, int(codes[r]))))
    if rows:
        session.execute(insert(Suggestion), rows)
    for r in enter:
        _rerank(session, int(pool.rels.ids[r]), k)
    session.flush()
    return rows


def _rerank(session, relationship_id: int, k: int) -> None:
    from sqlalchemy import select

    from matcher.models import Suggestion

    listed = session.scalars(select(Suggestion).where(Suggestion.kind == "volunteer",
                                                      Suggestion.relationship_id == relationship_id)
                             .order_by(Suggestion.score.desc(), Suggestion.alumnus_id)).all()
    for i, s in enumerate(listed):
        s.rank = i + 1 if i < k else 0


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
