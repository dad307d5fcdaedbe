"""Learn comparison weights from coordinators' decisions, and adopt them only when they rank better.

A decision's ``features`` hold the level of each factor for the decided pair
(``{"placement": "partner", "distance": "within_80km", ...}``). A logistic regression on
one-hot level indicators gives one weight per level, so a learned model is as readable as
the defaults: each factor's weights are shifted so its least specific level weighs 0.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np

from matcher.scoring.comparisons import ALUMNUS_FACTORS, LEVELS, PAIR_FACTORS, validate_settings

__all__ = ["FACTORS", "LevelLogit", "indicators", "ndcg_at_k", "precision_at_k", "evaluate", "consider",
           "train_from_decisions", "model_status", "use_model"]

FACTORS = PAIR_FACTORS + ALUMNUS_FACTORS
_COLUMNS = [(f, name) for f in FACTORS for name, _, _ in LEVELS[f]]


def indicators(features: list[dict[str, str]]) -> np.ndarray:
    """Return the one-hot level indicator matrix (n, levels) of decision features.

    >>> x = indicators([{"placement": "partner"}])
    >>> x.shape[0], float(x.sum())
    (1, 1.0)
    """
    index = {c: i for i, c in enumerate(_COLUMNS)}
    x = np.zeros((len(features), len(_COLUMNS)))
    for i, feats in enumerate(features):
        for f, level in feats.items():
            j = index.get((f, level))
            if j is not None:
                x[i, j] = 1.0
    return x


def _scores(settings: dict[str, Any], x: np.ndarray) -> np.ndarray:
    w = validate_settings(settings)["weights"]
    return x @ np.array([w[f][name] for f, name in _COLUMNS])


class LevelLogit:
    """Logistic regression on level indicators; ``weights_`` is a settings ``weights`` object."""

    def __init__(self, C: float = 1.0) -> None:
        self.C = C

    def fit(self, x: np.ndarray, y: np.ndarray) -> LevelLogit:
        from sklearn.linear_model import LogisticRegression

        model = LogisticRegression(C=self.C, max_iter=1000).fit(x, y)
        coef = dict(zip(_COLUMNS, model.coef_[0]))
        self.weights_ = {}
        for f in FACTORS:
            base = coef[(f, LEVELS[f][-1][0])]
            self.weights_[f] = {name: round(float(coef[(f, name)] - base), 4) for name, _, _ in LEVELS[f]}
        return self


def ndcg_at_k(relevance_in_rank_order: np.ndarray, k: int = 10) -> float:
    """NDCG@k of one ranked list of 0/1 relevances.

    >>> ndcg_at_k(np.array([1, 0, 0])), round(ndcg_at_k(np.array([0, 1])), 3)
    (1.0, 0.631)
    """
    rel = np.asarray(relevance_in_rank_order, float)
    disc = 1 / np.log2(np.arange(2, min(k, rel.size) + 2))
    dcg = float((rel[:k] * disc).sum())
    ideal = float((np.sort(rel)[::-1][:k] * disc).sum())
    return dcg / ideal if ideal else 0.0


def precision_at_k(relevance_in_rank_order: np.ndarray, k: int = 10) -> float:
    """Share of approvals among the first k (or fewer) ranked decisions."""
    rel = np.asarray(relevance_in_rank_order, float)[:k]
    return float(rel.mean()) if rel.size else 0.0


def evaluate(settings: dict[str, Any], x: np.ndarray, y: np.ndarray, groups: np.ndarray, k: int = 10) -> dict:
    """Mean NDCG@k and precision@k over groups (a relationship's decided candidates) with an approval."""
    s = _scores(settings, x)
    nd, pr = [], []
    for g in np.unique(groups):
        idx = np.flatnonzero(groups == g)
        if y[idx].sum() == 0:
            continue
        order = idx[np.lexsort((idx, -s[idx]))]
        nd.append(ndcg_at_k(y[order], k))
        pr.append(precision_at_k(y[order], k))
    return {"ndcg@10": float(np.mean(nd)) if nd else 0.0, "precision@10": float(np.mean(pr)) if pr else 0.0,
            "groups": len(nd)}


def consider(current: dict[str, Any], candidate: dict[str, Any], x, y, groups) -> tuple[bool, dict, dict]:
    """Return (adopt?, current metrics, candidate metrics) on held-out decisions: adopt only if NDCG@10 is higher."""
    now, new = evaluate(current, x, y, groups), evaluate(candidate, x, y, groups)
    better = (new["ndcg@10"], new["precision@10"]) > (now["ndcg@10"] + 1e-9, now["precision@10"] - 1.0)
    return better, now, new


def _split(groups: np.ndarray, seed: int, held_out: float = 0.3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    unique = np.unique(groups)
    test = rng.choice(unique, size=max(1, int(round(len(unique) * held_out))), replace=False)
    return np.isin(groups, test)


def learn(current: dict[str, Any], features: list[dict[str, str]], approved: np.ndarray, groups: np.ndarray,
          seed: int = 0, version: str | None = None) -> dict[str, Any]:
    """Fit on decisions of most relationships, judge on the rest; return the candidate settings and verdict."""
    x, y, groups = indicators(features), np.asarray(approved, int), np.asarray(groups)
    test = _split(groups, seed)
    if len(np.unique(y[~test])) < 2:
        raise ValueError("need both approved and rejected decisions to learn from")
    fitted = LevelLogit().fit(x[~test], y[~test])
    candidate = validate_settings({**current, "weights": fitted.weights_,
                                   "version": version or f"learned-{dt.datetime.now():%Y%m%d%H%M%S}"})
    adopt, now, new = consider(current, candidate, x[test], y[test], groups[test])
    return dict(settings=candidate, adopted=adopt, current=now, candidate=new,
                train=int((~test).sum()), held_out=int(test.sum()))


def _decisions(session) -> tuple[list[dict[str, str]], np.ndarray, np.ndarray]:
    """The latest approve/reject decision per request, with its level features and relationship."""
    from sqlalchemy import select

    from matcher.models import Decision, MatchRequest

    latest: dict[int, tuple] = {}
    q = (select(Decision, MatchRequest).join(MatchRequest, Decision.request_id == MatchRequest.id)
         .where(MatchRequest.kind == "introduction").order_by(Decision.request_id, Decision.sequence))
    for d, req in session.execute(q):
        latest[d.request_id] = (d, req)
    feats, y, groups = [], [], []
    for d, req in latest.values():
        if d.status not in ("approved", "rejected"):  # on hold, or closed because consent was withdrawn
            continue
        f = d.features or {c["factor"]: c["level"] for c in req.contributions or [] if "factor" in c}
        feats.append({k: v for k, v in f.items() if k in FACTORS})
        y.append(d.status == "approved")
        groups.append(req.relationship_id or 0)
    return feats, np.array(y, int), np.array(groups)


def train_from_decisions(session, seed: int = 0) -> dict[str, Any]:
    """Train on stored decisions; store the candidate (active only if it ranks held-out decisions better)."""
    from matcher.models import ScoringModel
    from matcher.scoring.pool import active_model

    version, current = active_model(session)
    if session.get(ScoringModel, version) is None:
        session.add(ScoringModel(version=version, settings=current, metrics={}, active=True))
    feats, y, groups = _decisions(session)
    if len(y) < 20:
        raise ValueError(f"only {len(y)} decisions: need at least 20 approvals and rejections to learn from")
    report = learn(current, feats, y, groups, seed=seed)
    new = report.pop("settings")
    session.add(ScoringModel(version=new["version"], settings=new, active=False,
                             metrics={"held_out": report["candidate"], "baseline": report["current"]}))
    session.flush()
    if report["adopted"]:
        use_model(session, new["version"])
    return dict(version=new["version"], previous=version, **report)


def model_status(session) -> list[dict[str, Any]]:
    """Every stored model, newest first; the defaults are listed (active) when nothing is stored."""
    from sqlalchemy import select

    from matcher.models import ScoringModel

    rows = [dict(version=m.version, active=m.active, metrics=m.metrics, created_at=m.created_at)
            for m in session.scalars(select(ScoringModel).order_by(ScoringModel.created_at.desc()))
            if not _is_partnership_model(m)]
    return rows or [dict(version="default", active=True, metrics={}, created_at=None)]


def _is_partnership_model(model) -> bool:
    """Partnership link-prediction models share the table but never score volunteers."""
    return (model.settings or {}).get("kind") == "partnerships"


def use_model(session, version: str) -> None:
    """Make ``version`` the only active model."""
    from sqlalchemy import update

    from matcher.scoring.comparisons import default_settings
    from matcher.models import ScoringModel
    from matcher.scoring.pool import invalidate

    stored = session.get(ScoringModel, version)
    if stored is not None and _is_partnership_model(stored):
        raise LookupError(f"{version!r} is a partnership model (see `jetmatch partnerships`), not a scoring model")
    if stored is None:
        if version != "default":
            raise LookupError(f"no model {version!r}")
        session.add(ScoringModel(version="default", settings=default_settings(), metrics={}))
        session.flush()
    session.execute(update(ScoringModel).values(active=ScoringModel.version == version))
    session.flush()
    invalidate()  # cached reasons and relationship arrays are rebuilt for the new model
