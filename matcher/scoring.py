"""Vectorised scoring and top-k on score-ordered ``uint8`` codes: pure NumPy, no database.

A score is ``pair_weight[pair code] + combo_score[combo]``: the pair code holds the three
pair comparisons (see :mod:`matcher.features`), the *combo* the five alumnus factors.
Once per model, :class:`Scorer` renumbers the 90 pair codes by descending weight, so a
smaller code is a better pair and the feature matrix (relationships x alumni, one byte
per pair) can be ranked with comparisons and axis-0 minima instead of float gathers and
sorts:

* per alumnus (combo fixed): a bound from block minima, a mask, then an exact ranking of
  the survivors with two radix sorts;
* per relationship: a lower bound of each k-th best score from those lists, then one
  threshold per (relationship, combo) — alumni are grouped by combo — and an exact
  ranking of the few survivors.

Only survivors are scored exactly. Ties break towards the lower alumnus (relationship)
index, as a full sort would.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from matcher.comparisons import ALUMNUS_FACTORS, comparisons, validate_settings
from matcher.features import Alumni, Geography, Relationships, pair_codes, placement_table

__all__ = ["Scorer", "TopK", "score_codes", "top_k_chunk", "score_pool"]

_EPS = 1e-5
_BANDS = 24  # alumni bands on the relationship side: each band's best combo bounds its members
MAX_CHUNK_ALUMNI = 65_535  # alumnus positions in a chunk fit uint16 (radix sorts)


@dataclass
class Scorer:
    """One scoring model's weights as look-up tables.

    ``order`` lists the pair codes best first; ``rank_of[pair code]`` is the score-ordered
    code (*q*), ``weight_q[q]`` its weight; q < ``n_eligible`` passes ``min_pair_score``.
    ``group_q[q]`` numbers equal weights alike (ties); ``ranks[pair code, combo]`` orders
    every possible total score (0 = best) with integer keys.
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
        self.order = np.lexsort((np.arange(self.pair_weights.size), -self.pair_weights))
        self.rank_of = np.zeros(256, np.uint8)
        self.rank_of[self.order] = np.arange(self.order.size)
        self.weight_q = self.pair_weights[self.order].astype(np.float64)
        self.weight_q32 = self.pair_weights[self.order]
        self.ranks_flat = self.ranks.ravel()
        self.n_eligible = int(self.eligible.sum())
        self.group_q = np.unique(-self.weight_q, return_inverse=True)[1].astype(np.uint8).ravel()

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
    """Top-k lists as flat arrays: alumnus index, relationship index, exact score, its rank (0 = best), pair code."""

    rows: np.ndarray
    cols: np.ndarray
    scores: np.ndarray
    ranks: np.ndarray
    codes: np.ndarray

    @classmethod
    def concat(cls, parts: list[TopK]) -> TopK:
        if not parts:
            return cls(*(np.empty(0, t) for t in (np.int64, np.int64, np.float32, np.int64, np.intp)))
        return cls(*(np.concatenate([getattr(p, a) for p in parts]) for a in _FIELDS))

    def take(self, index) -> TopK:
        return TopK(*(getattr(self, a)[index] for a in _FIELDS))

    def best(self, k: int, by: str) -> TopK:
        """Keep the k best per ``by`` ("cols" or "rows"), best first; ties go to the lower row (col)."""
        group, other = (self.cols, self.rows) if by == "cols" else (self.rows, self.cols)
        order = np.lexsort((other, self.ranks, group))
        g = group[order]
        start = np.r_[0, np.flatnonzero(g[1:] != g[:-1]) + 1] if g.size else np.empty(0, np.intp)
        rank = np.arange(g.size) - np.repeat(start, np.diff(np.r_[start, g.size]))
        return self.take(order[rank < k])


_FIELDS = ("rows", "cols", "scores", "ranks", "codes")


def score_codes(scorer: Scorer, codes: np.ndarray) -> np.ndarray:
    """Return the score-ordered feature matrix (relationships x alumni, uint8) of pair codes (alumni x relationships)."""
    return np.ascontiguousarray(scorer.rank_of[codes.T])


def _found(scorer: Scorer, q: np.ndarray, combo: np.ndarray, index: np.ndarray, rows: np.ndarray,
           cols: np.ndarray) -> TopK:
    code = scorer.order[q]
    c = combo[rows]
    return TopK(index[rows], cols, scorer.weight_q32[q] + scorer.combo_scores[c],
                scorer.ranks_flat[code * scorer.combo_scores.size + c], code)


def _alumnus_bound(scorer: Scorer, q: np.ndarray, k: int) -> np.ndarray:
    """Per alumnus, a code q_t with at least k relationships at q <= q_t (the k-th least of block minima)."""
    m, n = q.shape
    last = np.full(n, scorer.n_eligible - 1, np.uint8)
    nb = min(m, 4 * k)
    if nb < k or scorer.n_eligible == 0:
        return last
    size = m // nb
    mins = q[: nb * size].reshape(nb, size, n).min(axis=1)
    if m > nb * size:
        mins = np.vstack([mins, q[nb * size:].min(axis=0)])
    lo, hi = np.zeros(n, np.int16), last.astype(np.int16)  # search the least t with count(mins <= t) >= k
    ok = (mins <= last).sum(axis=0, dtype=np.int32) >= k
    while (lo < hi).any():
        mid = (lo + hi) // 2
        enough = (mins <= mid.astype(np.uint8)).sum(axis=0, dtype=np.int32) >= k
        hi = np.where(enough, mid, hi)
        lo = np.where(enough, lo, mid + 1)
    t = np.where(ok, lo, last).astype(np.uint8)
    ends = np.r_[np.flatnonzero(np.diff(scorer.group_q.astype(int))), scorer.group_q.size - 1]
    return np.minimum(ends[scorer.group_q[t]], scorer.n_eligible - 1).astype(np.uint8)


def _per_alumnus(scorer: Scorer, q: np.ndarray, combo: np.ndarray, index: np.ndarray, k: int) -> TopK:
    """Exact top-k relationships of every alumnus in the chunk."""
    m, n = q.shape
    t = _alumnus_bound(scorer, q, k)
    flat = np.flatnonzero(q <= t[None, :])
    r, a = np.divmod(flat, n)
    qv = q.reshape(-1)[flat]
    by_group = np.argsort(scorer.group_q[qv], kind="stable")  # radix sorts: (alumnus, weight, relationship)
    order = by_group[np.argsort(a[by_group].astype(np.uint16), kind="stable")]
    a_sorted = a[order]
    start = np.searchsorted(a_sorted, np.arange(n))
    keep = order[np.arange(a_sorted.size) - start[a_sorted] < k]
    return _found(scorer, qv[keep], combo, index, a[keep], r[keep])


def _relationship_bound(scorer: Scorer, lists: TopK, m: int, k: int) -> np.ndarray:
    """Per relationship, a lower bound of its k-th best score: the k-th best among the alumni's lists."""
    bound = np.full(m, -np.inf)
    if lists.scores.size == 0:
        return bound
    lo, hi = float(lists.scores.min()), float(lists.scores.max())
    scale = 255.0 / max(hi - lo, 1e-6)
    level = np.floor((lists.scores - lo) * scale).clip(0, 255).astype(np.int64)
    hist = np.bincount(lists.cols * 256 + level, minlength=m * 256).reshape(m, 256)
    at_least = np.cumsum(hist[:, ::-1], axis=1)[:, ::-1]  # entries with level >= l
    enough = at_least >= k
    top = 255 - np.argmax(enough[:, ::-1], axis=1)
    has = enough.any(axis=1)
    bound[has] = lo + top[has] / scale - _EPS
    return bound


def _per_relationship(scorer: Scorer, q: np.ndarray, combo: np.ndarray, index: np.ndarray, lists: TopK,
                      k: int) -> TopK:
    """Exact top-k alumni of every relationship in the chunk (alumni grouped by combo are fastest)."""
    m, n = q.shape
    bound = _relationship_bound(scorer, lists, m, k)
    starts = np.unique(np.linspace(0, n, _BANDS, endpoint=False).astype(np.intp)) if n else np.empty(0, np.intp)
    best = np.maximum.reduceat(scorer.combo_scores[combo], starts) if n else np.empty(0, np.float32)
    need = bound[:, None] - best.astype(np.float64)[None, :] - _EPS
    count = np.searchsorted(-scorer.weight_q, -need.ravel(), side="right").reshape(need.shape)
    count = np.minimum(count, scorer.n_eligible).astype(np.uint8)
    mask = np.empty(q.shape, bool)
    for j, (lo, hi) in enumerate(zip(starts, np.r_[starts[1:], n])):
        np.less(q[:, lo:hi], count[:, j:j + 1], out=mask[:, lo:hi])
    r, a = np.divmod(np.flatnonzero(mask), n)
    return _found(scorer, q[r, a], combo, index, a, r).best(k, "cols")


def top_k_chunk(q: np.ndarray, combo: np.ndarray, scorer: Scorer, k_cols: int, k_rows: int,
                index: np.ndarray | None = None) -> tuple[TopK, TopK]:
    """Return the exact top-k alumni per relationship and relationships per alumnus of one chunk.

    Parameters
    ----------
    q : score-ordered codes, relationships x alumni (:func:`score_codes`).
    combo : each alumnus's combo code; runs of equal combos make the relationship side fast.
    k_cols, k_rows : list lengths per relationship and per alumnus.
    index : each alumnus's position in the pool (ties go to the lower); ``arange`` if None.

    Returns
    -------
    (per relationship, per alumnus) :class:`TopK`, rows holding ``index`` values.
    """
    index = np.arange(q.shape[1]) if index is None else np.asarray(index)
    mine = _per_alumnus(scorer, q, combo, index, max(k_rows, k_cols))
    by_col = _per_relationship(scorer, q, combo, index, mine, k_cols)
    if k_rows < k_cols:
        mine = mine.best(k_rows, "rows")
    return by_col, mine


def score_pool(geo: Geography, alumni: Alumni, rels: Relationships, scorer: Scorer, k_cols: int, k_rows: int,
               chunk_pairs: int = 20_000_000, progress: Callable[[Iterable], Iterable] = iter,
               timings: dict[str, float] | None = None) -> tuple[TopK, TopK]:
    """Score every alumnus against every relationship in chunks of alumni; return (per rel, per alum) top-k.

    ``timings`` (if given) collects ``features_s`` (pair codes, renumbered by score),
    ``score_s`` (scoring + top-k) and ``floor_s``: one reducing NumPy pass (``sum``) over the
    same feature matrix, chunk by chunk.
    """
    n, m = len(alumni), len(rels)
    step = max(1, min(MAX_CHUNK_ALUMNI, chunk_pairs // max(m, 1)))
    table = placement_table(geo, rels)
    combo_all = scorer.combos(alumni.codes)
    clock = timings if timings is not None else {}
    by_col, by_row = [], []
    for start in progress(range(0, n, step)):
        stop = min(start + step, n)
        t0 = time.perf_counter()
        idx = start + np.lexsort((combo_all[start:stop], -scorer.combo_scores[combo_all[start:stop]]))
        combo = combo_all[idx]
        q = score_codes(scorer, pair_codes(geo, alumni.take(idx), rels, scorer.settings, table))
        t1 = time.perf_counter()
        c, r = top_k_chunk(q, combo, scorer, k_cols, k_rows, idx)
        t2 = time.perf_counter()
        q.sum()
        combo.sum()
        t3 = time.perf_counter()
        by_col.append(c)
        by_row.append(r)
        for key, dt in (("features_s", t1 - t0), ("score_s", t2 - t1), ("floor_s", t3 - t2)):
            clock[key] = clock.get(key, 0.0) + dt
    t0 = time.perf_counter()
    result = TopK.concat(by_col).best(k_cols, "cols"), TopK.concat(by_row)
    clock["score_s"] = clock.get("score_s", 0.0) + time.perf_counter() - t0
    return result
