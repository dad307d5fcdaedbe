"""The partnership classifier (a standardised logistic regression whose log-odds split into one
readable contribution per feature) and its stored versions as ScoringModel rows."""

from __future__ import annotations

import datetime as dt

import numpy as np
from sklearn.linear_model import LogisticRegression

from matcher.partnerships.features import FEATURES, _sentence, _transform, training_examples
from matcher.partnerships.graph import TieGraph
from matcher.partnerships.load import load_graph

__all__ = ["PartnershipModel", "fit_model", "MODEL_PREFIX", "train", "stored_model", "model_for"]


class PartnershipModel:
    """Standardised logistic regression over FEATURES, with additive explanations.

    ``decision_function(raw)`` is the log-odds; ``contributions(raw)`` splits it into
    ``coef_i × standardised feature_i`` per feature, plus ``intercept_`` on its own line.
    """

    def __init__(self, C: float = 1.0, features: tuple[str, ...] | None = None):
        self.C = C
        self.features = features

    def fit(self, raw: np.ndarray, y: np.ndarray) -> PartnershipModel:
        names = list(FEATURES)
        self.columns_ = np.array([names.index(f) for f in (self.features or names)])
        x = _transform(raw)[:, self.columns_]
        self.fill_ = np.nan_to_num(np.nanmedian(x, axis=0))
        x = np.where(np.isnan(x), self.fill_, x)
        self.mean_ = x.mean(axis=0)
        self.scale_ = np.where(x.std(axis=0) > 0, x.std(axis=0), 1.0)
        clf = LogisticRegression(C=self.C, max_iter=2000)
        clf.fit((x - self.mean_) / self.scale_, y)
        self.coef_ = clf.coef_.ravel()
        self.intercept_ = float(clf.intercept_[0])
        self.names_ = [names[i] for i in self.columns_]
        return self

    def to_settings(self) -> dict:
        """The learned values as plain JSON (for a ``ScoringModel`` row)."""
        return {"C": self.C, "features": self.names_, "fill": self.fill_.tolist(), "mean": self.mean_.tolist(),
                "scale": self.scale_.tolist(), "coef": self.coef_.tolist(), "intercept": self.intercept_}

    @classmethod
    def from_settings(cls, settings: dict) -> PartnershipModel:
        """Rebuild a fitted model from ``to_settings()``; ValueError if FEATURES changed since."""
        names = list(FEATURES)
        unknown = [f for f in settings["features"] if f not in names]
        if unknown:
            raise ValueError(f"stored model uses features this code no longer has: {', '.join(unknown)}")
        model = cls(C=settings.get("C", 1.0), features=tuple(settings["features"]))
        model.names_ = list(settings["features"])
        model.columns_ = np.array([names.index(f) for f in model.names_])
        model.fill_, model.mean_, model.scale_, model.coef_ = (
            np.asarray(settings[k], dtype=float) for k in ("fill", "mean", "scale", "coef"))
        model.intercept_ = float(settings["intercept"])
        return model

    def _standardised(self, raw: np.ndarray) -> np.ndarray:
        x = _transform(raw)
        if len(self.columns_) != x.shape[1] or np.any(self.columns_ != np.arange(x.shape[1])):
            x = x[:, self.columns_]
        for j in range(x.shape[1]):  # column by column, in place: ranking scores ~10⁶ pairs
            col = x[:, j]
            col[np.isnan(col)] = self.fill_[j]
            col -= self.mean_[j]
            col /= self.scale_[j]
        return x

    def contributions(self, raw: np.ndarray) -> np.ndarray:
        """Per-pair, per-feature contributions to the log-odds (without the intercept)."""
        return self._standardised(raw) * self.coef_

    def decision_function(self, raw: np.ndarray) -> np.ndarray:
        return self._standardised(raw) @ self.coef_ + self.intercept_

    def explain(self, raw_row: np.ndarray, top: int | None = None) -> list[dict]:
        """Return the intercept and each feature's contribution with a sentence, largest first.

        A contribution is measured from the average training pair, so each line also says
        whether this pair is ``above average`` or ``below average`` on that feature.
        """
        z = self._standardised(raw_row[None, :])[0]
        contrib = z * self.coef_
        lines = []
        for j, name in enumerate(self.names_):
            value = float(raw_row[self.columns_[j]])
            lines.append({"factor": name, "value": None if np.isnan(value) else value,
                          "contribution": round(float(contrib[j]), 4), "sentence": _sentence(name, value),
                          "relative": _relative(float(z[j]))})
        lines.sort(key=lambda r: -abs(r["contribution"]))
        if top is not None:
            lines = lines[:top]
        return [{"factor": "intercept", "value": None, "contribution": round(self.intercept_, 4),
                 "sentence": "starting point: a pair that is average on every factor", "relative": ""}] + lines


def _relative(z: float) -> str:
    """Where a standardised value sits against the training pairs (why a zero can still count)."""
    return "about average" if abs(z) < 0.05 else ("above average" if z > 0 else "below average")


def fit_model(graph: TieGraph, seed: int = 0) -> PartnershipModel:
    """Train on every existing pair (each scored without itself) against sampled non-pairs."""
    return PartnershipModel().fit(*training_examples(graph, np.random.default_rng(seed)))


MODEL_PREFIX = "partnerships-"


def train(session, seed: int = 0, now: dt.datetime | None = None):
    """Fit on every known pair and store the model as ScoringModel ``partnerships-YYYYmmddHHMMSS``.

    The row is never ``active`` (that flag belongs to the volunteer scoring model); its
    settings say ``{"kind": "partnerships", "current": true, ...}`` and older partnership
    rows lose ``current``. Returns the new row (flushed, not committed).
    """
    from sqlalchemy import select

    from matcher.models import ScoringModel

    now = now or dt.datetime.now(dt.timezone.utc)
    graph = load_graph(session)
    raw, y = training_examples(graph, np.random.default_rng(seed))
    model = PartnershipModel().fit(raw, y)
    for older in session.scalars(select(ScoringModel).where(ScoringModel.version.like(MODEL_PREFIX + "%"))):
        older.settings = {**older.settings, "current": False}
    version = MODEL_PREFIX + now.strftime("%Y%m%d%H%M%S")
    row = session.get(ScoringModel, version) or ScoringModel(version=version, active=False)
    row.settings = {"kind": "partnerships", "current": True, "seed": seed, **model.to_settings()}
    row.metrics = {"pairs": int(len(graph.us)), "examples": int(len(y)), "positives": int(y.sum()),
                   "trained_at": now.isoformat(timespec="seconds")}
    session.add(row)
    session.flush()
    return row


def stored_model(session) -> tuple[PartnershipModel, str] | None:
    """The newest stored partnerships model and its version, or None when there is none (or
    it no longer fits the code's FEATURES)."""
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
    """The stored model, else one fitted on ``graph`` now (a few seconds; version None)."""
    found = stored_model(session)
    return found if found is not None else (fit_model(graph), None)
