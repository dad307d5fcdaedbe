"""Capacity-aware assignment: capacities are never exceeded and the total is maximal."""

import itertools

import numpy as np

from matcher.scoring.assignment import assign_edges


def test_capacity_is_never_exceeded_and_the_total_is_optimal():
    rng = np.random.default_rng(11)
    rows, cols = np.array(list(itertools.product(range(6), range(3)))).T
    scores = rng.uniform(0.5, 5, rows.size)
    row_cap, col_cap = np.array([1, 2, 1, 0, 1, 1]), np.array([2, 1, 2])
    chosen = assign_edges(rows, cols, scores, row_cap, col_cap)
    assert (np.bincount(rows[chosen], minlength=6) <= row_cap).all()
    assert (np.bincount(cols[chosen], minlength=3) <= col_cap).all()
    best = 0.0
    for mask in itertools.product([0, 1], repeat=rows.size):  # brute force: 2^18 subsets
        m = np.array(mask, bool)
        if (np.bincount(rows[m], minlength=6) <= row_cap).all() and (np.bincount(cols[m], minlength=3) <= col_cap).all():
            best = max(best, scores[m].sum())
    assert scores[chosen].sum() == best
