"""Scoring and top-k on small integer pair codes: NumPy tables, one compiled pass per chunk.

A score is ``pair_weight[pair code] + combo_score[combo]``: the pair code holds the three
pair comparisons (see :mod:`matcher.scoring.features`), the *combo* the five alumnus factors.
Once per model, :class:`Scorer` turns the weights into look-up tables — the pair codes
renumbered best first, the rank of every possible total score, each code's weight group —
so ranking compares small integers, with no float sums and no sorts over the whole matrix.
:func:`score_pool` compares the pool's distinct homes and interest rows with every relationship
once (:func:`matcher.scoring.compiled.prepare`), builds the score-ordered codes chunk by chunk in
one compiled pass from those tables (:func:`matcher.scoring.compiled.chunk_codes`, equal to
:mod:`matcher.scoring.features` then :func:`score_codes`) and hands each chunk (alumni x relationships, one byte per pair) to
the compiled kernels of :mod:`matcher.scoring.topk`, which keep each relationship's best alumni
across chunks and list each alumnus's own best; :func:`top_k_chunk` does the same for one
chunk on its own.

Ties break towards the lower alumnus (relationship) index, as a full sort would.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from matcher.scoring.comparisons import ALUMNUS_FACTORS, comparisons, validate_settings
from matcher.scoring.features import Alumni, Geography, Relationships, placement_table

# The compiled kernels (:mod:`matcher.scoring.compiled`, :mod:`matcher.scoring.topk`) and so Numba are
# imported by the functions that run them: building a :class:`Scorer`, the TopK lists and the reasons
# need NumPy only, so a web worker writing reasons and `jetmatch score` before its kernel runs (see
# :mod:`matcher.scoring.kernel_process`) do not load Numba.
NOT_ELIGIBLE = np.iinfo(np.int32).max  # rank of a pair below min_pair_score: never listed (topk's too)

__all__ = ["NOT_ELIGIBLE", "Scorer", "TopK", "scorer_for", "score_codes", "top_k_chunk", "score_pool"]


@dataclass
class Scorer:
    """One scoring model's weights as look-up tables.

    ``ranks[pair code, combo]`` orders every possible total score (0 = best) with integer
    keys and ``totals[rank]`` is that score. For the kernels, ``qmap`` renumbers the pair
    codes best first (*q*; ``order_q[q]`` gives the pair code back, and the eligible ones
    are ``q < n_eligible``), ``rank_q[combo, q]`` is the rank table in that
    order (``NOT_ELIGIBLE`` where the pair fails ``min_pair_score``) and ``group_q[q]`` numbers
    the eligible weights best first, equal weights alike.
    """

    settings: dict[str, Any]

    def __post_init__(self) -> None:
        self.settings = validate_settings(self.settings)
        self.comps = comps = comparisons(self.settings)
        # weights as decimals (float64, 6 places): equal sums stay equal whatever the order of
        # addition, so a tie in weight is a tie in every total (ties are decided by index)
        weight = {f: np.round(comps[f].weights().astype(np.float64), 6) for f in comps}
        p, d, t = (weight[f] for f in ("placement", "distance", "themes"))
        self.pair_weights = np.round(p[:, None, None] + d[None, :, None] + t[None, None, :], 6).ravel()
        self.eligible = self.pair_weights >= self.settings["min_pair_score"] - 1e-6
        sizes = [len(comps[f]) for f in ALUMNUS_FACTORS]
        self.strides = np.cumprod([1] + sizes[:0:-1])[::-1].astype(np.int64)
        grids = np.meshgrid(*[np.arange(n) for n in sizes], indexing="ij")
        combo = np.round(sum(weight[f][g.ravel()] for f, g in zip(ALUMNUS_FACTORS, grids)), 6)
        self.combo_scores = combo.astype(np.float32)
        total = np.round(self.pair_weights[:, None] + combo[None, :], 6)
        negated, ranks = np.unique(-total.ravel(), return_inverse=True)
        self.ranks = ranks.reshape(total.shape).astype(np.int64)
        self.totals = (-negated).astype(np.float32)  # rank -> total score
        self.n_eligible = int(self.eligible.sum())
        order = np.lexsort((np.arange(self.pair_weights.size), -self.pair_weights))  # pair codes, best first
        self.qmap = np.full(256, 255, np.uint8)  # pair code -> its place in that order (q)
        self.qmap[order] = np.arange(order.size)
        self.order_q = np.zeros(256, np.intp)  # q -> pair code
        self.order_q[: order.size] = order
        self.group_q = np.full(256, 255, np.int64)  # q -> its weight's place among the eligible (ties alike)
        self.group_q[: self.n_eligible] = np.unique(-self.pair_weights[order[: self.n_eligible]],
                                                     return_inverse=True)[1].ravel()
        self.rank_q = np.full((self.combo_scores.size, 256), NOT_ELIGIBLE, np.int32)  # [combo, q] -> rank
        self.rank_q[:, : order.size] = np.where(self.eligible[order, None], self.ranks[order], NOT_ELIGIBLE).T

    @property
    def version(self) -> str:
        return str(self.settings.get("version", "default"))

    def combos(self, codes: dict[str, np.ndarray]) -> np.ndarray:
        """Return each alumnus's combo code (int64) from its alumnus-factor level codes."""
        return sum(codes[f].astype(np.int64) * s for f, s in zip(ALUMNUS_FACTORS, self.strides))

    def split_combo(self, combo) -> dict[str, np.ndarray]:
        """Return the alumnus-factor level codes (uint8 arrays) of combo codes; the inverse of :meth:`combos`.

        >>> s = Scorer({})
        >>> codes = {"japanese": [0, 2], "years": [1, 0], "role": [2, 2], "recency": [0, 1], "availability": [1, 2]}
        >>> split = s.split_combo(s.combos({f: np.array(v) for f, v in codes.items()}))
        >>> {f: v.tolist() for f, v in split.items()} == codes
        True
        """
        combo = np.asarray(combo, np.int64)
        return {f: ((combo // s) % len(self.comps[f])).astype(np.uint8) for f, s in zip(ALUMNUS_FACTORS, self.strides)}

    def alumnus_scores(self, codes: dict[str, np.ndarray]) -> np.ndarray:
        """Return the float32 score every alumnus brings to any relationship."""
        return self.combo_scores[self.combos(codes)]


_SCORERS: dict[str, Scorer] = {}


def scorer_for(settings: dict[str, Any]) -> Scorer:
    """The :class:`Scorer` of a model's settings (with its ``version``), built once per process."""
    import json

    key = json.dumps(settings, sort_keys=True)
    scorer = _SCORERS.get(key)
    if scorer is None:
        if len(_SCORERS) > 8:
            _SCORERS.clear()
        scorer = _SCORERS[key] = Scorer(settings)
    return scorer


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


_FIELDS = ("rows", "cols", "scores", "ranks", "codes")


def score_codes(scorer: Scorer, codes: np.ndarray) -> np.ndarray:
    """Return pair codes (alumni x relationships) renumbered best first for this model (*q*).

    Rows are padded with 255 (never listed) to a multiple of 32 for the kernels.
    """
    from matcher.scoring.topk import renumber

    return renumber(codes, scorer.qmap)


def top_k_chunk(q: np.ndarray, n_rels: int, combo: np.ndarray, scorer: Scorer, k_cols: int, k_rows: int,
                index: np.ndarray | None = None, buffers=None) -> tuple[TopK, TopK]:
    """Return the exact top-k alumni per relationship and relationships per alumnus of one chunk.

    Parameters
    ----------
    q : score-ordered pair codes, alumni x relationships (:func:`score_codes`, padded).
    n_rels : the number of relationships (columns of ``q`` before the padding).
    combo : each alumnus's combo code (:meth:`Scorer.combos`); runs of equal combos are fastest.
    k_cols, k_rows : list lengths per relationship and per alumnus.
    index : each alumnus's position in the pool (ties go to the lower); ``arange`` if None.
    buffers : :class:`matcher.scoring.topk.Buffers` carried from earlier chunks; then the lists per
        relationship cover every chunk so far.

    Returns
    -------
    (per relationship, per alumnus) :class:`TopK`, best first, rows holding ``index`` values.
    """
    from matcher.scoring.topk import Buffers, scan_chunk

    index = np.arange(len(q), dtype=np.int64) if index is None else np.asarray(index, np.int64)
    buffers = Buffers(n_rels, k_cols) if buffers is None else buffers
    mine = TopK(*scan_chunk(q, n_rels, combo, index, scorer, k_rows, buffers))
    return _relationship_lists(scorer, buffers), mine


def _relationship_lists(scorer: Scorer, buffers) -> TopK:
    """Each relationship's buffered list as TopK entries, best first."""
    m, k = buffers.key.shape
    filled = np.arange(k)[None, :] < buffers.count[:, None]
    cols = np.repeat(np.arange(m), buffers.count)
    key = buffers.key[filled].astype(np.int64)
    return TopK(buffers.index[filled], cols, scorer.totals[key], key, scorer.order_q[buffers.q[filled]])


def score_pool(geo: Geography, alumni: Alumni, rels: Relationships, scorer: Scorer, k_cols: int, k_rows: int,
               chunk_pairs: int = 20_000_000, progress: Callable[[Iterable], Iterable] = iter,
               timings: dict[str, float] | None = None) -> tuple[TopK, TopK]:
    """Score every alumnus against every relationship in chunks of alumni; return (per rel, per alum) top-k.

    ``timings`` (if given) collects ``features_s`` (pair codes, renumbered best first for the
    model), ``score_s`` (scoring + top-k) and ``floor_s``: one reducing NumPy pass (``sum``)
    over the same codes and combos, chunk by chunk.
    """
    from matcher.scoring.compiled import chunk_codes, padded_width, prepare
    from matcher.scoring.topk import Buffers, scan_chunk

    n, m = len(alumni), len(rels)
    step = max(1, chunk_pairs // max(m, 1))
    table = placement_table(geo, rels)
    combo_all = scorer.combos(alumni.codes)
    # the best alumnus factors first: the relationship lists fill with strong entries early and
    # screen out most later pairs; runs of one combo share their screening thresholds
    # (as ``np.lexsort((arange, combo, -score))``: a stable sort on each combo's place in that order,
    # a radix sort of small integers)
    place = np.empty(scorer.combo_scores.size, np.int64)
    place[np.lexsort((np.arange(place.size), -scorer.combo_scores))] = np.arange(place.size)
    visit = np.argsort(place[combo_all].astype(np.uint8 if place.size <= 256 else np.int64), kind="stable")
    clock = timings if timings is not None else {}
    t0 = time.perf_counter()
    # the distance and theme tables of the pool's distinct homes and interest rows; a chunk gathers only
    # its alumni's placements and table row numbers
    tables, keys, whole = prepare(alumni, rels, scorer.settings, scorer.qmap, table)
    clock["features_s"] = clock.get("features_s", 0.0) + time.perf_counter() - t0
    buffers = Buffers(m, k_cols)
    by_row = []
    chunk = np.empty((min(step, n), padded_width(m)), np.uint8)  # one buffer for every chunk: no fresh pages
    for start in progress(range(0, n, step)):
        t0 = time.perf_counter()
        idx = visit[start:start + step]
        combo = combo_all[idx]
        q = chunk_codes(tables, keys, whole, alumni, idx, chunk[:len(idx)])
        t1 = time.perf_counter()
        mine = TopK(*scan_chunk(q, m, combo, idx, scorer, k_rows, buffers))  # the relationship lists stay buffered
        t2 = time.perf_counter()
        q.sum()
        combo.sum()
        t3 = time.perf_counter()
        by_row.append(mine)
        for key, dt in (("features_s", t1 - t0), ("score_s", t2 - t1), ("floor_s", t3 - t2)):
            clock[key] = clock.get(key, 0.0) + dt
    t0 = time.perf_counter()
    result = _relationship_lists(scorer, buffers), by_row[0] if len(by_row) == 1 else TopK.concat(by_row)
    clock["score_s"] = clock.get("score_s", 0.0) + time.perf_counter() - t0
    return result
