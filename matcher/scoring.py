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
        comps = comparisons(self.settings)
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

    @classmethod
    def concat(cls, parts: list[TopK]) -> TopK:
        if not parts:
            return cls(np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.float32), np.empty(0, np.int64))
        return cls(*(np.concatenate([getattr(p, a) for p in parts]) for a in ("rows", "cols", "scores", "ranks")))

    def take(self, index) -> TopK:
        return TopK(self.rows[index], self.cols[index], self.scores[index], self.ranks[index])

    def best(self, k: int, by: str) -> TopK:
        """Keep the k best per ``by`` ("cols" or "rows"), best first; ties go to the lower row (col)."""
        group, other = (self.cols, self.rows) if by == "cols" else (self.rows, self.cols)
        key = (group.astype(np.int64) << 42) | (self.ranks.astype(np.int64) << 26) | other.astype(np.int64)
        order = np.argsort(key, kind="stable")
        g = group[order]
        start = np.r_[0, np.flatnonzero(g[1:] != g[:-1]) + 1] if g.size else np.empty(0, np.intp)
        rank = np.arange(g.size) - np.repeat(start, np.diff(np.r_[start, g.size]))
        return self.take(order[rank < k])


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
    found = TopK(rows, cols, scores, ranks)
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
