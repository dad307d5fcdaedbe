"""Read what scoring needs from the database: the active model, the relationship side (cached
in the process) and eligible alumni, as :mod:`matcher.scoring.features` arrays plus names for the reasons.

The relationship side — arrays, names, the TF-IDF vectoriser fitted on programme themes and
the placement table — is the same for every alumnus, so :func:`relationship_side` keeps it per
database, keyed on a fingerprint of the relationships table (largest id, count, theme text
length, volunteers wanted). ``jetmatch score`` reloads it; :func:`invalidate` drops it.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from matcher.names import display_name
from matcher.scoring.comparisons import validate_settings
from matcher.scoring.features import (N_PREF, Alumni, Geography, Relationships, alumnus_codes, placement_table,
                              unit_vectors)

__all__ = ["Pool", "RelationshipSide", "active_model", "model_settings", "load_pool", "load_alumni",
           "relationship_side", "invalidate"]


def active_model(session) -> tuple[str, dict[str, Any]]:
    """Return (version, settings) of the active scoring model; the defaults when none is stored."""
    from sqlalchemy import select

    from matcher.scoring.comparisons import default_settings
    from matcher.models import ScoringModel

    model = session.execute(select(ScoringModel.version, ScoringModel.settings)
                            .where(ScoringModel.active.is_(True))).first()
    if model is None:
        return "default", default_settings()
    return model.version, validate_settings({**model.settings, "version": model.version})


@functools.cache
def _settings_query():
    from sqlalchemy import bindparam, select

    from matcher.models import ScoringModel

    return select(ScoringModel.settings).where(ScoringModel.version == bindparam("version"))


def model_settings(session, version: str) -> dict[str, Any]:
    """Return the settings of the model called ``version`` (the defaults for "default" or an unknown one)."""
    stored = session.scalar(_settings_query(), {"version": version})
    return _validated(json.dumps({**(stored or {}), "version": version}, sort_keys=True))


@functools.lru_cache(maxsize=32)
def _validated(settings: str) -> dict[str, Any]:
    """Settings completed from the defaults, once per distinct JSON text (a page reads them every time)."""
    return validate_settings(json.loads(settings))


@dataclass
class RelationshipSide:
    """Relationships as arrays with their details, the fitted theme vectoriser and look-ups."""

    key: tuple
    geo: Geography
    rels: Relationships  # ``rels.themes`` is None until :meth:`fit_themes`
    info: dict[int, dict[str, Any]]  # relationship id -> names and details for reasons
    theme_texts: list[str]  # each relationship's programme themes, for the TF-IDF vectoriser
    table: np.ndarray  # placement_table(geo, rels)
    state_index: dict[str, int]
    pref_name: dict[str, str]
    region_name: dict[str, str]
    memo: dict[Any, Any] = field(default_factory=dict)  # per-model caches kept with this side (reasons)
    vectorizer: Any = None  # fitted TfidfVectorizer once :meth:`fit_themes` ran; None without themes

    def fit_themes(self) -> None:
        """Fit the TF-IDF vectoriser on the programme themes and set ``rels.themes``, once.

        Only scoring needs it: reading reasons back does not, so a web worker never
        imports scikit-learn for a page.
        """
        if "themes_fitted" in self.memo:
            return
        self.vectorizer = vec = _tfidf(self.theme_texts)
        if vec is not None:
            self.rels.themes = np.asarray(vec.transform(self.theme_texts).T.todense(), dtype=np.float32)
        self.memo["themes_fitted"] = True

    def interests(self, texts: list[str]):
        """Return the L2-normalised TF-IDF rows (CSR, float32) of alumni interests; None without themes."""
        if self.vectorizer is None or not texts:
            return None
        return self.vectorizer.transform([t.replace(";", " ") for t in texts]).astype(np.float32).tocsr()


@dataclass
class Pool:
    """Everything scoring needs from the database, as arrays plus look-ups for the reasons."""

    geo: Geography
    alumni: Alumni
    rels: Relationships
    info: dict[str, Any]  # {"rels": {id: ...}, "alumni": {id: ...}, "year": ...}
    side: RelationshipSide | None = None


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


_SIDES: dict[str, RelationshipSide] = {}


@functools.cache
def _fingerprint_query():
    from sqlalchemy import func, select

    from matcher.models import Relationship as R

    return select(func.max(R.id), func.count(), func.sum(func.length(R.themes)), func.sum(R.volunteers_wanted))


def _fingerprint(session) -> tuple:
    url = session.get_bind().engine.url.render_as_string(hide_password=True)
    return (url, *session.execute(_fingerprint_query()).one())


def invalidate() -> None:
    """Forget every cached relationship side (after an import, or when models change)."""
    _SIDES.clear()


def relationship_side(session, fresh: bool = False) -> RelationshipSide:
    """Return the relationship side of the pool, reloading it only when the table changed (or ``fresh``)."""
    key = _fingerprint(session)
    side = _SIDES.get(key[0])
    if fresh or side is None or side.key != key:
        side = _SIDES[key[0]] = _load_side(session, key)
    return side


def _load_side(session, key: tuple) -> RelationshipSide:
    from sqlalchemy import select

    from matcher import models as m

    prefs = session.execute(select(m.Prefecture.code, m.Prefecture.region, m.Prefecture.neighbours,
                                   m.Prefecture.name)).all()
    geo = Geography.from_rows((p.code, p.region, p.neighbours) for p in prefs)
    pref_name = {p.code: p.name for p in prefs}
    region_name = {p.code: p.region for p in prefs}
    states = {s.abbr: s for s in session.execute(select(m.USState.abbr, m.USState.name, m.USState.lat,
                                                       m.USState.lon))}
    state_index = {abbr: i for i, abbr in enumerate(sorted(states))}
    R, P, M = m.Relationship, m.USPlace, m.Municipality
    rows = session.execute(
        select(R.id, R.us_kind, R.us_state_abbr, R.jp_kind, R.jp_municipality_code, R.jp_prefecture_code,
               R.jp_name_at_signing, R.status, R.dormant_since, R.themes, R.volunteers_wanted,
               P.name.label("place_name"), P.state_abbr.label("place_state"), P.lat, P.lon, M.name_romaji)
        .outerjoin(P, R.us_place_id == P.id).outerjoin(M, R.jp_municipality_code == M.code)
        .order_by(R.id)).all()
    info, lat, lon = {}, [], []
    for r in rows:
        st = states.get(r.us_state_abbr)
        has_place = r.place_name is not None
        lat.append(r.lat if has_place else (st.lat if st else np.nan))
        lon.append(r.lon if has_place else (st.lon if st else np.nan))
        pref = pref_name.get(r.jp_prefecture_code, "")
        info[r.id] = dict(
            us_place=f"{r.place_name}, {r.place_state}" if has_place else (st.name if st else r.us_state_abbr),
            us_state=st.name if st else r.us_state_abbr, us_state_abbr=r.us_state_abbr,
            jp_place=f"{r.name_romaji}, {pref}" if r.name_romaji else f"{pref or r.jp_prefecture_code} Prefecture",
            jp_name=r.name_romaji or pref, jp_name_at_signing=r.jp_name_at_signing, prefecture=pref,
            region=region_name.get(r.jp_prefecture_code, ""), jp_kind=r.jp_kind,
            themes=[t.strip() for t in r.themes.split(";") if t.strip()], status=r.status,
            dormant_since=r.dormant_since, lat=lat[-1], lon=lon[-1], wanted=r.volunteers_wanted)
    rels = Relationships(
        ids=np.array([r.id for r in rows], np.int64), xyz=unit_vectors(lat, lon).reshape(len(rows), 3),
        state=np.array([state_index.get(r.us_state_abbr, -1) for r in rows], np.int16),
        is_state=np.array([r.us_kind == "state" for r in rows], bool),
        muni=np.array([int(r.jp_municipality_code) if r.jp_kind == "municipality" and r.jp_municipality_code
                       else -1 for r in rows], np.int32),
        pref=np.array([int(r.jp_prefecture_code) - 1 for r in rows], np.int16),
        wanted=np.array([r.volunteers_wanted for r in rows], np.int32))
    return RelationshipSide(key, geo, rels, info, [r.themes.replace(";", " ") for r in rows],
                            placement_table(geo, rels), state_index, pref_name, region_name)


@functools.cache
def _alumni_query(scoring: bool, by_id: bool):
    """The alumni statement, built once per process (building a Select costs more than running it for a page)."""
    from sqlalchemy import bindparam, func, select

    from matcher import models as m

    A = m.Alumnus
    approved = (select(m.MatchRequest.alumnus_id, func.count().label("n"))
                .where(m.MatchRequest.status == "approved", m.MatchRequest.alumnus_id.is_not(None))
                .group_by(m.MatchRequest.alumnus_id))
    if by_id:
        approved = approved.where(m.MatchRequest.alumnus_id.in_(bindparam("ids", expanding=True)))
    approved = approved.subquery()
    used_col = func.coalesce(approved.c.n, 0)
    q = (select(A.id, A.external_id, A.given_name, A.family_name, A.home, A.home_lat, A.home_lon, A.home_state_abbr, A.japanese_level,
                A.interests, A.availability_hours, A.max_matches, A.chapter_id, used_col.label("used"))
         .outerjoin(approved, approved.c.alumnus_id == A.id)
         .order_by(A.id))
    if scoring:
        q = q.where(A.consent.is_(True), A.max_matches > used_col)
    if by_id:
        q = q.where(A.id.in_(bindparam("ids", expanding=True)))
    return q


@functools.cache
def _placements_query(by_id: bool):
    """The placements statement (with municipality and old names), built once per process."""
    from sqlalchemy import bindparam, select

    from matcher import models as m

    P, Al = m.Placement, m.MunicipalityAlias
    pq = (select(P.alumnus_id, P.municipality_code, P.prefecture_code, P.role, P.start_year, P.end_year,
                 m.Municipality.name_romaji, Al.name, Al.merged_on)
          .outerjoin(m.Municipality, P.municipality_code == m.Municipality.code)
          .outerjoin(Al, P.alias_id == Al.id).order_by(P.alumnus_id, P.start_year))
    if by_id:
        pq = pq.where(P.alumnus_id.in_(bindparam("ids", expanding=True)))
    return pq


def load_alumni(session, side: RelationshipSide, alumnus_ids: list[int] | None = None,
                this_year: int | None = None, scoring: bool = True) -> tuple[Alumni, dict[int, dict[str, Any]]]:
    """Read eligible alumni (consent given, capacity left) as arrays plus details for the reasons.

    With ``scoring=False`` (reasons of stored suggestions), read every alumnus in
    ``alumnus_ids`` whatever their consent, and leave out the interest vectors.
    """
    this_year = this_year or dt.date.today().year
    params = {} if alumnus_ids is None else {"ids": list(alumnus_ids)}
    session.flush()
    conn = session.connection()  # Core rows: the ORM's per-row work costs more than the query at 40,000 alumni
    alums = conn.execute(_alumni_query(scoring, alumnus_ids is not None), params).all()
    placements: dict[int, list] = {a.id: [] for a in alums}
    found = conn.execute(_placements_query(alumnus_ids is not None), params).all()
    pref_name, region_name = side.pref_name, side.region_name
    for aid, muni, pref, role, start, end, muni_name, alias, merged in found:
        mine = placements.get(aid)
        if mine is not None:
            mine.append(dict(muni=muni, pref=pref, role=role, start=start, end=end, muni_name=muni_name,
                             alias=alias, merged=merged.year if merged else None,
                             prefecture=pref_name.get(pref, ""), region=region_name.get(pref, "")))
    n = len(alums)
    width = max([1] + [len(v) for v in placements.values()])
    muni = np.full((n, width), -1, np.int32)
    pref = np.full((n, width), N_PREF, np.int16)
    jet_years, role, last_year = np.ones(n), np.full(n, 2), np.full(n, 1987)
    info = {}
    for i, a in enumerate(alums):
        ps = placements[a.id]
        for j, p in enumerate(ps):
            muni[i, j] = int(p["muni"]) if p["muni"] else -1
            pref[i, j] = int(p["pref"]) - 1
        if ps:
            jet_years[i] = max(1, sum(max(1, p["end"] - p["start"]) for p in ps))
            roles = {p["role"] for p in ps}
            role[i] = 0 if "CIR" in roles else 1 if "SEA" in roles else 2
            last_year[i] = max(p["end"] for p in ps)
        info[a.id] = dict(external_id=a.external_id, name=display_name(a.given_name, a.family_name), lat=a.home_lat, lon=a.home_lon,
                          home=a.home, state=a.home_state_abbr, placements=ps, japanese_level=a.japanese_level,
                          interests=a.interests,
                          jet_years=int(jet_years[i]), last_year=int(last_year[i]), hours=a.availability_hours,
                          capacity=a.max_matches - a.used, chapter_id=a.chapter_id)
    alumni = Alumni(
        ids=np.array([a.id for a in alums], np.int64),
        xyz=unit_vectors([np.nan if a.home_lat is None else a.home_lat for a in alums],
                         [np.nan if a.home_lon is None else a.home_lon for a in alums]).reshape(n, 3),
        state=np.array([side.state_index.get(a.home_state_abbr or "", -1) for a in alums], np.int16),
        muni=muni, pref=pref,
        codes=alumnus_codes([a.japanese_level for a in alums], jet_years, role, last_year,
                            [a.availability_hours for a in alums], this_year),
        interests=side.interests([a.interests for a in alums]) if scoring else None,
        capacity=np.array([a.max_matches - a.used for a in alums], np.int32))
    return alumni, info


def load_pool(session, alumnus_ids: list[int] | None = None, this_year: int | None = None,
              fresh: bool = False) -> Pool:
    """Read relationships (cached, see :func:`relationship_side`) and eligible alumni into a :class:`Pool`."""
    this_year = this_year or dt.date.today().year
    side = relationship_side(session, fresh=fresh)
    side.fit_themes()
    alumni, info = load_alumni(session, side, alumnus_ids, this_year)
    return Pool(side.geo, alumni, side.rels, {"rels": side.info, "alumni": info, "year": this_year}, side)
