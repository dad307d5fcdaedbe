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
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from matcher.collector import paused
from matcher.names import display_name
from matcher.scoring.comparisons import validate_settings
from matcher.scoring.features import (N_PREF, Alumni, Geography, Relationships, alumnus_codes, placement_table,
                              unit_vectors)

__all__ = ["Pool", "RelationshipSide", "AlumniDetails", "active_model", "model_settings", "load_pool", "load_alumni",
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
    info: dict[str, Any]  # {"rels": {id: ...}, "alumni": AlumniDetails or {id: ...}, "year": ...}
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


_ALUMNUS_COLUMNS = ("id", "home_lat", "home_lon", "home_state_abbr", "japanese_level", "interests",
                    "availability_hours", "max_matches", "chapter_id")  # what scoring reads, in this order
_DETAIL_COLUMNS = ("external_id", "given_name", "family_name", "home")  # and what reasons read besides
_ROLE_CODE = {"CIR": 0, "SEA": 1}
_OTHER_ROLE = 2  # ALT (and anything else)


@functools.cache
def _alumni_query(scoring: bool, by_id: bool):
    """The alumni statement, built once per process (building a Select costs more than running it for a page).

    Columns: :data:`_ALUMNUS_COLUMNS`, the approved matches ``used``, then, only when
    reading by id, :data:`_DETAIL_COLUMNS` (a whole pool's names cost a tenth of a second
    to fetch, and scoring writes no reasons).
    """
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
    columns = [A.__table__.c[name] for name in _ALUMNUS_COLUMNS + (_DETAIL_COLUMNS if by_id else ())]
    q = (select(*columns[:len(_ALUMNUS_COLUMNS)], used_col.label("used"), *columns[len(_ALUMNUS_COLUMNS):])
         .outerjoin(approved, approved.c.alumnus_id == A.id)
         .order_by(A.id))
    if scoring:
        q = q.where(A.consent.is_(True), A.max_matches > used_col)
    if by_id:
        q = q.where(A.id.in_(bindparam("ids", expanding=True)))
    return q


@functools.cache
def _placements_query(by_id: bool):
    """The placements statement, built once per process.

    By id (reasons are written for these alumni) with the municipality's and old names,
    in the order the reasons count them; for a whole pool only the codes and years, in
    table order (the arrays do not depend on the order, and sorting 45,000 rows in NumPy
    costs less than in the query), the codes as integers: municipality (-1 when none),
    prefecture - 1 and the role's code.
    """
    from sqlalchemy import Integer, bindparam, case, cast, func, select

    from matcher import models as m

    P, Al = m.Placement, m.MunicipalityAlias
    if not by_id:  # the codes as the arrays hold them, worked out by the database rather than row by row here
        return select(P.alumnus_id, func.coalesce(cast(P.municipality_code, Integer), -1),
                      cast(P.prefecture_code, Integer) - 1,
                      case(*((P.role == role, code) for role, code in _ROLE_CODE.items()), else_=_OTHER_ROLE),
                      P.start_year, P.end_year)
    codes = (P.alumnus_id, P.municipality_code, P.prefecture_code, P.role, P.start_year, P.end_year)
    return (select(*codes, m.Municipality.name_romaji, Al.name, Al.merged_on)
            .outerjoin(m.Municipality, P.municipality_code == m.Municipality.code)
            .outerjoin(Al, P.alias_id == Al.id)
            .where(P.alumnus_id.in_(bindparam("ids", expanding=True)))
            .order_by(P.alumnus_id, P.start_year))


class AlumniDetails(Mapping):
    """Alumni details for the reasons, by id, read from the database the first time one is asked for.

    Scoring a whole pool writes no reasons (they are written when read), so it does not
    pay for 35,000 names and placement lists; :func:`matcher.scoring.suggestions.explain`
    still can, while the session is open.
    """

    def __init__(self, ids: np.ndarray, load: Callable[[], dict[int, dict[str, Any]]]) -> None:
        self._ids, self._load, self._found = ids, load, None

    def _details(self) -> dict[int, dict[str, Any]]:
        if self._found is None:
            self._found = self._load()
        return self._found

    def __getitem__(self, alumnus_id: int) -> dict[str, Any]:
        return self._details()[alumnus_id]

    def __iter__(self) -> Iterator[int]:
        return iter(self._ids.tolist())

    def __len__(self) -> int:
        return len(self._ids)


def load_alumni(session, side: RelationshipSide, alumnus_ids: list[int] | None = None,
                this_year: int | None = None, scoring: bool = True) -> tuple[Alumni, Mapping[int, dict[str, Any]]]:
    """Read eligible alumni (consent given, capacity left) as arrays plus details for the reasons.

    With ``scoring=False`` (reasons of stored suggestions), read every alumnus in
    ``alumnus_ids`` whatever their consent, and leave out the interest vectors. The details
    of the alumni in ``alumnus_ids`` are read at once; a whole pool's only when first used
    (see :class:`AlumniDetails`).
    """
    this_year = this_year or dt.date.today().year
    by_id = alumnus_ids is not None
    params = {"ids": [int(i) for i in alumnus_ids]} if by_id else {}
    session.flush()
    conn = session.connection()  # Core rows: the ORM's per-row work costs more than the query at 40,000 alumni
    fetch = _rows if by_id else _tuples
    with paused():
        alums = fetch(conn, _alumni_query(scoring, by_id), params)
        found = fetch(conn, _placements_query(by_id), params)
        alumni, at, years = _arrays(alums, found, side, this_year, scoring, coded=not by_id)
    if by_id:
        return alumni, _details(alums, found, at, years, side)
    everyone = alumni.ids.tolist()
    return alumni, AlumniDetails(alumni.ids, lambda: load_alumni(session, side, everyone, this_year, False)[1])


def _rows(conn, statement, params: dict[str, Any]) -> list:
    """The rows of ``statement`` (named, with each column's type applied, dates included)."""
    return conn.execute(statement, params).all()


def _tuples(conn, statement, params: dict[str, Any]) -> list[tuple]:
    """The rows of ``statement`` as the driver's plain tuples, for a statement of numbers and text only.

    Turning 80,000 rows into columns costs five times less from tuples than from
    SQLAlchemy's rows, and these columns need none of its type processing.
    """
    result = conn.execute(statement, params)
    try:
        return result.cursor.fetchall()
    finally:
        result.close()


def _columns(rows: list, width: int) -> list[tuple]:
    """The columns of ``rows`` as tuples (``width`` empty ones when there is no row)."""
    return list(zip(*rows)) if rows else [()] * width


def _arrays(alums: list, found: list, side: RelationshipSide, this_year: int,
            scoring: bool, coded: bool = False) -> tuple[Alumni, np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """Build the :class:`Alumni` arrays from alumni rows and placement rows, in NumPy.

    ``coded``: the placement rows hold the codes as integers already (a whole pool's query).

    Returns the arrays; per placement row, the row of its alumnus (-1 for an alumnus not in
    ``alums``); and each alumnus's years on JET and last year (for the reasons).
    """
    (ids, lat, lon, state, japanese, interests, hours, max_matches, chapter, used,
     *_) = _columns(alums, len(_ALUMNUS_COLUMNS) + 1)
    ids = np.array(ids, np.int64)
    n = ids.size
    p_alum, p_muni, p_pref, p_role, p_start, p_end, *_ = _columns(found, 6)
    p_alum = np.array(p_alum, np.int64)
    at = np.minimum(np.searchsorted(ids, p_alum), max(n - 1, 0))
    mine = ids[at] == p_alum if n else np.zeros(p_alum.size, bool)
    at = np.where(mine, at, -1)
    keep = np.flatnonzero(mine)
    start, end = np.array(p_start, np.int64)[keep], np.array(p_end, np.int64)[keep]
    order = np.lexsort((start, at[keep]))
    keep, rows, start, end = keep[order], at[keep][order], start[order], end[order]
    column = np.arange(rows.size) - np.searchsorted(rows, rows)  # the placement's place in its alumnus's list
    width = int(column.max()) + 1 if rows.size else 1
    muni = np.full((n, width), -1, np.int32)
    if not coded:
        p_muni = [int(c) if c else -1 for c in p_muni]
        p_pref = [int(c) - 1 for c in p_pref]
        p_role = [_ROLE_CODE.get(r, _OTHER_ROLE) for r in p_role]
    muni[rows, column] = np.array(p_muni, np.int32)[keep]
    pref = np.full((n, width), N_PREF, np.int16)
    pref[rows, column] = np.array(p_pref, np.int16)[keep]
    jet_years = np.maximum(1, np.bincount(rows, np.maximum(1, end - start), minlength=n))
    role = np.full(n, _OTHER_ROLE, np.int64)
    np.minimum.at(role, rows, np.array(p_role, np.int64)[keep])
    last_year = np.full(n, 1987, np.int64)
    np.maximum.at(last_year, rows, end)
    state_index = side.state_index
    alumni = Alumni(
        ids=ids, xyz=unit_vectors(np.array(lat, float), np.array(lon, float)).reshape(n, 3),
        state=np.array([state_index.get(s or "", -1) for s in state], np.int16),
        muni=muni, pref=pref,
        codes=alumnus_codes(np.array(japanese, np.int64), jet_years, role, last_year, np.array(hours, np.int64),
                            this_year),
        interests=side.interests(list(interests)) if scoring else None,
        capacity=np.array(max_matches, np.int32) - np.array(used, np.int32),
        chapter=np.array([-1 if c is None else c for c in chapter], np.int64))
    return alumni, at, (jet_years, last_year)


def _details(alums: list, found: list, at: np.ndarray, years: tuple[np.ndarray, np.ndarray],
             side: RelationshipSide) -> dict[int, dict[str, Any]]:
    """Names, home and placements (with old names) of a few alumni, by id, for the reasons."""
    pref_name, region_name = side.pref_name, side.region_name
    placements: list[list[dict[str, Any]]] = [[] for _ in alums]
    for i, (_, muni, pref, role, start, end, muni_name, alias, merged) in zip(at.tolist(), found):
        if i >= 0:
            placements[i].append(dict(muni=muni, pref=pref, role=role, start=start, end=end, muni_name=muni_name,
                                      alias=alias, merged=merged.year if merged else None,
                                      prefecture=pref_name.get(pref, ""), region=region_name.get(pref, "")))
    jet_years, last_year = (y.astype(np.int64).tolist() for y in years)
    info = {}
    for i, a in enumerate(alums):
        info[a.id] = dict(external_id=a.external_id, name=display_name(a.given_name, a.family_name),
                          lat=a.home_lat, lon=a.home_lon, home=a.home, state=a.home_state_abbr,
                          placements=placements[i], japanese_level=a.japanese_level, interests=a.interests,
                          jet_years=jet_years[i], last_year=last_year[i], hours=a.availability_hours,
                          capacity=a.max_matches - a.used, chapter_id=a.chapter_id)
    return info


def load_pool(session, alumnus_ids: list[int] | None = None, this_year: int | None = None,
              fresh: bool = False) -> Pool:
    """Read relationships (cached, see :func:`relationship_side`) and eligible alumni into a :class:`Pool`."""
    this_year = this_year or dt.date.today().year
    side = relationship_side(session, fresh=fresh)
    side.fit_themes()
    alumni, info = load_alumni(session, side, alumnus_ids, this_year)
    return Pool(side.geo, alumni, side.rels, {"rels": side.info, "alumni": info, "year": this_year}, side)
