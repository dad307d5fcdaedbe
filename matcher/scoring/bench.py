"""Scoring benchmark on realistic synthetic data: feature building, scoring + top-k, the NumPy
floor, assignment and one alumnus's incremental refresh (arrays, and stored in a database),
with peak memory.

The data comes from the production generator, :func:`matcher.synth.generate`, drawing homes
from real US cities and placements from real municipalities (with merged towns). The places
are read from a temporary SQLite database that the benchmark builds from the reference CSVs in
``data/`` with a few thousand synthetic alumni; that database also measures the refresh of one
alumnus end to end (``incremental_db_ms``). Relationships are drawn from the same real places:
a US city weighted by population, a Japanese municipality weighted by population (8 % whole
prefectures, 3 % whole US states), one or two programme themes. The scoring code is the
production code; every alumnus generated counts as eligible.
"""

from __future__ import annotations

import datetime as dt
import resource
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from matcher.scoring.assignment import assign_edges
from matcher.scoring.features import Alumni, Geography, Relationships, alumnus_codes, pair_codes, unit_vectors
from matcher.scoring.scorer import Scorer, score_pool
from matcher.scoring.topk import threads as topk_threads
from matcher.synth import INTERESTS

__all__ = ["reference_database", "synthetic", "run_bench"]

DB_ALUMNI = 3000  # synthetic alumni stored in the benchmark's database (incremental_db_ms)
_THEMES = len(INTERESTS)  # programme themes and interests share the synthetic topics


def reference_database(folder: Path, n_alumni: int = DB_ALUMNI, seed: int = 1) -> str:
    """Build a SQLite database in ``folder``: schema, reference data, ``n_alumni`` synthetic alumni, scored."""
    from matcher import db
    from matcher.scoring.suggestions import score_all
    from matcher.synth import add_demo_alumni

    url = f"sqlite:///{folder / 'bench.sqlite'}"
    engine = db.make_engine(url)
    db.prepare(engine)
    sessions = db.make_sessionmaker(engine)
    with db.session_scope(sessions) as session:
        add_demo_alumni(session, n_alumni, seed=seed)
    with db.session_scope(sessions) as session:
        score_all(session)
    engine.dispose()
    return url


def _geography(session) -> Geography:
    from sqlalchemy import select

    from matcher.models import Prefecture

    return Geography.from_rows(session.execute(select(Prefecture.code, Prefecture.region, Prefecture.neighbours)))


def _bitmask_rows(mask: np.ndarray, width: int) -> sp.csr_matrix:
    """L2-normalised 0/1 rows (CSR, float32) from bitmasks: the TF-IDF of one-word-per-topic texts."""
    bits = (mask[:, None].astype(np.int64) >> np.arange(width)) & 1
    norm = np.sqrt(bits.sum(axis=1, keepdims=True)).clip(1)
    return sp.csr_matrix((bits / norm).astype(np.float32))


def synthetic(pools, geo: Geography, n_alumni: int, n_rels: int, seed: int = 1,
              this_year: int | None = None) -> tuple[Alumni, Relationships]:
    """Return ``n_alumni`` alumni from :func:`matcher.synth.generate` and ``n_rels`` relationships on real places."""
    from matcher.models import ROLES
    from matcher.synth import generate

    this_year = this_year or dt.date.today().year
    rng = np.random.default_rng([seed, 99])
    states = sorted(set(pools.place_state.tolist()))
    state_index = {s: i for i, s in enumerate(states)}
    place_state = np.array([state_index[s] for s in pools.place_state.tolist()], np.int16)
    muni_code = pools.muni_code.astype(np.int32)
    pref_index = pools.pref_code.astype(np.int16) - 1

    city = rng.choice(len(pools.place_id), n_rels, p=pools.place_weight / pools.place_weight.sum())
    town = rng.choice(len(muni_code), n_rels, p=pools.muni_weight / pools.muni_weight.sum())
    whole_pref, whole_state = rng.random(n_rels) < 0.08, rng.random(n_rels) < 0.03
    themes = np.zeros(n_rels, np.int64)
    for _ in range(2):
        themes |= np.where(rng.random(n_rels) < 0.7, 1 << rng.integers(0, _THEMES, n_rels), 0)
    rels = Relationships(
        ids=np.arange(n_rels, dtype=np.int64), xyz=unit_vectors(pools.place_lat[city], pools.place_lon[city]),
        state=place_state[city], is_state=whole_state,
        muni=np.where(whole_pref, -1, muni_code[town]).astype(np.int32),
        pref=pref_index[pools.muni_pref[town]], themes=_bitmask_rows(themes, _THEMES).T.toarray(),
        wanted=rng.integers(2, 6, n_rels).astype(np.int32))

    data = generate(n_alumni, seed, pools)
    alum = data.p_alum
    first = np.searchsorted(alum, np.arange(n_alumni))
    slot = np.arange(alum.size) - first[alum]
    width = int(slot.max()) + 1 if alum.size else 1
    muni = np.full((n_alumni, width), -1, np.int32)
    pref = np.full((n_alumni, width), 47, np.int16)
    muni[alum, slot] = np.where(data.p_muni >= 0, muni_code[data.p_muni], -1)
    pref[alum, slot] = pref_index[data.p_pref]
    years = np.bincount(alum, weights=np.maximum(1, data.p_end - data.p_start), minlength=n_alumni)
    roles = np.asarray(ROLES)[data.p_role]
    cir = np.bincount(alum, weights=roles == "CIR", minlength=n_alumni) > 0
    sea = np.bincount(alum, weights=roles == "SEA", minlength=n_alumni) > 0
    last = np.full(n_alumni, 1987)
    np.maximum.at(last, alum, data.p_end)
    codes = alumnus_codes(data.japanese_level, np.maximum(1, years), np.where(cir, 0, np.where(sea, 1, 2)), last,
                          data.availability_hours, this_year)
    alumni = Alumni(np.arange(n_alumni, dtype=np.int64),
                    unit_vectors(pools.place_lat[data.home], pools.place_lon[data.home]),
                    place_state[data.home], muni, pref, codes,
                    _bitmask_rows(data.interests & ((1 << _THEMES) - 1), _THEMES),
                    np.maximum(1, data.max_matches).astype(np.int32))
    return alumni, rels


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def default_repeats(n_alumni: int, n_rels: int) -> int:
    """Three scoring passes up to 100 million pairs (the median is reported), one beyond."""
    return 3 if n_alumni * n_rels <= 100_000_000 else 1


def run_bench(n_alumni: int, n_rels: int, seed: int = 1, k: int = 10, db_alumni: int = DB_ALUMNI,
              repeats: int | None = None) -> dict[str, Any]:
    """Run every stage at the given scale; return the figures as one flat dict.

    The scoring pass (features, scoring + top-k, floor) runs ``repeats`` times and each
    figure is the median: the first pass of a process also pays for fresh memory pages.
    """
    repeats = repeats or default_repeats(n_alumni, n_rels)
    from matcher import db
    from matcher.synth import Pools

    with tempfile.TemporaryDirectory(prefix="jetmatch-bench-") as folder:
        t0 = time.perf_counter()
        url = reference_database(Path(folder), db_alumni, seed)
        db_s = time.perf_counter() - t0
        engine = db.make_engine(url)
        with db.make_sessionmaker(engine)() as session:
            pools, geo = Pools.from_session(session), _geography(session)
            incremental_db_ms = _incremental_db(session)
        engine.dispose()
    t0 = time.perf_counter()
    alumni, rels = synthetic(pools, geo, n_alumni, n_rels, seed)
    gen_s = time.perf_counter() - t0
    scorer = Scorer({})
    score_pool(geo, alumni.take(slice(0, 64)), rels, scorer, k, k)  # compiles the kernels (once per process)
    runs: list[dict[str, float]] = []
    for _ in range(repeats):
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        by_col, by_row = score_pool(geo, alumni, rels, scorer, k, k, timings=timings)
        runs.append({**timings, "total_s": time.perf_counter() - t0, "ratio": timings["score_s"] / timings["floor_s"]})
    timings = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
    t0 = time.perf_counter()
    chosen = assign_edges(by_col.rows, by_col.cols, by_col.scores.astype(float), alumni.capacity, rels.wanted)
    assign_s = time.perf_counter() - t0
    incremental_ms = _incremental(geo, alumni, rels, scorer, by_col, k) * 1000
    return dict(alumni=n_alumni, relationships=n_rels, pairs=n_alumni * n_rels,
                features_s=round(timings["features_s"], 3), score_s=round(timings["score_s"], 3),
                floor_s=round(timings["floor_s"], 4), ratio=round(timings["ratio"], 1),
                full_pass_s=round(timings["total_s"], 3), repeats=repeats, score_threads=topk_threads(),
                assign_s=round(assign_s, 3), assigned=int(chosen.sum()),
                incremental_ms=round(incremental_ms, 2), incremental_db_ms=round(incremental_db_ms, 2),
                incremental_db_alumni=db_alumni, peak_mb=round(_peak_mb(), 1),
                volunteer_lists=int(len(np.unique(by_col.cols))), alumnus_lists=int(len(np.unique(by_row.rows))),
                generate_s=round(gen_s, 2), database_s=round(db_s, 2))


def _incremental(geo, alumni, rels, scorer, by_col, k: int, repeats: int = 20) -> float:
    """Median time to re-score one alumnus (arrays only) and find the relationship lists it enters."""
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


def _incremental_db(session, repeats: int = 20) -> float:
    """Median ms for one alumnus's refresh stored in the database: ``rescore_alumnus`` and the commit.

    The profile edit itself is not timed; the process caches (relationship side, model) are
    warm, as in a web worker that has served one refresh before.
    """
    from sqlalchemy import select

    from matcher.models import Alumnus
    from matcher.scoring.suggestions import rescore_alumnus

    ids = session.scalars(select(Alumnus.id).where(Alumnus.consent.is_(True)).order_by(Alumnus.id)).all()
    picks = [ids[i] for i in np.linspace(0, len(ids) - 1, repeats + 1).astype(int)]
    rescore_alumnus(session, picks[0])
    session.commit()
    times = []
    for aid in picks[1:]:
        t0 = time.perf_counter()
        rescore_alumnus(session, aid)
        session.commit()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)
