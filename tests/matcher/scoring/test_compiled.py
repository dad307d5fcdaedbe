"""The one-pass compiled pair codes equal the NumPy reference, code for code."""

import numpy as np
import pytest

from matcher.scoring.bench import _geography, synthetic
from matcher.scoring.compiled import pair_q
from matcher.scoring.features import pair_codes
from matcher.scoring.pool import load_pool
from matcher.scoring.scorer import Scorer, score_codes
from matcher.scoring.suggestions import score_all
from matcher.synth import Pools, add_demo_alumni
from test_scorer import _full_sort


def test_compiled_codes_equal_numpy_on_synthetic_alumni(session):
    pools, geo = Pools.from_session(session), _geography(session)
    alumni, rels = synthetic(pools, geo, 3000, 250, seed=5)
    scorer = Scorer({})
    expected = score_codes(scorer, pair_codes(geo, alumni, rels, scorer.settings))
    got = pair_q(alumni, rels, scorer.settings, scorer.qmap, geo=geo)
    assert got.shape == expected.shape and (got == expected).all()
    # every level of every comparison occurs, so each branch of the kernel was compared
    placement, rest = np.divmod(scorer.order_q[got[:, :250]], 18)
    assert set(np.unique(placement)) == {0, 1, 2, 3, 4} and set(np.unique(rest // 3)) == set(range(6))


def test_compiled_codes_equal_numpy_on_the_database_pool(session):
    add_demo_alumni(session, 400, seed=9)
    score_all(session)
    pool = load_pool(session)
    scorer = Scorer({})
    expected = score_codes(scorer, pair_codes(pool.geo, pool.alumni, pool.rels, scorer.settings, pool.side.table))
    got = pair_q(pool.alumni, pool.rels, scorer.settings, scorer.qmap, pool.side.table)
    assert (got == expected).all()


def _world(session, n=2000, m=90, seed=6):
    """Synthetic alumni with repeated homes and interest rows, some homes unknown, one home in two states."""
    pools, geo = Pools.from_session(session), _geography(session)
    alumni, rels = synthetic(pools, geo, n, m, seed=seed)
    alumni.xyz[::9] = np.nan
    alumni.state[::18] = -1
    alumni.xyz[1:40:2] = alumni.xyz[0]  # the same point, said to be in another state
    alumni.state[1:40:2] = (alumni.state[0] + 1) % 50
    return geo, alumni, rels


def _keys_collide(monkeypatch):
    """Every home and every interest row hashed alike: the kernel must notice and number rows one by one."""
    from matcher.scoring import compiled

    monkeypatch.setattr(compiled, "_home_keys", lambda bits, state: np.zeros(len(bits), np.uint64))
    monkeypatch.setattr(compiled, "_interest_keys", lambda ptr, ind, bits: np.zeros(len(ptr) - 1, np.uint64))


@pytest.mark.parametrize("how", ["tables", "per_chunk", "collisions"])
def test_blocked_pass_gives_the_lists_of_the_reference(session, monkeypatch, how):
    """The pass from tables of distinct homes and interests equals a full sort of the NumPy codes."""
    from matcher.scoring import compiled
    from matcher.scoring.scorer import score_pool

    geo, alumni, rels = _world(session)
    scorer = Scorer({})
    codes = pair_codes(geo, alumni, rels, scorer.settings)
    expected = _full_sort(scorer, codes, scorer.combos(alumni.codes), 10, 10)
    if how == "per_chunk":
        monkeypatch.setattr(compiled, "TABLE_BUDGET", 0)
    if how == "collisions":
        _keys_collide(monkeypatch)
    tables, keys, whole = compiled.prepare(alumni, rels, scorer.settings, scorer.qmap,
                                           compiled.placement_table(geo, rels))
    assert whole == (how != "per_chunk")
    distinct = len(np.unique(np.c_[np.nan_to_num(alumni.xyz, nan=9.0), alumni.state], axis=0))
    assert len(keys.home_first) == (len(alumni) if how == "collisions" else distinct)
    by_col, by_row = score_pool(geo, alumni, rels, scorer, 10, 10, chunk_pairs=90 * 300)
    got = ({c: by_col.rows[by_col.cols == c].tolist() for c in range(len(rels))},
           {r: by_row.cols[by_row.rows == r].tolist() for r in range(len(alumni))})
    assert got == expected
    assert (scorer.order_q[pair_q(alumni, rels, scorer.settings, scorer.qmap, geo=geo)[:, :len(rels)]]
            == codes).all()


def test_homes_and_interests_are_numbered_by_equality(session):
    from matcher.scoring.compiled import _keys

    _, alumni, rels = _world(session, 600, 20)
    keys = _keys(alumni, rels)
    home = np.c_[alumni.xyz.view(np.int64), alumni.state]
    same_home = (home[:, None, :] == home[None, :, :]).all(axis=2)
    assert ((keys.home[:, None] == keys.home[None, :]) == same_home).all()
    assert (keys.home_first[keys.home] <= np.arange(len(alumni))).all()
    dense = alumni.interests.toarray()
    same_interests = (dense[:, None, :] == dense[None, :, :]).all(axis=2)
    assert ((keys.interest[:, None] == keys.interest[None, :]) == same_interests).all()
    assert len(keys.interest_first) < len(alumni)  # interests repeat: the tables are smaller than the pool
