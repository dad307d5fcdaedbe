"""Read what scoring needs from the database: the active model, and relationships and
eligible alumni as :mod:`matcher.features` arrays plus names for the reasons."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from matcher.comparisons import validate_settings
from matcher.features import N_PREF, Alumni, Geography, Relationships, alumnus_codes, unit_vectors

__all__ = ["Pool", "active_model", "load_pool"]

def active_model(session) -> tuple[str, dict[str, Any]]:
    """Return (version, settings) of the active scoring model; the defaults when none is stored."""
    from sqlalchemy import select

    from matcher.comparisons import default_settings
    from matcher.models import ScoringModel

    model = session.scalars(select(ScoringModel).where(ScoringModel.active.is_(True))).first()
    if model is None:
        return "default", default_settings()
    return model.version, validate_settings({**model.settings, "version": model.version})


@dataclass
class Pool:
    """Everything scoring needs from the database, as arrays plus look-ups for the reasons."""

    geo: Geography
    alumni: Alumni
    rels: Relationships
    info: dict[str, Any]  # names and details for explanations, keyed by id


def _tfidf(themes: list[str]):
    """Fit TF-IDF on the relationships' programme themes; None when no relationship has any."""
    if not any(t.strip() for t in themes):
        return None
    from sklearn.feature_extraction.text import TfidfVectorizer

    vec = TfidfVectorizer(token_pattern=r"(?u)\b[a-zA-Z]{3,}\b", stop_words="english", dtype=np.float32)
    try:
        vec.fit(themes)
    except ValueError:
        return None
    return vec


def load_pool(session, alumnus_ids: list[int] | None = None, this_year: int | None = None) -> Pool:
    """Read relationships and eligible alumni (consent given, capacity left) into a :class:`Pool`."""
    import datetime as dt

    from sqlalchemy import func, select

    from matcher import models as m

    this_year = this_year or dt.date.today().year
    prefs = session.execute(select(m.Prefecture.code, m.Prefecture.region, m.Prefecture.neighbours,
                                   m.Prefecture.name)).all()
    geo = Geography.from_rows((p.code, p.region, p.neighbours) for p in prefs)
    pref_name = {p.code: p.name for p in prefs}
    region_name = {p.code: p.region for p in prefs}
    states = {s.abbr: s for s in session.scalars(select(m.USState))}
    state_index = {abbr: i for i, abbr in enumerate(sorted(states))}
    rel_rows = session.execute(
        select(m.Relationship, m.USPlace, m.Municipality)
        .outerjoin(m.USPlace, m.Relationship.us_place_id == m.USPlace.id)
        .outerjoin(m.Municipality, m.Relationship.jp_municipality_code == m.Municipality.code)
        .order_by(m.Relationship.id)).all()
    rel_info = {}
    lat, lon = [], []
    for rel, place, muni in rel_rows:
        st = states.get(rel.us_state_abbr)
        lat.append(place.lat if place else (st.lat if st else np.nan))
        lon.append(place.lon if place else (st.lon if st else np.nan))
        rel_info[rel.id] = dict(
            us_place=place.label if place else (st.name if st else rel.us_state_abbr),
            us_state=st.name if st else rel.us_state_abbr, us_state_abbr=rel.us_state_abbr,
            jp_place=(f"{muni.name_romaji}, {pref_name.get(rel.jp_prefecture_code, '')}" if muni
                      else f"{pref_name.get(rel.jp_prefecture_code, rel.jp_prefecture_code)} Prefecture"),
            jp_name=muni.name_romaji if muni else pref_name.get(rel.jp_prefecture_code, ""),
            jp_name_at_signing=rel.jp_name_at_signing, prefecture=pref_name.get(rel.jp_prefecture_code, ""),
            region=region_name.get(rel.jp_prefecture_code, ""), jp_kind=rel.jp_kind,
            themes=rel.theme_list, status=rel.status, dormant_since=rel.dormant_since,
            lat=lat[-1], lon=lon[-1], wanted=rel.volunteers_wanted)
    rels_ = [r for r, _, _ in rel_rows]
    vec = _tfidf([r.themes.replace(";", " ") for r in rels_])
    themes = None
    if vec is not None:
        t = vec.transform([r.themes.replace(";", " ") for r in rels_])
        themes = np.asarray(t.T.todense(), dtype=np.float32)
    rels = Relationships(
        ids=np.array([r.id for r in rels_], np.int64), xyz=unit_vectors(lat, lon),
        state=np.array([state_index.get(r.us_state_abbr, -1) for r in rels_], np.int16),
        is_state=np.array([r.us_kind == "state" for r in rels_], bool),
        muni=np.array([int(r.jp_municipality_code) if r.jp_kind == "municipality" and r.jp_municipality_code
                       else -1 for r in rels_], np.int32),
        pref=np.array([int(r.jp_prefecture_code) - 1 for r in rels_], np.int16),
        themes=themes, wanted=np.array([r.volunteers_wanted for r in rels_], np.int32))

    approved = (select(m.MatchRequest.alumnus_id, func.count().label("n"))
                .where(m.MatchRequest.status == "approved", m.MatchRequest.alumnus_id.is_not(None))
                .group_by(m.MatchRequest.alumnus_id).subquery())
    q = (select(m.Alumnus, func.coalesce(approved.c.n, 0))
         .outerjoin(approved, approved.c.alumnus_id == m.Alumnus.id)
         .where(m.Alumnus.consent.is_(True), m.Alumnus.max_matches > func.coalesce(approved.c.n, 0))
         .order_by(m.Alumnus.id))
    if alumnus_ids is not None:
        q = q.where(m.Alumnus.id.in_(alumnus_ids))
    alum_rows = session.execute(q).all()
    ids = [a.id for a, _ in alum_rows]
    placements: dict[int, list] = {i: [] for i in ids}
    pq = (select(m.Placement, m.Municipality.name_romaji, m.MunicipalityAlias.name, m.MunicipalityAlias.merged_on)
          .outerjoin(m.Municipality, m.Placement.municipality_code == m.Municipality.code)
          .outerjoin(m.MunicipalityAlias, m.Placement.alias_id == m.MunicipalityAlias.id)
          .order_by(m.Placement.alumnus_id, m.Placement.start_year))
    if alumnus_ids is not None:
        pq = pq.where(m.Placement.alumnus_id.in_(ids))
    for p, muni_name, alias_name, merged_on in session.execute(pq):
        if p.alumnus_id in placements:
            placements[p.alumnus_id].append(dict(
                muni=p.municipality_code, pref=p.prefecture_code, role=p.role, start=p.start_year, end=p.end_year,
                muni_name=muni_name, alias=alias_name, merged=merged_on.year if merged_on else None,
                prefecture=pref_name.get(p.prefecture_code, ""), region=region_name.get(p.prefecture_code, "")))
    width = max([1] + [len(v) for v in placements.values()])
    n = len(ids)
    muni = np.full((n, width), -1, np.int32)
    pref = np.full((n, width), N_PREF, np.int16)
    jet_years, role, last_year = np.ones(n), np.full(n, 2), np.full(n, 1987)
    alum_info = {}
    for i, (a, used) in enumerate(alum_rows):
        ps = placements[a.id]
        for j, p in enumerate(ps):
            muni[i, j] = int(p["muni"]) if p["muni"] else -1
            pref[i, j] = int(p["pref"]) - 1
        if ps:
            jet_years[i] = max(1, sum(max(1, p["end"] - p["start"]) for p in ps))
            roles = {p["role"] for p in ps}
            role[i] = 0 if "CIR" in roles else 1 if "SEA" in roles else 2
            last_year[i] = max(p["end"] for p in ps)
        alum_info[a.id] = dict(external_id=a.external_id, name=a.display_name, lat=a.home_lat, lon=a.home_lon,
                               home=a.home, state=a.home_state_abbr, placements=ps, japanese_level=a.japanese_level,
                               jet_years=int(jet_years[i]), last_year=int(last_year[i]),
                               hours=a.availability_hours, capacity=a.max_matches - used, chapter_id=a.chapter_id)
    alums = [a for a, _ in alum_rows]
    interests = None
    if vec is not None and n:
        interests = vec.transform([a.interests.replace(";", " ") for a in alums]).astype(np.float32).tocsr()
    alumni = Alumni(
        ids=np.array(ids, np.int64),
        xyz=unit_vectors([a.home_lat if a.home_lat is not None else np.nan for a in alums],
                         [a.home_lon if a.home_lon is not None else np.nan for a in alums]).reshape(n, 3),
        state=np.array([state_index.get(a.home_state_abbr or "", -1) for a in alums], np.int16),
        muni=muni, pref=pref,
        codes=alumnus_codes([a.japanese_level for a in alums], jet_years, role, last_year,
                            [a.availability_hours for a in alums], this_year),
        interests=interests, capacity=np.array([a.max_matches - used for a, used in alum_rows], np.int32))
    return Pool(geo, alumni, rels, {"rels": rel_info, "alumni": alum_info, "year": this_year})
