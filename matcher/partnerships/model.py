"""The partnership classifier (a standardised logistic regression whose log-odds split into one
readable contribution per feature) and its stored versions as ScoringModel rows."""

from __future__ import annotations

import math
from functools import cached_property

import numpy as np

from matcher.partnerships.features import (_CONTINUOUS, FEATURES, SIGNALS, SUPPORTING, _sentence, _transform,
                                           candidate_lists)
from matcher.partnerships.graph import TieGraph

__all__ = ["PartnershipModel", "fit_model", "MODEL_PREFIX", "DEFAULT_FEATURES", "DROPPED_SIGNALS", "stored_model",
           "model_for", "sigmoid"]


class PartnershipModel:
    """Rank pairs over FEATURES with additive explanations and a calibrated figure.

    ``objective="listwise"`` (the default) learns weights from each known pair's full
    candidate list (a conditional logit: the true partner against every other municipality,
    or prefecture, the US side could have chosen), then Platt-scales cross-fitted scores
    on those lists, folding the scale into the weights and one intercept per level into
    the starting point. So ``decision_function`` is a calibrated log-odds:
    ``σ(score)`` is the chance that this is the partner, were the US side to sign one more
    at this level. ``"pointwise"`` is the earlier pair-vs-sampled-non-pair classifier.

    Each feature enters as ``(value − reference) / scale``: the reference is 0 for counts
    and flags (so "no alumni" adds nothing) and the average pair for sizes. Weights of
    SUPPORTING features are kept ≥ 0, so those lines never subtract.

    Parameters
    ----------
    C : float, optional
        Inverse strength of the L2 penalty.
    features : tuple of str, optional
        The features used (default: DEFAULT_FEATURES).
    objective : str, optional
        "listwise" or "pointwise".
    folds : int, optional
        Folds of the cross-fitting the calibration learns from.
    negatives : int, optional
        About this many candidates per list are sampled for the listwise fit (the partner is
        always kept).
    seed : int, optional
        Seeds the sampling and the folds.
    """

    def __init__(self, C: float = 1.0, features: tuple[str, ...] | None = None, objective: str = "listwise",
                 folds: int = 4, negatives: int = 400, seed: int = 0):
        self.C = C
        self.features = features
        self.objective = objective
        self.folds = folds
        self.negatives = negatives
        self.seed = seed

    def fit(self, raw: np.ndarray, y: np.ndarray, groups: np.ndarray | None = None,
            levels: np.ndarray | None = None) -> PartnershipModel:
        """Learn from ``raw`` features and labels; listwise needs contiguous ``groups`` (one
        positive each) and ``levels`` (0 municipality list, 1 prefecture list)."""
        from matcher.partnerships.learn import fit_platt, fit_pointwise  # scipy.optimize: only to fit

        names = list(FEATURES)
        self.names_ = list(self.features or names)
        self.columns_ = np.array([names.index(f) for f in self.names_])
        x = _transform(raw)[:, self.columns_]
        known = ~np.isnan(x)
        self.fill_ = np.array([np.median(x[known[:, j], j]) if known[:, j].any() else 0.0
                               for j in range(x.shape[1])])  # a column unknown everywhere adds nothing
        x = np.where(np.isnan(x), self.fill_, x)
        continuous = np.array([n in _CONTINUOUS for n in self.names_])
        nonneg = np.array([n in SUPPORTING for n in self.names_])
        # A supporting share is measured from its smallest training value (and floored there),
        # so that, like a count measured from none, its line never subtracts.
        floor = x.min(axis=0) if len(x) else np.zeros(x.shape[1])
        self.mean_ = np.where(continuous, np.where(nonneg, floor, x.mean(axis=0)), 0.0)
        sd = x.std(axis=0)
        self.scale_ = np.where(sd > 0, sd, 1.0)
        z = self._floored((x - self.mean_) / self.scale_)
        if self.objective == "pointwise":
            self.coef_, b = fit_pointwise(z, y, lam=1.0 / (self.C * len(y)), nonneg=nonneg)
            self.intercepts_ = np.array([b, b])
            self.platt_ = (1.0, [b, b])
            return self
        if groups is None:
            raise ValueError("a listwise model learns from candidate lists: pass groups (see candidate_lists)")
        levels = np.zeros(len(y), dtype=int) if levels is None else np.asarray(levels, dtype=int)
        oof = self._out_of_fold(z, y, groups, nonneg)
        a, b = fit_platt(oof, y, levels)
        b = np.r_[b, np.full(2 - len(b), b[0])] if len(b) < 2 else b[:2]
        self.coef_ = a * self._listwise(z, y, groups, nonneg)
        self.intercepts_ = np.asarray(b, dtype=float)
        self.platt_ = (a, b.tolist())
        return self

    def _listwise(self, z: np.ndarray, y: np.ndarray, groups: np.ndarray, nonneg: np.ndarray) -> np.ndarray:
        """Listwise weights from each list's positive and a uniform sample of its negatives
        (a conditional logit stays consistent when alternatives are sampled uniformly)."""
        from matcher.partnerships.learn import fit_listwise, group_starts

        rng = np.random.default_rng(self.seed)
        sizes = np.diff(np.r_[group_starts(groups), len(y)])
        rate = np.repeat(np.minimum(1.0, self.negatives / np.maximum(sizes - 1, 1)), sizes)
        keep = (y == 1) | (rng.random(len(y)) < rate)
        n_groups = len(sizes)
        return fit_listwise(z[keep], y[keep], groups[keep], lam=1.0 / (self.C * max(n_groups, 1)), nonneg=nonneg)

    def _out_of_fold(self, z: np.ndarray, y: np.ndarray, groups: np.ndarray, nonneg: np.ndarray) -> np.ndarray:
        """Each list scored by weights fitted without it (``folds`` folds of lists)."""
        ids = np.unique(groups)
        fold_of = dict(zip(ids.tolist(), np.random.default_rng(self.seed).permutation(len(ids)) % self.folds))
        fold = np.array([fold_of[g] for g in groups.tolist()]) if len(groups) else np.zeros(0, int)
        out = np.zeros(len(y))
        for k in range(min(self.folds, len(ids))):
            test = fold == k
            w = self._listwise(z[~test], y[~test], groups[~test], nonneg)
            out[test] = z[test] @ w
        self.oof_ = out
        return out

    def to_settings(self) -> dict:
        """The learned values as plain JSON (for a ``ScoringModel`` row)."""
        return {"C": self.C, "objective": self.objective, "features": self.names_, "fill": self.fill_.tolist(),
                "mean": self.mean_.tolist(), "scale": self.scale_.tolist(), "coef": self.coef_.tolist(),
                "intercepts": self.intercepts_.tolist(), "platt": {"a": self.platt_[0], "b": list(self.platt_[1])}}

    @classmethod
    def from_settings(cls, settings: dict) -> PartnershipModel:
        """Rebuild a fitted model from ``to_settings()``; ValueError if FEATURES changed since
        (or the row predates calibrated scores)."""
        names = list(FEATURES)
        unknown = [f for f in settings["features"] if f not in names]
        if unknown:
            raise ValueError(f"stored model uses features this code no longer has: {', '.join(unknown)}")
        if "intercepts" not in settings:
            raise ValueError("stored model predates calibrated scores")
        model = cls(C=settings.get("C", 1.0), features=tuple(settings["features"]),
                    objective=settings.get("objective", "listwise"))
        model.names_ = list(settings["features"])
        model.columns_ = np.array([names.index(f) for f in model.names_])
        model.fill_, model.mean_, model.scale_, model.coef_, model.intercepts_ = (
            np.asarray(settings[k], dtype=float) for k in ("fill", "mean", "scale", "coef", "intercepts"))
        platt = settings.get("platt", {"a": 1.0, "b": settings["intercepts"]})
        model.platt_ = (float(platt["a"]), list(platt["b"]))
        return model

    def standardised(self, raw: np.ndarray) -> np.ndarray:
        """The model's inputs for ``raw`` rows: transformed, filled, centred and scaled, column by column.

        Element by element, so a row's inputs are the same whether it comes alone or among many:
        a caller scoring many pairs standardises them once and passes each row's ``z`` on.
        """
        return self._standardised(raw)

    @cached_property
    def _floor_columns(self) -> np.ndarray:
        """Columns of supporting shares, floored at their reference (see ``fit``)."""
        return np.flatnonzero([n in SUPPORTING and n in _CONTINUOUS for n in self.names_])

    def _floored(self, z: np.ndarray) -> np.ndarray:
        for j in self._floor_columns:
            np.maximum(z[:, j], 0.0, out=z[:, j])
        return z

    def _standardised(self, raw: np.ndarray) -> np.ndarray:
        x = _transform(raw)
        if len(self.columns_) != x.shape[1] or np.any(self.columns_ != np.arange(x.shape[1])):
            x = x[:, self.columns_]
        for j in range(x.shape[1]):  # column by column, in place: ranking scores ~10⁶ pairs
            col = x[:, j]
            col[np.isnan(col)] = self.fill_[j]
            col -= self.mean_[j]
            col /= self.scale_[j]
        return self._floored(x)

    def _intercept(self, levels, n: int) -> np.ndarray | float:
        if levels is None:
            return float(self.intercepts_[0])
        return self.intercepts_[np.asarray(levels, dtype=int)]

    def contributions(self, raw: np.ndarray) -> np.ndarray:
        """Per-pair, per-feature contributions to the score (without the intercept)."""
        return self._standardised(raw) * self.coef_

    def decision_function(self, raw: np.ndarray, levels: np.ndarray | None = None,
                          z: np.ndarray | None = None) -> np.ndarray:
        """The score (calibrated log-odds); ``levels`` 1 where the JP side is a prefecture; ``z`` the
        rows' :meth:`standardised` inputs when the caller has them."""
        z = self._standardised(raw) if z is None else z
        return z @ self.coef_ + self._intercept(levels, len(raw))

    def probability(self, raw: np.ndarray, levels: np.ndarray | None = None) -> np.ndarray:
        """The calibrated figure: ``σ(score)``, rising with the score."""
        from scipy.special import expit  # imported here: scoring one pair at a time needs only sigmoid

        return expit(self.decision_function(raw, levels))

    def explain(self, raw_row: np.ndarray, top: int | None = None, level: int = 0,
                z: np.ndarray | None = None) -> list[dict]:
        """Return the starting point and each feature's contribution with a sentence,
        strongest first. Features the model gives no weight are left out (they add 0).
        ``z`` is the row's :meth:`standardised` inputs when the caller has them."""
        z = self._standardised(raw_row[None, :])[0] if z is None else z
        # Python floats once (the same numbers): indexing numpy arrays element by element cost more than the sums
        contrib, coef, zs = (z * self.coef_).tolist(), self.coef_.tolist(), np.asarray(z, dtype=float).tolist()
        values = np.asarray(raw_row, dtype=float)[self.columns_].tolist()
        lines = []
        for j, name in enumerate(self.names_):
            if coef[j] == 0:
                continue
            value = values[j]
            lines.append({"factor": name, "value": None if value != value else value,  # NaN: unknown
                          "contribution": round(contrib[j], 4), "sentence": _sentence(name, value),
                          "relative": _relative(name, zs[j])})
        lines.sort(key=lambda r: -abs(r["contribution"]))
        if top is not None:
            lines = lines[:top]
        start = ("one prefecture among the 47" if level else "one municipality among all of Japan's")
        return [{"factor": "intercept", "value": None, "contribution": round(float(self.intercepts_[level]), 4),
                 "sentence": f"starting point: {start}, with none of the ties below and average size",
                 "relative": ""}] + lines


def sigmoid(x: float) -> float:
    """``scipy.special.expit`` of one float, the same number (``1 / (1 + exp(-x))``, as scipy computes it
    for a double), without loading scipy.special (a quarter of a second).

    >>> sigmoid(0.0), sigmoid(-1000.0), sigmoid(1000.0)
    (0.5, 0.0, 1.0)
    """
    try:
        return 1.0 / (1.0 + math.exp(-x))
    except OverflowError:  # exp(-x) is inf: so is the denominator
        return 0.0


def _relative(name: str, z: float) -> str:
    """Where a size sits against the training pairs (counts and flags are measured from none)."""
    if name not in _CONTINUOUS or name in SUPPORTING:  # a supporting share is measured from its least
        return ""
    return "about average" if abs(z) < 0.05 else ("above average" if z > 0 else "below average")


# Chosen on inner validation only (cross-fitted on each training split's own lists, never on
# its hidden pairs; development splits 100–104, not the evaluation's seeds; see
# `jetmatch partnerships evaluate --ablation`): the projected-graph indices and the alumni
# bridges (on synthetic alumni, whose placements are unrelated to partnerships) did not
# improve the ranking, nor did prefecture popularity/affinity (the state and area shares
# already carry it), the longitude product, designated cities or nearby towns' partners;
# the size product, the latitude gap and the coast product (ports with ports) did. The coast
# flags (both on the coast; the JP side on the coast), the latitude product and the size gap
# of towns added nothing beyond them. Champions still come from alumni.
DROPPED_SIGNALS: tuple[str, ...] = ("graph_indices", "alumni", "prefecture", "longitude", "designated",
                                    "near_partners", "coast_flags", "latitude_product", "town_size_gap")
DEFAULT_FEATURES: tuple[str, ...] = tuple(
    f for f in FEATURES if not any(f in SIGNALS[g] for g in DROPPED_SIGNALS))


def fit_model(graph: TieGraph, seed: int = 0, features: tuple[str, ...] | None = None,
              exclude: set[tuple[int, int]] | None = None) -> PartnershipModel:
    """Train on every existing pair's candidate list, each scored on the graph without that pair.

    Parameters
    ----------
    graph : TieGraph
        The known partnerships.
    seed : int, optional
        Seeds the fit.
    features : tuple of str, optional
        The features used (default: DEFAULT_FEATURES).
    exclude : set of (int, int), optional
        Pairs known elsewhere (hidden in an evaluation), kept out of the candidate lists.

    Returns
    -------
    PartnershipModel
        The fitted, calibrated model.
    """
    lists = candidate_lists(graph, exclude=exclude)
    return PartnershipModel(features=features or DEFAULT_FEATURES, seed=seed).fit(
        lists["raw"], lists["y"], lists["group"], lists["level"])


MODEL_PREFIX = "partnerships-"


def stored_model(session) -> tuple[PartnershipModel, str] | None:
    """Return the newest stored partnerships model and its version.

    Parameters
    ----------
    session : Session
        Read only.

    Returns
    -------
    (PartnershipModel, str) or None
        None when there is none (or it no longer fits the code's FEATURES).
    """
    from sqlalchemy import select

    from matcher.models import ScoringModel

    row = session.scalars(select(ScoringModel).where(ScoringModel.version.like(MODEL_PREFIX + "%"))
                          .order_by(ScoringModel.version.desc())).first()
    if row is None or row.settings.get("kind") != "partnerships":
        return None
    try:
        return PartnershipModel.from_settings(row.settings), row.version
    except (KeyError, ValueError):
        return None


def model_for(session, graph: TieGraph) -> tuple[PartnershipModel, str | None]:
    """Return the stored model, else one fitted on ``graph`` now (a few seconds; version None).

    Parameters
    ----------
    session : Session
        Read only.
    graph : TieGraph
        The partnerships to fit on when no model is stored.

    Returns
    -------
    (PartnershipModel, str or None)
        The model and its stored version.
    """
    found = stored_model(session)
    return found if found is not None else (fit_model(graph), None)
