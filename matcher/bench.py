"""Scoring benchmark on synthetic arrays: feature building, scoring + top-k, the NumPy floor,
assignment and one alumnus's incremental refresh, with peak memory.

The arrays are generated here (a synthetic Japan of 47 prefectures and 1,700 municipalities,
US homes clustered around the relationships' cities), so the benchmark needs no database and
scales to 1,000,000 alumni. The scoring code is the production code.
"""

from __future__ import annotations

import resource
import time
from typing import Any

import numpy as np
import scipy.sparse as sp

from matcher.assignment import assign_edges
from matcher.features import Alumni, Geography, Relationships, alumnus_codes, pair_codes, unit_vectors
from matcher.scoring import Scorer, score_pool

__all__ = ["synthetic", "run_bench"]

N_MUNI, VOCAB = 1700, 12


def synthetic(n_alumni: int, n_rels: int, seed: int = 1) -> tuple[Geography, Alumni, Relationships]:
    """Return a synthetic geography, ``n_alumni`` eligible alumni and ``n_rels`` relationships."""
    rng = np.random.default_rng(seed)
    region = np.repeat(np.arange(8), 6)[:47].astype(np.int16)
    neighbours = np.zeros((47, 47), bool)
    i = np.arange(46)
    neighbours[i, i + 1] = neighbours[i + 1, i] = True
    geo = Geography(region, neighbours)
    muni_pref = np.sort(rng.integers(0, 47, N_MUNI))
    muni_code = ((muni_pref + 1) * 1000 + np.arange(N_MUNI) % 997 + 1).astype(np.int32)
    ri = rng.integers(0, N_MUNI, n_rels)
    r_lat, r_lon = rng.uniform(26, 48, n_rels), rng.uniform(-123, -70, n_rels)
    is_pref = rng.random(n_rels) < 0.08
    themes = np.zeros((VOCAB, n_rels), np.float32)
    themes[rng.integers(0, VOCAB, n_rels), np.arange(n_rels)] = 1.0
    rels = Relationships(np.arange(n_rels), unit_vectors(r_lat, r_lon), rng.integers(0, 50, n_rels).astype(np.int16),
                         rng.random(n_rels) < 0.03, np.where(is_pref, -1, muni_code[ri]).astype(np.int32),
                         muni_pref[ri].astype(np.int16), themes, np.full(n_rels, 3, np.int32))
    near = rng.integers(0, n_rels, n_alumni)  # homes scattered around the relationships' cities
    lat = r_lat[near] + rng.normal(0, 1.5, n_alumni)
    lon = r_lon[near] + rng.normal(0, 2.0, n_alumni)
    pm = rng.integers(0, N_MUNI, (n_alumni, 2))
    pm[rng.random(n_alumni) < 0.75, 1] = -1
    muni = np.where(pm >= 0, muni_code[pm], -1).astype(np.int32)
    pref = np.where(pm >= 0, muni_pref[pm], 47).astype(np.int16)
    codes = alumnus_codes(rng.integers(0, 6, n_alumni), rng.integers(1, 6, n_alumni), rng.choice(3, n_alumni, p=[.1, .05, .85]),
                          rng.integers(1990, 2026, n_alumni), rng.integers(0, 20, n_alumni), 2026)
    k = 2
    interests = sp.csr_matrix((np.full(n_alumni * k, 1 / np.sqrt(k), np.float32),
                               rng.integers(0, VOCAB, n_alumni * k), np.arange(0, n_alumni * k + 1, k)),
                              shape=(n_alumni, VOCAB))
    alumni = Alumni(np.arange(n_alumni), unit_vectors(lat, lon), rels.state[near], muni, pref, codes, interests,
                    rng.integers(1, 4, n_alumni).astype(np.int32))
    return geo, alumni, rels


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_bench(n_alumni: int, n_rels: int, seed: int = 1, k: int = 10) -> dict[str, Any]:
    """Run every stage once at the given scale; return the figures as one flat dict."""
    t0 = time.perf_counter()
    geo, alumni, rels = synthetic(n_alumni, n_rels, seed)
    gen_s = time.perf_counter() - t0
    scorer = Scorer({})
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    by_col, by_row = score_pool(geo, alumni, rels, scorer, k, k, timings=timings)
    total_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    chosen = assign_edges(by_col.rows, by_col.cols, by_col.scores.astype(float),
                          alumni.capacity, rels.wanted)
    assign_s = time.perf_counter() - t0
    incremental_ms = _incremental(geo, alumni, rels, scorer, by_col, k) * 1000
    return dict(alumni=n_alumni, relationships=n_rels, pairs=n_alumni * n_rels,
                features_s=round(timings["features_s"], 3), score_s=round(timings["score_s"], 3),
                floor_s=round(timings["floor_s"], 4), ratio=round(timings["score_s"] / timings["floor_s"], 1),
                full_pass_s=round(total_s, 3), assign_s=round(assign_s, 3), assigned=int(chosen.sum()),
                incremental_ms=round(incremental_ms, 2), peak_mb=round(_peak_mb(), 1),
                volunteer_lists=int(len(np.unique(by_col.cols))), alumnus_lists=int(len(np.unique(by_row.rows))),
                generate_s=round(gen_s, 2))


def _incremental(geo, alumni, rels, scorer, by_col, k: int, repeats: int = 20) -> float:
    """Median time to re-score one alumnus and merge it into every relationship's top-k."""
    kth = np.full(len(rels), -np.inf, np.float32)
    last = np.r_[np.flatnonzero(by_col.cols[1:] != by_col.cols[:-1]), by_col.cols.size - 1]
    kth[by_col.cols[last]] = by_col.scores[last]
    times = []
    for a in np.linspace(0, len(alumni) - 1, repeats).astype(int):
        t0 = time.perf_counter()
        one = alumni.take(slice(a, a + 1))
        codes = pair_codes(geo, one, rels, scorer.settings)[0]
        scores = scorer.pair_weights[codes] + scorer.alumnus_scores(one.codes)[0]
        ok = scorer.eligible[codes]
        mine = np.flatnonzero(ok)[np.argsort(-scores[ok], kind="stable")[:k]]
        enters = np.flatnonzero(ok & (scores > kth))
        _ = (mine, enters)
        times.append(time.perf_counter() - t0)
    return float(np.median(times))
