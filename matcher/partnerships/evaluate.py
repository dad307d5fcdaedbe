"""Evaluation: hide a share of the known pairs, train on the rest, and compare the model with
simple baselines by AUC, Hits@K and MRR."""

from __future__ import annotations

import numpy as np

from matcher.partnerships.features import FEATURES, pair_features, training_examples
from matcher.partnerships.graph import TieGraph, Universe
from matcher.partnerships.model import PartnershipModel

__all__ = ["METHODS", "METRICS", "evaluate_seed", "evaluate"]


METHODS = ("model", "random", "popularity", "ties", "adamic_adar", "resource_allocation")
METRICS = ("auc", "hits@10", "hits@50", "mrr")


def _baseline_scores(method: str, raw: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    col = {name: i for i, name in enumerate(FEATURES)}
    if method == "random":
        return rng.random(len(raw))
    if method == "popularity":  # preferential attachment on the place-level graph
        return raw[:, col["us_degree"]] * raw[:, col["jp_degree"]]
    if method == "ties":  # weight of the projected state–prefecture edge
        return raw[:, col["state_pref_ties"]] + raw[:, col["sister_state"]]
    return raw[:, col[method]]


def _candidates(u: Universe, jp_node: int) -> np.ndarray:
    """Rank a hidden municipality among all municipalities; a prefecture among both."""
    return np.arange(u.n_jp) if u.jp_is_pref[jp_node] else np.flatnonzero(~u.jp_is_pref)


def _rank(scores: np.ndarray, true_i: int) -> float:
    """1-based rank of ``scores[true_i]``; ties share their average rank."""
    s = scores[true_i]
    return 1.0 + np.sum(scores > s) + 0.5 * (np.sum(scores == s) - 1)


def evaluate_seed(graph: TieGraph, seed: int, holdout: float = 0.2, negatives: int = 20) -> dict[str, dict]:
    """Hide ``holdout`` of the pairs, train on the rest, and measure every method.

    AUC: hidden pairs against ``negatives`` random non-pairs each (same US side).
    Hits@K and MRR: each hidden pair's JP side ranked among all JP municipalities (and
    prefectures, when the hidden side is a prefecture) for its US side, leaving out the
    US side's other known partners (training ones and other hidden ones).
    """
    from sklearn.metrics import roc_auc_score

    u = graph.universe
    rng = np.random.default_rng(seed)
    hidden = np.zeros(len(graph.us), dtype=bool)
    hidden[rng.permutation(len(graph.us))[: int(round(holdout * len(graph.us)))]] = True
    train = graph.subset(~hidden)
    model = PartnershipModel().fit(*training_examples(train, np.random.default_rng(seed + 1000)))
    partners: dict[int, set[int]] = {}
    for a, b in zip(graph.us.tolist(), graph.jp.tolist()):
        partners.setdefault(a, set()).add(b)

    auc_us, auc_jp, auc_y = [], [], []
    for a, b in zip(graph.us[hidden].tolist(), graph.jp[hidden].tolist()):
        cand = _candidates(u, b)
        neg = [c for c in rng.choice(cand, negatives + 5, replace=False).tolist() if c not in partners[a]][:negatives]
        auc_us += [a] * (len(neg) + 1)
        auc_jp += [b] + neg
        auc_y += [1] + [0] * len(neg)
    raw_auc = pair_features(train, np.array(auc_us), np.array(auc_jp))
    ranks: dict[str, list[float]] = {m: [] for m in METHODS}
    for a, b in zip(graph.us[hidden].tolist(), graph.jp[hidden].tolist()):
        cand = np.array([c for c in _candidates(u, b).tolist() if c == b or c not in partners[a]])
        raw = pair_features(train, np.full(len(cand), a), cand)
        true_i = int(np.flatnonzero(cand == b)[0])
        for m in METHODS:
            scores = model.decision_function(raw) if m == "model" else _baseline_scores(m, raw, rng)
            ranks[m].append(_rank(scores, true_i))
    out = {}
    for m in METHODS:
        scores = model.decision_function(raw_auc) if m == "model" else _baseline_scores(m, raw_auc, rng)
        r = np.array(ranks[m])
        out[m] = {"auc": float(roc_auc_score(auc_y, scores)), "hits@10": float(np.mean(r <= 10)),
                  "hits@50": float(np.mean(r <= 50)), "mrr": float(np.mean(1.0 / r))}
    out["_model"] = {"coef": dict(zip(model.names_, model.coef_.round(3).tolist())), "hidden": int(hidden.sum()),
                     "candidates": int(u.n_jp)}
    return out


def evaluate(graph: TieGraph, seeds: int = 5, holdout: float = 0.2) -> dict:
    """Run ``evaluate_seed`` for seeds 0..seeds-1; return per-seed results and mean/sd."""
    runs = [evaluate_seed(graph, s, holdout) for s in range(seeds)]
    summary = {m: {k: {"mean": float(np.mean([r[m][k] for r in runs])),
                       "sd": float(np.std([r[m][k] for r in runs], ddof=1)) if seeds > 1 else 0.0}
                   for k in METRICS} for m in METHODS}
    beats = {k: all(all(r["model"][k] > r[m][k] for m in METHODS if m != "model") for r in runs)
             for k in ("auc", "hits@50")}
    return {"seeds": seeds, "holdout": holdout, "pairs": int(len(graph.us)), "summary": summary,
            "model_beats_every_baseline_every_seed": beats, "runs": runs}
