"""Evaluation as a coordinator uses the model: hide a share of the known pairs, train on the
rest, and rank each hidden pair's true partner among every candidate at its level
(all municipalities, or all prefectures), leaving out the US side's other known partners.
Hits@10, Hits@50, MRR and median rank beside AUC, for the model and every baseline;
a reliability table of the calibrated figure; and, on request, an ablation per signal."""

from __future__ import annotations

import numpy as np

from matcher.partnerships.features import (FEATURES, SIGNALS, candidate_lists, level_candidates, pair_features,
                                           training_examples)
from matcher.partnerships.graph import TieGraph
from matcher.partnerships.learn import group_starts
from matcher.partnerships.model import DEFAULT_FEATURES, PartnershipModel

__all__ = ["METHODS", "METRICS", "LEVEL_NAMES", "PREVIOUS_FEATURES", "evaluate_seed", "evaluate",
           "reliability", "list_metrics"]

METHODS = ("model", "previous_model", "random", "popularity", "size", "ties", "adamic_adar", "resource_allocation")
METRICS = ("auc", "hits@10", "hits@50", "mrr", "median_rank")
LEVEL_NAMES = ("municipality", "prefecture")
# The pair-vs-sampled-non-pair classifier this model replaces, on the features it had.
PREVIOUS_FEATURES = ("sister_state", "state_pref_ties", "adamic_adar", "resource_allocation", "common_neighbours",
                     "pref_attachment", "neighbour_ties", "region_ties", "us_partners_in_pref",
                     "jp_partners_in_state", "us_degree", "jp_degree", "jp_population", "us_population",
                     "population_gap", "jp_capital", "level_match", "alumni_bridges", "alumni_pref_bridges")
BINS = (0.0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.2, 0.4, 1.0)


def _baseline_scores(method: str, raw: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    col = {name: i for i, name in enumerate(FEATURES)}
    if method == "random":
        return rng.random(len(raw))
    if method == "popularity":  # preferential attachment on the place-level graph
        return raw[:, col["us_degree"]] * raw[:, col["jp_degree"]] + raw[:, col["jp_degree"]] * 1e-3
    if method == "size":  # the biggest places first
        return np.nan_to_num(raw[:, col["jp_population"]])
    if method == "ties":  # weight of the projected state–prefecture edge
        return raw[:, col["state_pref_ties"]] + raw[:, col["sister_state"]]
    return raw[:, col[method]]


def _rank(scores: np.ndarray, true_i: int) -> float:
    """1-based rank of ``scores[true_i]``; ties share their average rank."""
    s = scores[true_i]
    return 1.0 + np.sum(scores > s) + 0.5 * (np.sum(scores == s) - 1)


def _summarise_ranks(r: np.ndarray) -> dict[str, float]:
    if not len(r):
        return {"hits@10": float("nan"), "hits@50": float("nan"), "mrr": float("nan"), "median_rank": float("nan")}
    return {"hits@10": float(np.mean(r <= 10)), "hits@50": float(np.mean(r <= 50)),
            "mrr": float(np.mean(1.0 / r)), "median_rank": float(np.median(r))}


def list_metrics(scores: np.ndarray, y: np.ndarray, groups: np.ndarray) -> dict[str, float]:
    """Return Hits@10/50, MRR and median rank of each group's positive among its rows.

    Parameters
    ----------
    scores : numpy.ndarray
        One score per row.
    y : numpy.ndarray
        1 for the row that is the group's positive, else 0.
    groups : numpy.ndarray
        The group of each row (rows of a group are contiguous).

    Returns
    -------
    dict of str to float
        ``hits@10``, ``hits@50``, ``mrr`` and ``median_rank``.

    Examples
    --------
    >>> list_metrics(np.array([0.9, 0.1, 0.5, 0.2, 0.8]), np.array([0, 1, 0, 1, 0]), np.array([0, 0, 0, 1, 1]))
    {'hits@10': 1.0, 'hits@50': 1.0, 'mrr': 0.41666666666666663, 'median_rank': 2.5}
    """
    starts = group_starts(groups)
    ends = np.r_[starts[1:], len(y)]
    ranks = [_rank(scores[a:b], int(np.flatnonzero(y[a:b] == 1)[0])) for a, b in zip(starts, ends)]
    return _summarise_ranks(np.array(ranks))


def reliability(p: np.ndarray, y: np.ndarray, bins: tuple[float, ...] = BINS) -> tuple[list[dict], float]:
    """Return the reliability table of a calibrated figure and its expected calibration error.

    The table has, per bin of the figure, the pairs, the mean figure and the observed rate;
    the error is the pair-weighted mean gap between the two.

    Parameters
    ----------
    p : numpy.ndarray
        The calibrated figure (a probability) of each pair.
    y : numpy.ndarray
        1 where the pair is a partnership.
    bins : tuple of float, optional
        Bin edges, from 0 to 1.

    Returns
    -------
    (list of dict, float)
        The table (one row per bin: ``n``, mean figure, ``observed``) and the error.

    Examples
    --------
    >>> table, ece = reliability(np.array([0.05, 0.05, 0.5, 0.5]), np.array([0, 0, 1, 0]))
    >>> [(row["n"], row["observed"]) for row in table if row["n"]], round(ece, 3)
    ([(2, 0.0), (2, 0.5)], 0.025)
    """
    idx = np.clip(np.searchsorted(bins, p, side="right") - 1, 0, len(bins) - 2)
    table, ece = [], 0.0
    for k in range(len(bins) - 1):
        m = idx == k
        n = int(m.sum())
        row = {"lo": bins[k], "hi": bins[k + 1], "n": n, "positives": int(y[m].sum()),
               "mean_predicted": float(p[m].mean()) if n else None, "observed": float(y[m].mean()) if n else None}
        table.append(row)
        if n:
            ece += n / len(p) * abs(row["mean_predicted"] - row["observed"])
    return table, float(ece)


def _split(graph: TieGraph, seed: int, holdout: float) -> np.ndarray:
    rng = np.random.default_rng(seed)
    hidden = np.zeros(len(graph.us), dtype=bool)
    hidden[rng.permutation(len(graph.us))[: int(round(holdout * len(graph.us)))]] = True
    return hidden


def _test_lists(graph: TieGraph, train: TieGraph, hidden: np.ndarray) -> dict[str, np.ndarray]:
    """Each hidden pair's candidate list on the training graph, filtered of the US side's
    other known partners (training and hidden ones)."""
    u = graph.universe
    partners: dict[int, set[int]] = {}
    for a, b in zip(graph.us.tolist(), graph.jp.tolist()):
        partners.setdefault(a, set()).add(b)
    parts: dict[str, list] = {"raw": [], "y": [], "group": [], "level": [], "us": [], "jp": []}
    for i in np.flatnonzero(hidden).tolist():
        a, b = int(graph.us[i]), int(graph.jp[i])
        cand = level_candidates(u, b)
        cand = np.r_[b, cand[[c not in partners[a] for c in cand.tolist()]]]
        parts["raw"].append(pair_features(train, np.full(len(cand), a), cand))
        parts["y"].append(np.r_[1.0, np.zeros(len(cand) - 1)])
        parts["group"].append(np.full(len(cand), i))
        parts["level"].append(np.full(len(cand), int(u.jp_is_pref[b])))
        parts["us"].append(np.full(len(cand), a))
        parts["jp"].append(cand)
    return {k: np.vstack(v) if k == "raw" else np.concatenate(v) for k, v in parts.items()}


def _auc_sets(graph: TieGraph, hidden: np.ndarray, rng: np.random.Generator, negatives: int):
    """Hidden pairs against ``negatives`` random same-level non-partners each (same US side)."""
    u = graph.universe
    partners = graph.pair_set
    us, jp, y, level = [], [], [], []
    for i in np.flatnonzero(hidden).tolist():
        a, b = int(graph.us[i]), int(graph.jp[i])
        cand = level_candidates(u, b)
        neg = [c for c in rng.choice(cand, min(len(cand), negatives + 5), replace=False).tolist()
               if (a, c) not in partners][:negatives]
        us += [a] * (len(neg) + 1)
        jp += [b] + neg
        y += [1] + [0] * len(neg)
        level += [int(u.jp_is_pref[b])] * (len(neg) + 1)
    return np.array(us), np.array(jp), np.array(y), np.array(level)


def _scores(method: str, models: dict, raw: np.ndarray, level: np.ndarray, rng) -> np.ndarray:
    if method in models:
        return models[method].decision_function(raw, level)
    return _baseline_scores(method, raw, rng)


def evaluate_seed(graph: TieGraph, seed: int, holdout: float = 0.2, negatives: int = 20,
                  features: tuple[str, ...] | None = None, ablation: bool = False) -> dict:
    """Hide ``holdout`` of the pairs, train on the rest, and measure every method.

    Ranking metrics per level (``by_level``); ``summary`` figures are the municipality
    level (a hidden municipality among all municipalities). AUC: hidden pairs against
    ``negatives`` random same-level non-partners. ``calibration``: the model's figure
    over every candidate of every hidden list. ``inner``: the model's cross-fitted
    figures on its own training lists (what choices may be tuned on; the test lists are not).

    Parameters
    ----------
    graph : TieGraph
        The known partnerships.
    seed : int
        Picks the hidden pairs and seeds the fit.
    holdout : float, optional
        Share of pairs hidden.
    negatives : int, optional
        Non-partners per hidden pair for the AUC.
    features : tuple of str, optional
        The model's features (default: DEFAULT_FEATURES).
    ablation : bool, optional
        Also refit without each feature.

    Returns
    -------
    dict
        Per method (METHODS) its metrics, and ``by_level``, ``inner``, ``calibration``.
    """
    # imported here, not at the top: matcher.partnerships loads on the CLI's --help path and sklearn is heavy
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(seed)
    hidden = _split(graph, seed, holdout)
    train = graph.subset(~hidden)
    lists = candidate_lists(train)
    feats = features or DEFAULT_FEATURES
    model = PartnershipModel(features=feats, seed=seed).fit(lists["raw"], lists["y"], lists["group"], lists["level"])
    previous = PartnershipModel(objective="pointwise", features=PREVIOUS_FEATURES).fit(
        *training_examples(train, np.random.default_rng(seed + 1000)))
    models = {"model": model, "previous_model": previous}
    test = _test_lists(graph, train, hidden)
    a_us, a_jp, a_y, a_level = _auc_sets(graph, hidden, rng, negatives)
    raw_auc = pair_features(train, a_us, a_jp)
    out: dict = {"by_level": {name: {} for name in LEVEL_NAMES}}
    for m in METHODS:
        scores = _scores(m, models, test["raw"], test["level"], rng)
        auc_scores = _scores(m, models, raw_auc, a_level, rng)
        for lv, name in enumerate(LEVEL_NAMES):
            rows, auc_rows = test["level"] == lv, a_level == lv
            res = list_metrics(scores[rows], test["y"][rows], test["group"][rows]) if rows.any() else \
                _summarise_ranks(np.array([]))
            res["auc"] = (float(roc_auc_score(a_y[auc_rows], auc_scores[auc_rows]))
                          if len(set(a_y[auc_rows].tolist())) == 2 else float("nan"))
            res["pairs"] = int(test["y"][rows].sum())
            out["by_level"][name][m] = res
        out[m] = out["by_level"]["municipality"][m]
    p = model.probability(test["raw"], test["level"])
    table, ece = reliability(p, test["y"])
    top = _top_mask(p, test["group"], 50)
    out["calibration"] = {"table": table, "ece": ece, "ece_top50": reliability(p[top], test["y"][top])[1],
                          "predicted_total": float(p.sum()), "partners": int(test["y"].sum())}
    out["inner"] = list_metrics(model.oof_, lists["y"], lists["group"])
    out["_model"] = {"coef": dict(zip(model.names_, model.coef_.round(3).tolist())),
                     "intercepts": model.intercepts_.round(3).tolist(), "hidden": int(hidden.sum()),
                     "candidates": int(np.sum(~graph.universe.jp_is_pref))}
    out["_test"] = {"p": p, "y": test["y"]}
    if ablation:
        out["ablation"] = _ablation(lists, test, seed, features)
    return out


def _top_mask(scores: np.ndarray, groups: np.ndarray, k: int) -> np.ndarray:
    """Rows among the ``k`` best of their group."""
    mask = np.zeros(len(scores), dtype=bool)
    starts = group_starts(groups)
    for a, b in zip(starts, np.r_[starts[1:], len(scores)]):
        mask[a + np.argsort(-scores[a:b], kind="stable")[:k]] = True
    return mask


def _ablation(lists, test, seed: int, features: tuple[str, ...] | None = None) -> dict:
    """The chosen model ("all": DEFAULT_FEATURES), then without each signal group it uses and
    with each group it leaves out, one at a time: inner (cross-fitted on the training lists:
    what the choice was made on) and test figures at the municipality level."""
    chosen = tuple(features or DEFAULT_FEATURES)
    variants = {"all": chosen}
    for signal, cols in SIGNALS.items():
        if any(f in chosen for f in cols):
            variants[f"without_{signal}"] = tuple(f for f in chosen if f not in cols)
        else:
            variants[f"with_{signal}"] = chosen + tuple(f for f in FEATURES if f in cols)
    out = {}
    rows = test["level"] == 0
    inner_rows = lists["level"] == 0
    for name, keep in variants.items():
        model = PartnershipModel(features=keep, seed=seed).fit(lists["raw"], lists["y"], lists["group"],
                                                             lists["level"])
        scores = model.decision_function(test["raw"][rows])
        out[name] = {"inner": list_metrics(model.oof_[inner_rows], lists["y"][inner_rows], lists["group"][inner_rows]),
                     "test": list_metrics(scores, test["y"][rows], test["group"][rows])}
    return out


def _mean_sd(values: list[float]) -> dict[str, float]:
    v = np.array(values, dtype=float)
    return {"mean": float(np.nanmean(v)), "sd": float(np.nanstd(v, ddof=1)) if len(v) > 1 else 0.0}


def evaluate(graph: TieGraph, seeds: int = 5, holdout: float = 0.2, ablation: bool = False,
             features: tuple[str, ...] | None = None, seed_start: int = 0) -> dict:
    """Run ``evaluate_seed`` for seeds seed_start..seed_start+seeds-1; return per-seed results
    and mean ± sd.

    Parameters
    ----------
    graph : TieGraph
        The known partnerships.
    seeds : int, optional
        How many splits.
    holdout : float, optional
        Share of pairs hidden in each.
    ablation : bool, optional
        Also refit without each feature.
    features : tuple of str, optional
        The model's features (default: DEFAULT_FEATURES).
    seed_start : int, optional
        The first seed (other splits than the default 0..seeds-1, to check that a gain holds).

    Returns
    -------
    dict
        ``summary`` (mean ± sd per method and metric, municipality level), ``by_level``,
        ``runs``, ``inner``, ``calibration``, ``model_beats_every_baseline_every_seed``
        and (``ablation``) ``ablation``.
    """
    runs = [evaluate_seed(graph, s, holdout, features=features, ablation=ablation)
            for s in range(seed_start, seed_start + seeds)]
    summary = {m: {k: _mean_sd([r[m][k] for r in runs]) for k in METRICS} for m in METHODS}
    by_level = {lv: {m: {k: _mean_sd([r["by_level"][lv][m][k] for r in runs]) for k in METRICS}
                     for m in METHODS} for lv in LEVEL_NAMES}
    better = {"auc": np.greater, "hits@50": np.greater, "mrr": np.greater}
    beats = {k: all(all(op(r["model"][k], r[m][k]) for m in METHODS if m != "model") for r in runs)
             for k, op in better.items()}
    for r in runs:
        r.pop("_test")  # arrays, kept only for callers of evaluate_seed
    result = {"seeds": seeds, "seed_start": seed_start, "holdout": holdout, "pairs": int(len(graph.us)), "summary": summary,
              "summary_level": "municipality", "by_level": by_level,
              "model_beats_every_baseline_every_seed": beats, "runs": runs,
              "inner": {k: _mean_sd([r["inner"][k] for r in runs]) for k in ("hits@10", "hits@50", "mrr",
                                                                               "median_rank")}}
    result["calibration"] = _pooled_calibration(runs)
    if ablation:
        result["ablation"] = {name: {part: {k: _mean_sd([r["ablation"][name][part][k] for r in runs])
                                            for k in ("hits@50", "mrr", "median_rank")}
                                     for part in ("inner", "test")}
                              for name in runs[0]["ablation"]}
    return result


def _pooled_calibration(runs: list[dict]) -> dict:
    """Reliability over every seed's hidden lists, and ECE per seed as mean ± sd."""
    out = {"ece": _mean_sd([r["calibration"]["ece"] for r in runs]),
           "ece_top50": _mean_sd([r["calibration"]["ece_top50"] for r in runs])}
    tables = [r["calibration"]["table"] for r in runs]
    pooled = []
    for k, row in enumerate(tables[0]):
        n = sum(t[k]["n"] for t in tables)
        pos = sum(t[k]["positives"] for t in tables)
        pred = sum(t[k]["mean_predicted"] * t[k]["n"] for t in tables if t[k]["n"])
        pooled.append({"lo": row["lo"], "hi": row["hi"], "n": n, "positives": pos,
                       "mean_predicted": pred / n if n else None, "observed": pos / n if n else None})
    out["table"] = pooled
    return out
