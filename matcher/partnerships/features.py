"""Features of a (US node, JP node) pair, each with a sentence that says what its value means,
and the leave-one-out training examples the model learns from."""

from __future__ import annotations

import numpy as np
from scipy import sparse

from matcher.partnerships.graph import TieGraph, Universe

__all__ = ["FEATURES", "pair_features", "training_examples"]

# name → sentence for a non-zero raw value ({v}; {s}, {were} and {alumni} agree with it)…
FEATURES: dict[str, str] = {
    "sister_state": "the state and the prefecture are sister states",
    "state_pref_ties": "{v:g} other partnership{s} already join{s_} this state and this prefecture",
    "adamic_adar": "states tied to similar prefectures are tied to this one (Adamic–Adar {v:.2f})",
    "resource_allocation": "few-partner states and prefectures link them (resource allocation {v:.2f})",
    "common_neighbours": "{v:g} path{s} of length 3 join{s_} the state and the prefecture",
    "pref_attachment": "the state's and the prefecture's partnerships multiply to {v:g} (preferential attachment)",
    "neighbour_ties": "the state has {v:g} partnership{s} in neighbouring prefectures",
    "region_ties": "the state has {v:g} partnership{s} elsewhere in the same Japanese region",
    "us_partners_in_pref": "the US side already partners {v:g} other place{s} in this prefecture",
    "jp_partners_in_state": "the JP side already partners {v:g} other place{s} in this state",
    "us_degree": "the US side has {v:g} Japanese partner{s} already",
    "jp_degree": "the JP side has {v:g} US partner{s} already",
    "jp_population": "the JP side has {v:,.0f} people",
    "us_population": "the US side has {v:,.0f} people",
    "population_gap": "their populations differ by a factor of {v:.1f}",
    "jp_capital": "the JP side is its prefecture's capital",
    "level_match": "same level on both sides (city–municipality or state–prefecture)",
    "alumni_bridges": "{v:g} JET {alumni} living near the US side {were} placed in the JP side",
    "alumni_pref_bridges": "{v:g} JET {alumni} living near the US side {were} placed in this prefecture",
}
# …and for a raw value of zero, so that every sentence is true as written.
_WHEN_ZERO: dict[str, str] = {
    "sister_state": "the state and the prefecture are not sister states",
    "state_pref_ties": "no other partnership joins this state and this prefecture yet",
    "adamic_adar": "no state tied to similar prefectures is tied to this one (Adamic–Adar 0)",
    "resource_allocation": "no few-partner state or prefecture links them (resource allocation 0)",
    "common_neighbours": "no path of length 3 joins the state and the prefecture",
    "pref_attachment": "the state or the prefecture has no partnership yet (preferential attachment 0)",
    "neighbour_ties": "the state has no partnership in neighbouring prefectures",
    "region_ties": "the state has no partnership elsewhere in the same Japanese region",
    "us_partners_in_pref": "the US side has no other partner in this prefecture",
    "jp_partners_in_state": "the JP side has no other partner in this state",
    "us_degree": "the US side has no Japanese partner yet",
    "jp_degree": "the JP side has no US partner yet",
    "jp_capital": "the JP side is not its prefecture's capital",
    "level_match": "the two sides are at different levels (a city with a prefecture, or a state with a town)",
    "alumni_bridges": "no JET alum living near the US side was placed in the JP side yet",
    "alumni_pref_bridges": "no JET alum living near the US side was placed in this prefecture yet",
}
_UNKNOWN = {"jp_population": "the JP side's population is unknown (a typical one is assumed)",
            "us_population": "the US side's population is unknown (a typical one is assumed)",
            "population_gap": "one population is unknown (a typical gap is assumed)"}
_BINARY = {"sister_state", "jp_capital", "level_match"}


def pair_features(graph: TieGraph, us: np.ndarray, jp: np.ndarray) -> np.ndarray:
    """Return the raw feature matrix (pairs × FEATURES) of pairs scored on ``graph``.

    The caller is responsible for ``graph`` not containing the pairs (see
    ``training_examples`` and ``PartnershipModel.score``).
    """
    u = graph.universe
    s, p = u.us_state[us], u.jp_pref[jp]
    b = graph.projected
    sister = graph.sister[s, p]
    us_pop, jp_pop = u.us_pop[us], u.jp_pop[jp]
    cols = {
        "sister_state": sister,
        "state_pref_ties": b[s, p] - sister,
        "adamic_adar": graph.indices["aa"][s, p],
        "resource_allocation": graph.indices["ra"][s, p],
        "common_neighbours": graph.indices["cn"][s, p],
        "pref_attachment": b.sum(axis=1)[s] * b.sum(axis=0)[p],
        "neighbour_ties": graph.neighbour_ties[s, p],
        "region_ties": graph.region_ties[s, p],
        "us_partners_in_pref": np.asarray(graph.us_by_pref[us, p]).ravel(),
        "jp_partners_in_state": np.asarray(graph.jp_by_state[jp, s]).ravel(),
        "us_degree": graph.us_degree[us],
        "jp_degree": graph.jp_degree[jp],
        "jp_population": jp_pop,
        "us_population": us_pop,
        "population_gap": 10 ** np.abs(np.log10(us_pop) - np.log10(jp_pop)),
        "jp_capital": u.jp_capital[jp].astype(float),
        "level_match": (u.us_is_state[us] == u.jp_is_pref[jp]).astype(float),
        "alumni_bridges": _gather(u.bridges, us, jp),
        "alumni_pref_bridges": _gather(u.pref_bridges, us, p),
    }
    out = np.empty((len(us), len(FEATURES)), order="F")  # column-major: _transform works by column
    for i, name in enumerate(FEATURES):
        out[:, i] = cols[name]
    return out


def _gather(matrix: sparse.csr_matrix | None, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    if matrix is None:
        return np.zeros(len(rows))
    return np.asarray(matrix[rows, cols]).ravel()


def _transform(raw: np.ndarray) -> np.ndarray:
    """Model inputs: log1p for counts, log10 for populations; unknown populations → 0 gap."""
    x = np.array(raw, dtype=float, order="F")
    for i, name in enumerate(FEATURES):
        col = x[:, i]
        if name in ("jp_population", "us_population", "population_gap"):
            col = np.log10(np.where(np.isfinite(col) & (col > 0), col, np.nan))
            x[:, i] = col
        elif name not in _BINARY:
            x[:, i] = np.log1p(col)
    return x


def training_examples(graph: TieGraph, rng: np.random.Generator, negatives: int = 15,
                      same_prefecture: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """Return (raw features, labels) for every edge of ``graph`` and sampled non-edges.

    Each edge is scored on the graph without it, and so are its negatives: the same US
    side with ``negatives`` random JP nodes and ``same_prefecture`` municipalities from
    the edge's own prefecture (which teach the model to tell towns of a prefecture apart).
    """
    u = graph.universe
    munis_by_pref = _munis_by_pref(u)
    xs, ys = [], []
    for i in range(len(graph.us)):
        loo = graph.without(i)
        us_node, jp_node = int(graph.us[i]), int(graph.jp[i])
        pool = munis_by_pref[u.jp_pref[jp_node]]
        cand = np.concatenate([rng.integers(0, u.n_jp, negatives),
                               rng.choice(pool, size=min(same_prefecture, len(pool)), replace=False)])
        cand = np.array([c for c in cand if (us_node, int(c)) not in graph.pair_set], dtype=int)
        jp = np.concatenate([[jp_node], cand])
        xs.append(pair_features(loo, np.full(len(jp), us_node), jp))
        ys.append(np.r_[1.0, np.zeros(len(cand))])
    return np.vstack(xs), np.concatenate(ys)


def _munis_by_pref(u: Universe) -> list[np.ndarray]:
    out = [np.flatnonzero((u.jp_pref == p) & ~u.jp_is_pref) for p in range(len(u.prefectures))]
    return [o if len(o) else np.flatnonzero(u.jp_pref == p) for p, o in enumerate(out)]


def _sentence(name: str, value: float) -> str:
    """Say what the raw value is, in words that hold for that value (zero included).

    >>> _sentence("alumni_pref_bridges", 0.0)
    'no JET alum living near the US side was placed in this prefecture yet'
    >>> _sentence("state_pref_ties", 1.0)
    '1 other partnership already joins this state and this prefecture'
    """
    if np.isnan(value):
        return _UNKNOWN.get(name, FEATURES[name].split("(")[0].split("{")[0].strip() + " (unknown)")
    if value == 0 and name in _WHEN_ZERO:
        return _WHEN_ZERO[name]
    one = value == 1
    return FEATURES[name].format(v=value, s="" if one else "s", s_="s" if one else "",
                                 were="was" if one else "were", alumni="alum" if one else "alumni")
