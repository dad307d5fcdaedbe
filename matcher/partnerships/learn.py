"""Logistic learners with sign constraints, fitted with SciPy's L-BFGS-B: a pointwise one
(pair vs non-pair) and a listwise one (the true partner against every other candidate of the
same US side, a conditional logit), and Platt calibration of scores against labels.

scikit-learn's LogisticRegression has no bounds on coefficients; the bounds are what keeps
a supporting reason (alumni, existing ties) from ever subtracting from a score.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit
from threadpoolctl import threadpool_limits

__all__ = ["fit_listwise", "fit_pointwise", "fit_platt", "group_starts"]


def group_starts(groups: np.ndarray) -> np.ndarray:
    """Offsets where each run of equal, contiguous group ids starts.

    >>> group_starts(np.array([0, 0, 0, 3, 3, 5])).tolist()
    [0, 3, 5]
    """
    groups = np.asarray(groups)
    return np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]])


def fit_listwise(x: np.ndarray, y: np.ndarray, groups: np.ndarray, lam: float = 1e-3,
                 nonneg: np.ndarray | None = None) -> np.ndarray:
    """Weights ``w`` maximising the softmax likelihood of each group's positive row.

    Each group (contiguous rows with one ``y == 1``) is a US side's candidate list; the loss
    is the mean of ``logsumexp(x_g w) - x_pos w`` plus ``lam/2 |w|²``. Weights where
    ``nonneg`` is True are kept ≥ 0.

    Examples
    --------
    >>> x = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    >>> y = np.array([1, 0, 0, 1, 0])
    >>> w = fit_listwise(x, y, np.array([0, 0, 0, 1, 1]), nonneg=np.array([True, True]))
    >>> bool(w[0] > 1.0), bool(w[1] >= 0.0)
    (True, True)
    """
    starts = group_starts(groups)
    sizes = np.diff(np.r_[starts, len(y)])
    pos = x[y == 1].sum(axis=0)
    n_groups = len(starts)

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        s = x @ w
        top = np.maximum.reduceat(s, starts)
        e = np.exp(s - np.repeat(top, sizes))
        z = np.add.reduceat(e, starts)
        p = e / np.repeat(z, sizes)
        value = (np.sum(top + np.log(z)) - pos @ w) / n_groups + 0.5 * lam * w @ w
        return value, (x.T @ p - pos) / n_groups + lam * w

    return _minimise(loss, x.shape[1], nonneg)


def fit_pointwise(x: np.ndarray, y: np.ndarray, lam: float = 1e-3,
                  nonneg: np.ndarray | None = None) -> tuple[np.ndarray, float]:
    """Logistic regression ``(w, b)`` with ``lam/2 |w|²`` (``b`` free) and ``w ≥ 0`` where ``nonneg``.

    >>> x = np.array([[0.0], [1.0], [2.0], [3.0]])
    >>> w, b = fit_pointwise(x, np.array([0, 0, 1, 1]))
    >>> bool(w[0] > 0)
    True
    """
    xb = np.c_[x, np.ones(len(x))]

    def loss(wb: np.ndarray) -> tuple[float, np.ndarray]:
        s = xb @ wb
        w = wb.copy()
        w[-1] = 0.0
        value = np.mean(np.logaddexp(0.0, s) - y * s) + 0.5 * lam * w @ w
        return value, xb.T @ (expit(s) - y) / len(y) + lam * w

    bounds_for = None if nonneg is None else np.r_[nonneg, False]
    wb = _minimise(loss, xb.shape[1], bounds_for)
    return wb[:-1], float(wb[-1])


def fit_platt(scores: np.ndarray, y: np.ndarray, levels: np.ndarray) -> tuple[float, np.ndarray]:
    """Platt scaling with one intercept per level: ``P(y=1) = σ(a·score + b[level])``.

    Returns ``(a, b)``; ``a`` is kept > 0 so the calibrated figure rises with the score.

    >>> s = np.r_[np.linspace(-3, 3, 200), np.linspace(-3, 3, 200)]
    >>> y = (np.random.default_rng(0).random(400) < 1 / (1 + np.exp(-2 * s))).astype(float)
    >>> a, b = fit_platt(s, y, np.zeros(400, dtype=int))
    >>> bool(1.5 < a < 2.7), len(b)
    (True, 1)
    """
    n_levels = int(levels.max()) + 1 if len(levels) else 1
    onehot = np.zeros((len(scores), n_levels))
    onehot[np.arange(len(scores)), levels] = 1.0
    x = np.c_[scores, onehot]

    def loss(p: np.ndarray) -> tuple[float, np.ndarray]:
        s = x @ p
        return float(np.sum(np.logaddexp(0.0, s) - y * s)), x.T @ (expit(s) - y)

    bounds = [(1e-6, None)] + [(None, None)] * n_levels
    start = np.r_[1.0, np.full(n_levels, np.log(max(y.mean(), 1e-9)))]
    with threadpool_limits(1, user_api="blas"):
        res = minimize(loss, start, jac=True, method="L-BFGS-B", bounds=bounds)
    return float(res.x[0]), np.asarray(res.x[1:])


def _minimise(loss, n: int, nonneg: np.ndarray | None) -> np.ndarray:
    bounds = None if nonneg is None else [(0.0, None) if b else (None, None) for b in nonneg]
    # One BLAS thread: these products are small, and a thread pool on a busy machine made
    # each step ten times slower.
    with threadpool_limits(1, user_api="blas"):
        res = minimize(loss, np.zeros(n), jac=True, method="L-BFGS-B", bounds=bounds, options={"maxiter": 1000})
    return np.asarray(res.x)
