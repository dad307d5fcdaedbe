"""Vectorised scoring: level codes per pair, a weight look-up, and top-k with a threshold prefilter.

Feature arrays are small integer level codes, never per-pair Python:

* one ``uint8`` *pair code* per alumnus x relationship, the product code
  ``placement * 18 + distance * 3 + themes`` of the three pair comparisons (decode with
  :func:`decode_pair`), built in chunks of alumni;
* one ``uint8`` code per alumnus for each alumnus factor (Japanese, years, role, recency,
  availability): these add the same amount to every relationship.

A score is ``pair_weights[pair_code] + alumnus_score``. Top-k runs first on a ``uint8``
quantised copy of the scores (a prefilter whose threshold is the k-th largest of block
maxima, widened by the quantisation error), and only the survivors are scored exactly
and sorted, so the result is the exact top-k. Ties break towards the lower alumnus index.
"""

from __future__ import annotations

import time

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from matcher.comparisons import ALUMNUS_FACTORS, comparisons, validate_settings

__all__ = [
    "EARTH_RADIUS_KM",
    "Geography",
    "Alumni",
    "Relationships",
    "Scorer",
    "TopK",
    "unit_vectors",
    "placement_table",
    "pair_codes",
    "decode_pair",
    "alumnus_codes",
    "score_pool",
    "top_k_chunk",
]

EARTH_RADIUS_KM = 6371.0088
N_PREF = 47  # prefecture index = int(JIS code) - 1; index 47 = no prefecture
DIST_KM = (25.0, 80.0, 200.0)


def unit_vectors(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Return float64 unit vectors (n, 3); NaN rows where the place is unknown.

    Great-circle distance bands are compared as dot products in float64 (exact to far
    below a metre at 25 km, unlike float32 ``arccos``).
    """
    la, lo = np.radians(np.asarray(lat, float)), np.radians(np.asarray(lon, float))
    return np.stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)], axis=1)


@dataclass
class Geography:
    """Prefecture regions and adjacency, indexed by ``int(code) - 1``."""

    region: np.ndarray  # int16 (47,)
    neighbours: np.ndarray  # bool (47, 47)

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[str, str, str]]) -> Geography:
        """Build from (code, region, "43;45") rows."""
        region = np.full(N_PREF, -1, np.int16)
        neighbours = np.zeros((N_PREF, N_PREF), bool)
        names: dict[str, int] = {}
        for code, reg, neigh in rows:
            i = int(code) - 1
            region[i] = names.setdefault(reg, len(names))
            for n in filter(None, neigh.split(";")):
                neighbours[i, int(n) - 1] = neighbours[int(n) - 1, i] = True
        return cls(region, neighbours)


@dataclass
class Alumni:
    """Eligible alumni as arrays (consent given, capacity left)."""

    ids: np.ndarray  # int64 (A,)
    xyz: np.ndarray  # float64 (A, 3), NaN if home unknown
    state: np.ndarray  # int16 (A,), -1 unknown
    muni: np.ndarray  # int32 (A, P): JIS code as int, -1 none
    pref: np.ndarray  # int16 (A, P): prefecture index, 47 none
    codes: dict[str, np.ndarray]  # alumnus factor -> uint8 (A,)
    interests: sp.csr_matrix | None = None  # (A, V) float32, rows L2-normalised
    capacity: np.ndarray | None = None  # int32 (A,)

    def __len__(self) -> int:
        return len(self.ids)

    def take(self, rows) -> Alumni:
        """Return the alumni at ``rows`` (a slice or index array)."""
        return Alumni(self.ids[rows], self.xyz[rows], self.state[rows], self.muni[rows], self.pref[rows],
                      {k: v[rows] for k, v in self.codes.items()},
                      None if self.interests is None else self.interests[rows],
                      None if self.capacity is None else self.capacity[rows])


@dataclass
class Relationships:
    """Relationships as arrays; ``muni`` is -1 for a prefecture-level tie."""

    ids: np.ndarray  # int64 (R,)
    xyz: np.ndarray  # float64 (R, 3) of the US side
    state: np.ndarray  # int16 (R,)
    is_state: np.ndarray  # bool (R,): the US side is a whole state
    muni: np.ndarray  # int32 (R,)
    pref: np.ndarray  # int16 (R,)
    themes: np.ndarray | None = None  # float32 (V, R), columns L2-normalised
    wanted: np.ndarray | None = None  # int32 (R,)

    def __len__(self) -> int:
        return len(self.ids)


def placement_table(geo: Geography, rels: Relationships) -> np.ndarray:
    """Return the placement level (uint8, shape (48, R)) of a placement in each prefecture.

    The top level (0, partner) comes from this table only for a prefecture-level tie;
    for a municipality tie it is set by :func:`_exact_pairs`.
    """
    p = np.arange(N_PREF)[:, None]
    r = rels.pref[None, :].astype(np.intp)
    table = np.full((N_PREF + 1, len(rels)), 4, np.uint8)
    same_region = geo.region[p] == geo.region[r]
    table[:N_PREF][same_region] = 3
    table[:N_PREF][geo.neighbours[p, r]] = 2
    same = p == r
    table[:N_PREF][same] = 1
    table[:N_PREF][same & (rels.muni[None, :] < 0)] = 0
    return table


def _exact_pairs(muni: np.ndarray, rel_muni: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return (row, column) of every placement in a relationship's partner municipality."""
    cols = np.flatnonzero(rel_muni >= 0)
    order = np.argsort(rel_muni[cols], kind="stable")
    keys, cols = rel_muni[cols][order], cols[order]
    flat = muni.ravel()
    lo, hi = np.searchsorted(keys, flat, "left"), np.searchsorted(keys, flat, "right")
    count = np.where(flat >= 0, hi - lo, 0)
    total = int(count.sum())
    if total == 0:
        return np.empty(0, np.intp), np.empty(0, np.intp)
    rows = np.repeat(np.arange(flat.size) // muni.shape[1], count)
    offsets = np.arange(total) - np.repeat(np.cumsum(count) - count, count)
    return rows, cols[np.repeat(lo, count) + offsets]


def _distance_codes(alumni: Alumni, rels: Relationships) -> np.ndarray:
    """Distance level per pair: 0 ≤25 km, 1 ≤80, 2 partner state, 3 ≤200, 4 same state, 5 further."""
    cos = np.cos(np.array(DIST_KM) / EARTH_RADIUS_KM)
    with np.errstate(invalid="ignore"):
        dot = alumni.xyz @ rels.xyz.T
        code = np.full(dot.shape, 5, np.uint8)
        code -= (dot >= cos[2]).view(np.uint8) * np.uint8(2)
        code -= (dot >= cos[1]).view(np.uint8) * np.uint8(2)
        code -= (dot >= cos[0]).view(np.uint8)
    del dot
    same_state = (alumni.state[:, None] == rels.state[None, :]) & (alumni.state[:, None] >= 0)
    code[(code == 5) & same_state] = 4
    if rels.is_state.any():
        cols = np.flatnonzero(rels.is_state)
        code[:, cols] = np.where(same_state[:, cols], 2, 5)
    return code


def _theme_codes(alumni: Alumni, rels: Relationships, bands: list[float]) -> np.ndarray | int:
    """Theme level per pair from the TF-IDF cosine: 0 strong, 1 some, 2 none."""
    if alumni.interests is None or rels.themes is None or rels.themes.shape[0] == 0:
        return 2
    cos = np.asarray(alumni.interests @ rels.themes, dtype=np.float32)
    code = np.full(cos.shape, 2, np.uint8)
    code -= (cos >= bands[1]).view(np.uint8)
    code -= (cos >= bands[0]).view(np.uint8)
    return code


def pair_codes(geo: Geography, alumni: Alumni, rels: Relationships, settings: dict[str, Any] | None = None,
               table: np.ndarray | None = None) -> np.ndarray:
    """Return the uint8 pair code (A, R): ``placement * 18 + distance * 3 + themes``."""
    settings = validate_settings(settings or {})
    table = placement_table(geo, rels) if table is None else table
    place = table[alumni.pref[:, 0]]
    for j in range(1, alumni.pref.shape[1]):
        np.minimum(place, table[alumni.pref[:, j]], out=place)
    rows, cols = _exact_pairs(alumni.muni, rels.muni)
    place[rows, cols] = 0
    place *= np.uint8(18)
    place += _distance_codes(alumni, rels) * np.uint8(3)
    place += _theme_codes(alumni, rels, settings["theme_bands"])
    return place


def decode_pair(code: int | np.ndarray):
    """Split a pair code into (placement, distance, themes) level codes.

    >>> decode_pair(1 * 18 + 4 * 3 + 2)
    (1, 4, 2)
    """
    placement, rest = divmod(code, 18)
    distance, themes = divmod(rest, 3)
    return placement, distance, themes


def alumnus_codes(japanese_level, jet_years, role, last_year, hours, this_year: int) -> dict[str, np.ndarray]:
    """Return the alumnus factor codes (uint8 arrays) from plain per-alumnus arrays.

    ``role`` is 0 for anyone who was a CIR, 1 an SEA, 2 ALT only.
    """
    jl, yrs = np.asarray(japanese_level), np.asarray(jet_years)
    since, hrs = this_year - np.asarray(last_year), np.asarray(hours)
    return {
        "japanese": np.select([jl >= 4, jl >= 2], [0, 1], 2).astype(np.uint8),
        "years": np.select([yrs >= 3, yrs >= 2], [0, 1], 2).astype(np.uint8),
        "role": np.asarray(role, np.uint8),
        "recency": np.select([since <= 5, since <= 15], [0, 1], 2).astype(np.uint8),
        "availability": np.select([hrs >= 8, hrs >= 2], [0, 1], 2).astype(np.uint8),
    }


@dataclass
class Scorer:
    """One scoring model's weights as look-up tables.

    Alumnus factors are folded into a *combo* code (one per combination of their levels),
    so every exact score is ``pair_weights[pair_code] + combo_scores[combo]`` and its rank
    among all possible scores is ``ranks[pair_code, combo]``: sorting by rank is sorting by
    score, with integer keys. ``pair8``/``combo8`` are the same scores quantised to uint8
    for the prefilter; ineligible pair codes map below ``floor8``.
    """

    settings: dict[str, Any]

    def __post_init__(self) -> None:
        self.settings = validate_settings(self.settings)
        self.comps = comps = comparisons(self.settings)
        p, d, t = (comps[f].weights() for f in ("placement", "distance", "themes"))
        self.pair_weights = (p[:, None, None] + d[None, :, None] + t[None, None, :]).ravel()
        self.eligible = self.pair_weights >= self.settings["min_pair_score"] - 1e-6
        sizes = [len(comps[f]) for f in ALUMNUS_FACTORS]
        self.strides = np.cumprod([1] + sizes[:0:-1])[::-1].astype(np.int64)
        grids = np.meshgrid(*[np.arange(n) for n in sizes], indexing="ij")
        self.combo_scores = sum(comps[f].weights()[g.ravel()] for f, g in zip(ALUMNUS_FACTORS, grids)).astype(np.float32)
        total = self.pair_weights[:, None] + self.combo_scores[None, :]
        self.ranks = np.unique(-total.ravel(), return_inverse=True)[1].reshape(total.shape).astype(np.int64)
        self._quantise()

    def _quantise(self) -> None:
        ok = self.pair_weights[self.eligible]
        p_min, p_max = (float(ok.min()), float(ok.max())) if ok.size else (0.0, 0.0)
        a_min, a_max = float(self.combo_scores.min()), float(self.combo_scores.max())
        scale = 250.0 / max(p_max - p_min + 2 * (a_max - a_min), 1e-6)
        self.combo8 = np.rint((self.combo_scores - a_min) * scale).astype(np.uint8)
        self.floor8 = int(self.combo8.max()) + 1
        top = np.rint((self.pair_weights - p_min) * scale) + self.floor8
        self.pair8 = np.where(self.eligible, top, 0).astype(np.uint8)

    @property
    def version(self) -> str:
        return str(self.settings.get("version", "default"))

    def combos(self, codes: dict[str, np.ndarray]) -> np.ndarray:
        """Return each alumnus's combo code (int64) from its alumnus-factor level codes."""
        return sum(codes[f].astype(np.int64) * s for f, s in zip(ALUMNUS_FACTORS, self.strides))

    def alumnus_scores(self, codes: dict[str, np.ndarray]) -> np.ndarray:
        """Return the float32 score every alumnus brings to any relationship."""
        return self.combo_scores[self.combos(codes)]


@dataclass
class TopK:
    """Top-k lists as flat arrays: alumnus index, relationship index, exact score and its rank (0 = best)."""

    rows: np.ndarray
    cols: np.ndarray
    scores: np.ndarray
    ranks: np.ndarray
    codes: np.ndarray  # the pair code, for the explanation

    @classmethod
    def concat(cls, parts: list[TopK]) -> TopK:
        if not parts:
            return cls(*(np.empty(0, t) for t in (np.int64, np.int64, np.float32, np.int64, np.intp)))
        return cls(*(np.concatenate([getattr(p, a) for p in parts]) for a in _TOPK_FIELDS))

    def take(self, index) -> TopK:
        return TopK(*(getattr(self, a)[index] for a in _TOPK_FIELDS))

    def best(self, k: int, by: str) -> TopK:
        """Keep the k best per ``by`` ("cols" or "rows"), best first; ties go to the lower row (col)."""
        group, other = (self.cols, self.rows) if by == "cols" else (self.rows, self.cols)
        key = (group.astype(np.int64) << 42) | (self.ranks.astype(np.int64) << 26) | other.astype(np.int64)
        order = np.argsort(key, kind="stable")
        g = group[order]
        start = np.r_[0, np.flatnonzero(g[1:] != g[:-1]) + 1] if g.size else np.empty(0, np.intp)
        rank = np.arange(g.size) - np.repeat(start, np.diff(np.r_[start, g.size]))
        return self.take(order[rank < k])


_TOPK_FIELDS = ("rows", "cols", "scores", "ranks", "codes")


def _col_threshold(s8: np.ndarray, k: int) -> np.ndarray:
    """A lower bound of each column's k-th largest value: the k-th largest of row-block maxima."""
    n = s8.shape[0]
    block = max(1, n // (4 * k))
    nb = n // block
    if nb < k:
        return np.zeros(s8.shape[1], np.uint8)
    maxima = s8[: nb * block].reshape(nb, block, -1).max(axis=1)
    return np.partition(maxima, nb - k, axis=0)[nb - k]


def _row_threshold(s8: np.ndarray, k: int) -> np.ndarray:
    """A lower bound of each row's k-th largest value, from interleaved column groups (contiguous reads)."""
    n, m = s8.shape
    nb = min(m, 4 * k)
    block = m // nb
    if nb < k or block < 1:
        return np.zeros(n, np.uint8)
    maxima = s8[:, : nb * block].reshape(n, block, nb).max(axis=1)
    return np.partition(maxima, nb - k, axis=1)[:, nb - k]


def _lookup(table: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Return ``table[codes]`` for uint8 codes, two bytes per look-up (a 64k-entry table)."""
    if codes.size % 2 or not codes.flags.c_contiguous:
        return table[codes]
    full = np.zeros(256, table.dtype)
    full[: table.size] = table
    word = np.arange(65536)
    lut = full[word & 255].astype(np.uint16) | (full[word >> 8].astype(np.uint16) << 8)
    if np.little_endian is False:  # pragma: no cover
        lut = lut.byteswap()
    return lut[codes.reshape(-1).view(np.uint16)].view(np.uint8).reshape(codes.shape)


def top_k_chunk(codes: np.ndarray, combo: np.ndarray, scorer: Scorer, k_cols: int, k_rows: int,
                a8: np.ndarray) -> tuple[TopK, TopK]:
    """Return the exact top-k alumni per relationship and relationships per alumnus for one chunk.

    ``combo`` is each alumnus's combination of alumnus-factor levels, ``a8`` its quantised score.
    """
    pair8, floor = scorer.pair8, scorer.floor8
    s8 = _lookup(pair8, codes)
    s8 += a8[:, None]
    margin = np.uint8(2)  # a quantised score is within one unit: survivors need q >= t - 2
    t_col = np.maximum(_col_threshold(s8, k_cols), floor + margin) - margin
    t_row = np.maximum(_row_threshold(s8, k_rows), floor + margin) - margin
    in_col = s8 >= t_col[None, :]
    in_row = s8 >= t_row[:, None]
    flat = np.flatnonzero(in_col | in_row)
    m = codes.shape[1]
    rows, cols = np.divmod(flat, m)
    code = codes.reshape(-1)[flat].astype(np.intp)
    ranks = scorer.ranks[code, combo[rows]]
    scores = scorer.pair_weights[code] + scorer.combo_scores[combo[rows]]
    found = TopK(rows, cols, scores, ranks, code)
    ok = scorer.eligible[code]
    by_col = found.take(ok & in_col.reshape(-1)[flat]).best(k_cols, "cols")
    by_row = found.take(ok & in_row.reshape(-1)[flat]).best(k_rows, "rows")
    return by_col, by_row


def score_pool(geo: Geography, alumni: Alumni, rels: Relationships, scorer: Scorer, k_cols: int, k_rows: int,
               chunk_pairs: int = 20_000_000, progress: Callable[[Iterable], Iterable] = iter,
               timings: dict[str, float] | None = None) -> tuple[TopK, TopK]:
    """Score every alumnus against every relationship in chunks of alumni; return (per rel, per alum) top-k.

    ``timings`` (if given) collects ``features_s``, ``score_s`` and ``floor_s``: the last is
    one reducing NumPy pass (``sum``) over the same code arrays, measured chunk by chunk.
    """
    n, m = len(alumni), len(rels)
    step = max(1, chunk_pairs // max(m, 1))
    table = placement_table(geo, rels)
    combo = scorer.combos(alumni.codes)
    by_col, by_row = [], []
    clock = timings if timings is not None else {}
    for start in progress(range(0, n, step)):
        rows = slice(start, min(start + step, n))
        t0 = time.perf_counter()
        codes = pair_codes(geo, alumni.take(rows), rels, scorer.settings, table)
        t1 = time.perf_counter()
        c, r = top_k_chunk(codes, combo[rows], scorer, k_cols, k_rows, scorer.combo8[combo[rows]])
        t2 = time.perf_counter()
        codes.sum()
        combo[rows].sum()
        t3 = time.perf_counter()
        c.rows += start
        r.rows += start
        by_col.append(c)
        by_row.append(r)
        for key, dt in (("features_s", t1 - t0), ("score_s", t2 - t1), ("floor_s", t3 - t2)):
            clock[key] = clock.get(key, 0.0) + dt
    t0 = time.perf_counter()
    result = TopK.concat(by_col).best(k_cols, "cols"), TopK.concat(by_row)
    clock["score_s"] = clock.get("score_s", 0.0) + time.perf_counter() - t0
    return result


# --- the database side: load arrays, store suggestions with reasons -------------------------------

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
