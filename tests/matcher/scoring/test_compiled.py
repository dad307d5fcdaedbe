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
