"""Link prediction for new US–Japan partnerships, learned from the existing ones.

The relationship graph is bipartite (US places and states on one side, JP
municipalities and prefectures on the other), so the classic neighbourhood indices
(common neighbours, Adamic–Adar, resource allocation) are all zero for any US–JP pair.
They are computed instead on the graph *projected* onto states × prefectures, where
"Michigan has nine city pairs with Shiga" becomes one weighted edge, with scipy.sparse.

Every feature of a pair is computed from a graph that does not contain that pair:
training positives are scored on the graph with their own edge removed (and their
sampled negatives on that same graph), and evaluation scores hidden pairs on the
training graph only. The classifier is a standardised logistic regression, so each
score (log-odds) is the intercept plus one readable contribution per feature.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from scipy import sparse
from sklearn.linear_model import LogisticRegression

__all__ = [
    "FEATURES",
    "Universe",
    "TieGraph",
    "pair_features",
    "training_examples",
    "PartnershipModel",
    "projected_similarity",
    "RADIUS_KM",
    "train",
    "stored_model",
    "model_for",
    "suggest_partnerships",
    "summarise_reasons",
    "propose_partnership",
    "proposal_labels",
    "open_proposals",
    "data_fingerprint",
    "LEVELS",
    "champions",
]

RADIUS_KM = 80.0  # "lives near the US place": the design note's commuting band

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
_INDEX_CACHE: dict[tuple, dict[str, np.ndarray]] = {}


@dataclass
class Universe:
    """Every candidate node on both sides, as arrays (index = node id in a TieGraph).

    US nodes are places ("place:12") and states ("state:MD"); JP nodes are
    municipalities ("muni:44201") and prefectures ("pref:44").
    """

    us_keys: list[str]
    us_labels: list[str]
    us_state: np.ndarray  # index into states
    us_is_state: np.ndarray  # bool
    us_pop: np.ndarray  # float, nan if unknown
    jp_keys: list[str]
    jp_labels: list[str]
    jp_pref: np.ndarray  # index into prefectures
    jp_is_pref: np.ndarray  # bool
    jp_pop: np.ndarray
    jp_capital: np.ndarray  # bool
    states: list[str]
    prefectures: list[str]
    pref_region: np.ndarray  # int region id per prefecture
    pref_neighbours: sparse.csr_matrix  # P × P adjacency
    bridges: sparse.csr_matrix | None = None  # U × J alumni near u placed in j
    pref_bridges: sparse.csr_matrix | None = None  # U × P alumni near u placed in prefecture

    @cached_property
    def us_index(self) -> dict[str, int]:
        return {k: i for i, k in enumerate(self.us_keys)}

    @cached_property
    def jp_index(self) -> dict[str, int]:
        return {k: i for i, k in enumerate(self.jp_keys)}

    @property
    def n_us(self) -> int:
        return len(self.us_keys)

    @property
    def n_jp(self) -> int:
        return len(self.jp_keys)


@dataclass
class TieGraph:
    """Existing partnerships as (US node, JP node) index arrays over a Universe."""

    universe: Universe
    us: np.ndarray
    jp: np.ndarray
    _cache: dict = field(default_factory=dict, repr=False)

    def without(self, i: int) -> TieGraph:
        """Return the graph with edge ``i`` removed (for leave-one-out features)."""
        keep = np.ones(len(self.us), dtype=bool)
        keep[i] = False
        return TieGraph(self.universe, self.us[keep], self.jp[keep])

    def subset(self, mask: np.ndarray) -> TieGraph:
        return TieGraph(self.universe, self.us[mask], self.jp[mask])

    @cached_property
    def pair_set(self) -> set[tuple[int, int]]:
        return set(zip(self.us.tolist(), self.jp.tolist()))

    @cached_property
    def projected(self) -> np.ndarray:
        """States × prefectures: how many partnerships join each (weighted projected edge)."""
        u = self.universe
        b = np.zeros((len(u.states), len(u.prefectures)))
        np.add.at(b, (u.us_state[self.us], u.jp_pref[self.jp]), 1.0)
        return b

    @cached_property
    def sister(self) -> np.ndarray:
        u = self.universe
        s = np.zeros((len(u.states), len(u.prefectures)))
        lvl = u.us_is_state[self.us] & u.jp_is_pref[self.jp]
        s[u.us_state[self.us[lvl]], u.jp_pref[self.jp[lvl]]] = 1.0
        return s

    @cached_property
    def indices(self) -> dict[str, np.ndarray]:
        """Length-3 neighbourhood indices between every state and prefecture."""
        adj = (self.projected > 0).astype(float)
        key = (adj.shape, np.packbits(adj.astype(bool)).tobytes())
        if key not in _INDEX_CACHE:  # leaving one pair out rarely changes the 0/1 projection
            if len(_INDEX_CACHE) > 256:
                _INDEX_CACHE.clear()
            a = sparse.csr_matrix(adj)
            _INDEX_CACHE[key] = {kind: projected_similarity(a, kind) for kind in ("cn", "aa", "ra")}
        return _INDEX_CACHE[key]

    @cached_property
    def us_degree(self) -> np.ndarray:
        return np.bincount(self.us, minlength=self.universe.n_us).astype(float)

    @cached_property
    def jp_degree(self) -> np.ndarray:
        return np.bincount(self.jp, minlength=self.universe.n_jp).astype(float)

    @cached_property
    def us_by_pref(self) -> sparse.csr_matrix:
        u = self.universe
        ones = np.ones(len(self.us))
        return sparse.csr_matrix((ones, (self.us, u.jp_pref[self.jp])), shape=(u.n_us, len(u.prefectures)))

    @cached_property
    def jp_by_state(self) -> sparse.csr_matrix:
        u = self.universe
        ones = np.ones(len(self.us))
        return sparse.csr_matrix((ones, (self.jp, u.us_state[self.us])), shape=(u.n_jp, len(u.states)))

    @cached_property
    def neighbour_ties(self) -> np.ndarray:
        return np.asarray(sparse.csr_matrix(self.projected) @ self.universe.pref_neighbours.T.toarray())

    @cached_property
    def region_ties(self) -> np.ndarray:
        region = self.universe.pref_region
        same = (region[:, None] == region[None, :]).astype(float)
        np.fill_diagonal(same, 0.0)
        return self.projected @ same


def projected_similarity(adj: sparse.csr_matrix, kind: str) -> np.ndarray:
    """Score every (state, prefecture) by length-3 paths in the projected bipartite graph.

    A state S and a prefecture P have no common neighbours, but S's neighbours share
    prefectures with P's neighbours: with ``sim`` the one-mode Adamic–Adar (or resource
    allocation, or common-neighbour) similarity among states and among prefectures,
    the score is ``sim_states @ A + A @ sim_prefs`` (self-similarity excluded).

    Parameters
    ----------
    adj : states × prefectures 0/1 matrix
    kind : "cn", "aa" (1/log degree) or "ra" (1/degree) weighting of the middle node

    Returns
    -------
    dense states × prefectures array

    Examples
    --------
    >>> a = sparse.csr_matrix(np.array([[1, 1], [1, 0]], dtype=float))
    >>> # (state 1, prefecture 1): state 1 shares prefecture 0 with state 0, which has prefecture 1;
    >>> # and prefecture 1 shares state 0 with prefecture 0, which state 1 has: two paths.
    >>> projected_similarity(a, "cn").tolist()
    [[2.0, 1.0], [1.0, 2.0]]
    """
    def weights(deg: np.ndarray) -> np.ndarray:
        w = np.zeros_like(deg, dtype=float)
        many = deg >= 2  # a node of degree 1 joins nobody to anybody
        if kind == "cn":
            w[many] = 1.0
        elif kind == "aa":
            w[many] = 1.0 / np.log(deg[many])
        else:
            w[many] = 1.0 / deg[many]
        return w

    deg_states = np.asarray(adj.sum(axis=1)).ravel()
    deg_prefs = np.asarray(adj.sum(axis=0)).ravel()
    sim_states = adj @ sparse.diags(weights(deg_prefs)) @ adj.T
    sim_states = sim_states - sparse.diags(sim_states.diagonal())
    sim_prefs = adj.T @ sparse.diags(weights(deg_states)) @ adj
    sim_prefs = sim_prefs - sparse.diags(sim_prefs.diagonal())
    return np.asarray((sim_states @ adj + adj @ sim_prefs).todense())


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


def _relative(z: float) -> str:
    """Where a standardised value sits against the training pairs (why a zero can still count)."""
    return "about average" if abs(z) < 0.05 else ("above average" if z > 0 else "below average")


# --- From the database ----------------------------------------------------------------------

# JIS convention: a prefecture's capital is its designated city xx100 if it has one, else xx201;
# the two exceptions are Tokyo (the Metropolitan Government sits in Shinjuku) and Yamaguchi
# (35201 is Shimonoseki).
_CAPITAL_EXCEPTIONS = {"13": "13104", "35": "35203"}


def capital_codes(codes: list[str]) -> set[str]:
    """Return the JIS codes of prefectural capitals among ``codes`` (current municipalities).

    >>> sorted(capital_codes(["44201", "44202", "14100", "14201", "35201", "35203"]))
    ['14100', '35203', '44201']
    """
    present = set(codes)
    out = set()
    for pref in {c[:2] for c in codes}:
        for candidate in (_CAPITAL_EXCEPTIONS.get(pref), f"{pref}100", f"{pref}201"):
            if candidate in present:
                out.add(candidate)
                break
    return out


def load_graph(session, alumni: bool = True) -> TieGraph:
    """Build the Universe (all US places and states, all JP municipalities and prefectures)
    and the graph of existing relationships from the database."""
    from sqlalchemy import select

    from matcher.models import Municipality, Prefecture, Relationship, USPlace, USState

    prefs = session.execute(select(Prefecture.code, Prefecture.name, Prefecture.region, Prefecture.neighbours)
                            .order_by(Prefecture.code)).all()
    munis = session.execute(select(Municipality.code, Municipality.prefecture_code, Municipality.name_romaji,
                                   Municipality.population, Municipality.kind).order_by(Municipality.code)).all()
    states = session.execute(select(USState.abbr, USState.name).order_by(USState.abbr)).all()
    places = session.execute(select(USPlace.id, USPlace.name, USPlace.state_abbr, USPlace.population, USPlace.kind,
                                    USPlace.lat, USPlace.lon).order_by(USPlace.id)).all()
    pref_i = {p.code: i for i, p in enumerate(prefs)}
    state_i = {s.abbr: i for i, s in enumerate(states)}
    regions = sorted({p.region for p in prefs})
    nb = [(pref_i[p.code], pref_i[c]) for p in prefs for c in p.neighbours.split(";") if c in pref_i]
    neighbours = sparse.csr_matrix((np.ones(len(nb)), ([a for a, _ in nb], [b for _, b in nb])),
                                   shape=(len(prefs), len(prefs)))
    muni_pop = _impute_by_kind(np.array([m.population if m.population else np.nan for m in munis], dtype=float),
                               np.array([m.kind for m in munis]))
    pref_pop = np.bincount([pref_i[m.prefecture_code] for m in munis], weights=np.nan_to_num(muni_pop),
                           minlength=len(prefs))
    city_pop = np.array([p.population if p.population and p.kind == "city" else 0 for p in places], dtype=float)
    state_pop = np.bincount([state_i[p.state_abbr] for p in places], weights=city_pop, minlength=len(states))
    capitals = capital_codes([m.code for m in munis])
    u = Universe(
        us_keys=[f"place:{p.id}" for p in places] + [f"state:{s.abbr}" for s in states],
        us_labels=[f"{p.name}, {p.state_abbr}" for p in places] + [s.name for s in states],
        us_state=np.array([state_i[p.state_abbr] for p in places] + list(range(len(states))), dtype=int),
        us_is_state=np.r_[np.zeros(len(places), bool), np.ones(len(states), bool)],
        us_pop=np.r_[[p.population if p.population else np.nan for p in places],
                     np.where(state_pop > 0, state_pop, np.nan)].astype(float),
        jp_keys=[f"muni:{m.code}" for m in munis] + [f"pref:{p.code}" for p in prefs],
        jp_labels=[f"{m.name_romaji}, {prefs[pref_i[m.prefecture_code]].name}" for m in munis]
        + [f"{p.name} Prefecture" for p in prefs],
        jp_pref=np.array([pref_i[m.prefecture_code] for m in munis] + list(range(len(prefs))), dtype=int),
        jp_is_pref=np.r_[np.zeros(len(munis), bool), np.ones(len(prefs), bool)],
        jp_pop=np.r_[muni_pop, np.where(pref_pop > 0, pref_pop, np.nan)],
        jp_capital=np.array([m.code in capitals for m in munis] + [False] * len(prefs)),
        states=[s.abbr for s in states], prefectures=[p.code for p in prefs],
        pref_region=np.array([regions.index(p.region) for p in prefs]),
        pref_neighbours=neighbours,
    )
    rels = session.execute(select(Relationship.us_kind, Relationship.us_place_id, Relationship.us_state_abbr,
                                  Relationship.jp_kind, Relationship.jp_municipality_code,
                                  Relationship.jp_prefecture_code).order_by(Relationship.id)).all()
    us = [u.us_index[f"state:{r.us_state_abbr}" if r.us_kind == "state" else f"place:{r.us_place_id}"] for r in rels]
    jp = [u.jp_index[f"pref:{r.jp_prefecture_code}" if r.jp_kind == "prefecture" else f"muni:{r.jp_municipality_code}"]
          for r in rels]
    if alumni:
        _add_bridges(session, u, places)
    return TieGraph(u, np.array(us, dtype=int), np.array(jp, dtype=int))


def _impute_by_kind(pop: np.ndarray, kind: np.ndarray) -> np.ndarray:
    """Fill unknown populations with the median of the same kind: the gaps in the reference
    data are mostly towns and villages, which the overall median (a city) would inflate."""
    out = pop.copy()
    for k in np.unique(kind):
        known = pop[(kind == k) & np.isfinite(pop)]
        if len(known):
            out[(kind == k) & ~np.isfinite(pop)] = np.median(known)
    return out


def _add_bridges(session, u: Universe, places) -> None:
    """Fill ``u.bridges`` / ``u.pref_bridges``: alumni living within RADIUS_KM of a US place
    (or in a state) who were placed in a JP municipality (or prefecture)."""
    from sklearn.neighbors import BallTree
    from sqlalchemy import select

    from matcher.models import Alumnus, Placement

    homes = session.execute(select(Alumnus.id, Alumnus.home_lat, Alumnus.home_lon, Alumnus.home_state_abbr)).all()
    if not homes:
        return
    alum_i = {a.id: i for i, a in enumerate(homes)}
    place_xy = np.radians([(p.lat, p.lon) for p in places])
    rows, cols = [], []
    located = [(i, a) for i, a in enumerate(homes) if a.home_lat is not None and a.home_lon is not None]
    if located:
        tree = BallTree(place_xy, metric="haversine")
        hits = tree.query_radius(np.radians([(a.home_lat, a.home_lon) for _, a in located]), r=RADIUS_KM / 6371.0)
        for (i, _), near in zip(located, hits):
            rows.extend(near.tolist())
            cols.extend([i] * len(near))
    for i, a in enumerate(homes):
        if a.home_state_abbr:
            rows.append(u.us_index[f"state:{a.home_state_abbr}"])
            cols.append(i)
    near = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(u.n_us, len(homes)))
    placed = session.execute(select(Placement.alumnus_id, Placement.municipality_code, Placement.prefecture_code)).all()
    mr, mc, pr, pc = [], [], [], []
    for pl in placed:
        a = alum_i[pl.alumnus_id]
        if pl.municipality_code:
            mr.append(a)
            mc.append(u.jp_index[f"muni:{pl.municipality_code}"])
        mr.append(a)
        mc.append(u.jp_index[f"pref:{pl.prefecture_code}"])
        pr.append(a)
        pc.append(u.prefectures.index(pl.prefecture_code))
    to_jp = sparse.csr_matrix((np.ones(len(mr)), (mr, mc)), shape=(len(homes), u.n_jp))
    to_pref = sparse.csr_matrix((np.ones(len(pr)), (pr, pc)), shape=(len(homes), len(u.prefectures)))
    to_jp.sum_duplicates()
    to_jp.data[:] = 1.0  # an alum counts once, however many contracts there
    to_pref.sum_duplicates()
    to_pref.data[:] = 1.0
    u.bridges = (near @ to_jp).tocsr()
    u.pref_bridges = (near @ to_pref).tocsr()


# --- Evaluation -------------------------------------------------------------------------------

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


# --- Suggestions for people and pages -------------------------------------------------------


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


def _loo_features(graph: TieGraph, us: int, jp: int) -> np.ndarray:
    edge = np.flatnonzero((graph.us == us) & (graph.jp == jp))
    g = graph.subset(~np.isin(np.arange(len(graph.us)), edge))
    return pair_features(g, np.array([us]), np.array([jp]))


def describe_pair(graph: TieGraph, model: PartnershipModel, us: int, jp: int) -> dict:
    """A plain dict for one pair: both sides, score, and the reasons that add up to it."""
    u = graph.universe
    existing = (us, jp) in graph.pair_set
    raw = _loo_features(graph, us, jp) if existing else pair_features(graph, np.array([us]), np.array([jp]))
    reasons = model.explain(raw[0])
    return {
        "us_key": u.us_keys[us], "us_label": u.us_labels[us], "jp_key": u.jp_keys[jp], "jp_label": u.jp_labels[jp],
        "score": round(sum(r["contribution"] for r in reasons), 4), "existing": existing, "reasons": reasons,
    }


def _partners(graph: TieGraph, side: str) -> dict[int, set[int]]:
    out: dict[int, set[int]] = {}
    a, b = (graph.us, graph.jp) if side == "us" else (graph.jp, graph.us)
    for x, y in zip(a.tolist(), b.tolist()):
        out.setdefault(x, set()).add(y)
    return out


def top_new_pairs(graph: TieGraph, model: PartnershipModel, top: int = 10, us: int | None = None,
                  jp: int | None = None, us_pool: np.ndarray | None = None,
                  jp_pool: np.ndarray | None = None) -> list[tuple[int, int, float]]:
    """The ``top`` highest-scoring pairs that do not exist yet: for one US node, one JP node,
    or (neither given) across ``us_pool`` × ``jp_pool`` (default every JP node), in chunks."""
    u = graph.universe
    if jp is not None:
        cand = np.array(sorted(set(range(u.n_us)) - _partners(graph, "jp").get(jp, set())), dtype=int)
        scores = model.decision_function(pair_features(graph, cand, np.full(len(cand), jp)))
        order = np.argsort(-scores, kind="stable")[:top]
        return [(int(cand[i]), jp, float(scores[i])) for i in order]
    pool = np.array([us]) if us is not None else (us_pool if us_pool is not None else default_us_pool(graph))
    best: list[tuple[int, int, float]] = []
    jp_all = np.arange(u.n_jp) if jp_pool is None else np.asarray(jp_pool, dtype=int)
    for chunk in np.array_split(pool, max(1, len(pool) // 40)):
        us_arr, jp_arr = np.repeat(chunk, len(jp_all)), np.tile(jp_all, len(chunk))
        fresh = ~np.isin(us_arr * u.n_jp + jp_arr, graph.us * u.n_jp + graph.jp)
        us_arr, jp_arr = us_arr[fresh], jp_arr[fresh]
        scores = model.decision_function(pair_features(graph, us_arr, jp_arr))
        keep = np.argsort(-scores, kind="stable")[:top]
        best += [(int(us_arr[i]), int(jp_arr[i]), float(scores[i])) for i in keep]
    return sorted(best, key=lambda t: -t[2])[:top]


def default_us_pool(graph: TieGraph, min_population: int = 100_000) -> np.ndarray:
    """US nodes worth an overall ranking: those with a partner already, states, and cities
    of at least ``min_population`` people."""
    u = graph.universe
    mask = u.us_is_state | (np.nan_to_num(u.us_pop) >= min_population) | (graph.us_degree > 0)
    return np.flatnonzero(mask)


def champions(session, graph: TieGraph, us: int, jp: int, limit: int = 5) -> list[dict]:
    """Consenting alumni who live near the US side and were placed in the JP side (or its
    prefecture): the people who could champion a new partnership. Names as committees see them."""
    from sqlalchemy import select

    from matcher.models import Alumnus, Placement, USPlace

    u = graph.universe
    key, pref = u.jp_keys[jp], u.prefectures[u.jp_pref[jp]]
    q = select(Alumnus).join(Placement).where(Alumnus.consent.is_(True))
    q = q.where(Placement.municipality_code == key[5:]) if key.startswith("muni:") else q.where(
        Placement.prefecture_code == pref)
    us_key = u.us_keys[us]
    if us_key.startswith("state:"):
        q = q.where(Alumnus.home_state_abbr == us_key[6:])
        near = list(session.scalars(q.distinct().limit(limit)))
    else:
        place = session.get(USPlace, int(us_key[6:]))
        near = [a for a in session.scalars(q.distinct()) if a.home_lat is not None
                and _km(a.home_lat, a.home_lon, place.lat, place.lon) <= RADIUS_KM][:limit]
    return [{"alumnus_id": a.id, "name": a.display_name} for a in near]


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2, dlat, dlon = map(np.radians, (lat1, lat2, lat2 - lat1, lon2 - lon1))
    h = np.sin(dlat / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlon / 2) ** 2
    return float(2 * 6371.0 * np.arcsin(np.sqrt(h)))


LEVELS = {"any": "any level", "city": "city ↔ municipality", "state": "state ↔ prefecture"}


def suggest_partnerships(session, top: int = 20, us_place_id: int | None = None, jp_code: str | None = None,
                         us_state: str | None = None, with_champions: bool = True, level: str = "any",
                         graph: TieGraph | None = None, model: PartnershipModel | None = None) -> list[dict]:
    """Return the ``top`` likeliest new partnerships as plain dicts, for a page or ``--json``.

    Give ``us_place_id`` (or ``us_state``) for one US side, ``jp_code`` (5-digit
    municipality or 2-digit prefecture) for one JP side, or neither for the overall best,
    optionally only at one ``level`` (a key of LEVELS). Each dict has both sides,
    ``score`` (log-odds), ``reasons`` (intercept + one line per feature, adding up to the
    score) and ``champions``. ``graph`` and ``model`` default to the database's and the
    stored model (fitted now when none is stored).
    """
    graph = graph if graph is not None else load_graph(session)
    model = model if model is not None else model_for(session, graph)[0]
    u = graph.universe
    us = jp = None
    if us_place_id is not None or us_state is not None:
        us = u.us_index[f"place:{us_place_id}" if us_place_id is not None else f"state:{us_state}"]
    if jp_code is not None:
        jp = u.jp_index[f"pref:{jp_code}" if len(jp_code) == 2 else f"muni:{jp_code}"]
    us_pool = jp_pool = None
    if level != "any" and us is None and jp is None:
        states = level == "state"
        pool = default_us_pool(graph)
        us_pool = pool[u.us_is_state[pool] == states]
        jp_pool = np.flatnonzero(u.jp_is_pref == states)
    out = []
    for a, b, _ in top_new_pairs(graph, model, top=top, us=us, jp=jp, us_pool=us_pool, jp_pool=jp_pool):
        row = describe_pair(graph, model, a, b)
        if with_champions:
            row["champions"] = champions(session, graph, a, b)
        out.append(row)
    return out


def summarise_reasons(reasons: list[dict], top: int = 4) -> list[dict]:
    """The ``top`` strongest reasons, one "other factors" line for the rest, and the starting
    point last: the lines a page shows, still adding up to the score.

    >>> rows = [{"factor": "intercept", "contribution": -4.0, "sentence": "start", "relative": ""},
    ...         {"factor": "a", "contribution": 3.0, "sentence": "a", "relative": "above average"},
    ...         {"factor": "b", "contribution": 0.5, "sentence": "b", "relative": "above average"},
    ...         {"factor": "c", "contribution": -0.25, "sentence": "c", "relative": "below average"}]
    >>> [(r["sentence"], r["contribution"]) for r in summarise_reasons(rows, top=1)]
    [('a', 3.0), ('2 other factors', 0.25), ('start', -4.0)]
    """
    intercept = [r for r in reasons if r["factor"] == "intercept"]
    rest = sorted((r for r in reasons if r["factor"] != "intercept"), key=lambda r: -abs(r["contribution"]))
    shown, others = rest[:top], rest[top:]
    if others:
        shown = shown + [{"factor": "other", "value": None, "relative": "",
                          "contribution": round(sum(r["contribution"] for r in others), 4),
                          "sentence": f"{len(others)} other factor{'s' if len(others) != 1 else ''}"}]
    return shown + intercept


def data_fingerprint(session) -> tuple:
    """What the suggestions depend on, read cheaply: relationships, alumni and placements
    (count, newest id or update). A cache of suggestions is good while this is unchanged."""
    from sqlalchemy import func, select

    from matcher.models import Alumnus, Placement, Relationship, ScoringModel

    parts = [select(func.count(), func.max(Relationship.id)).select_from(Relationship),
             select(func.count(), func.max(Alumnus.updated_at)).select_from(Alumnus),
             select(func.count(), func.max(Placement.id)).select_from(Placement),
             select(func.count(), func.max(ScoringModel.version)).where(
                 ScoringModel.version.like(MODEL_PREFIX + "%"))]
    return tuple(tuple(session.execute(q).one()) for q in parts)


def seeker_suggestions(session, top: int = 5) -> list[dict]:
    """For each CLAIR seeker (a JP municipality looking for a partner), the best US candidates.

    Seekers that name countries without the United States or North America are listed
    with ``skipped`` and no candidates.
    """
    from sqlalchemy import select

    from matcher.models import Seeker

    graph = load_graph(session)
    model, _ = model_for(session, graph)
    u = graph.universe
    out = []
    for seeker in session.scalars(select(Seeker).order_by(Seeker.municipality_code)):
        wants = seeker.desired_countries.lower()
        row = {"jp_key": f"muni:{seeker.municipality_code}", "desired_countries": seeker.desired_countries,
               "jp_label": u.jp_labels[u.jp_index[f"muni:{seeker.municipality_code}"]]}
        if wants and not any(w in wants for w in ("united states", "north america", "usa")):
            out.append(row | {"skipped": "does not ask for a US partner", "candidates": []})
            continue
        jp = u.jp_index[row["jp_key"]]
        row["candidates"] = [describe_pair(graph, model, a, b) for a, b, _ in top_new_pairs(graph, model, top, jp=jp)]
        out.append(row)
    return out


def propose_partnership(session, us_place_id: int | str, jp_code: str, by_login: str, note: str = "",
                        graph: TieGraph | None = None, model: PartnershipModel | None = None):
    """Record a coordinator's "proposed" new partnership as a pending MatchRequest.

    ``us_place_id`` is a US place id, or a state abbreviation ("MD") for a state-level
    side; ``jp_code`` a 5-digit municipality or 2-digit prefecture code. The score and
    reasons are snapshotted on the request, the note kept with it. Proposing the same pair
    twice returns the open request. Raises ValueError for a pair that already exists or a
    side that is not in the reference data. ``graph`` and ``model`` as in suggest_partnerships.
    """
    from sqlalchemy import select

    from matcher.models import MatchRequest, Municipality, Prefecture, Relationship, USPlace, USState, User
    from matcher.refdata import pair_key

    state_side = isinstance(us_place_id, str) and not us_place_id.isdigit()
    us_kind = "state" if state_side else "city"
    jp_kind = "prefecture" if len(jp_code) == 2 else "municipality"
    key = pair_key(us_kind, us_place_id if state_side else int(us_place_id), jp_kind, jp_code)
    if session.scalar(select(Relationship.id).where(Relationship.pair_key == key)):
        raise ValueError("these two places are already partners")
    us_row = session.get(USState, us_place_id) if state_side else session.get(USPlace, int(us_place_id))
    jp_row = session.get(Prefecture if jp_kind == "prefecture" else Municipality, jp_code)
    if us_row is None or jp_row is None:
        raise ValueError(f"no such {'US side' if us_row is None else 'Japanese side'} in the reference data")
    sides = dict(
        us_place_id=None if state_side else int(us_place_id),
        us_state_abbr=us_place_id if state_side else us_row.state_abbr,
        jp_municipality_code=jp_code if jp_kind == "municipality" else None,
        jp_prefecture_code=jp_code if jp_kind == "prefecture" else jp_row.prefecture_code,
    )
    open_ = session.scalars(select(MatchRequest).where(
        MatchRequest.kind == "new_partnership", MatchRequest.status.in_(("pending", "on_hold")),
        *(getattr(MatchRequest, column) == value for column, value in sides.items()))).first()
    if open_ is not None:
        return open_
    graph = graph if graph is not None else load_graph(session)  # with alumni, as the page shows it
    model = model if model is not None else model_for(session, graph)[0]
    u = graph.universe
    us_node = f"state:{us_place_id}" if state_side else f"place:{int(us_place_id)}"
    jp_node = f"pref:{jp_code}" if jp_kind == "prefecture" else f"muni:{jp_code}"
    pair = describe_pair(graph, model, u.us_index[us_node], u.jp_index[jp_node])
    user = session.scalar(select(User).where(User.login == by_login))
    # "weight" and "level" as in every other request's reasons, so the queue can show them.
    reasons = [r | {"weight": r["contribution"], "level": r["relative"] or None} for r in pair["reasons"]]
    request = MatchRequest(kind="new_partnership", **sides, score=pair["score"], status="pending",
                           decision_count=0, requested_by_id=user.id if user else None,
                           contributions=reasons, note=note.strip())
    session.add(request)
    session.flush()
    return request


def open_proposals(session) -> dict[tuple[str, str], object]:
    """Proposed new partnerships not rejected yet, by (US key, JP key) as in a Universe."""
    from sqlalchemy import select

    from matcher.models import MatchRequest

    rows = session.scalars(select(MatchRequest).where(
        MatchRequest.kind == "new_partnership", MatchRequest.status.in_(("pending", "on_hold", "approved")))
        .order_by(MatchRequest.id))
    return {_request_keys(r): r for r in rows}


def _request_keys(request) -> tuple[str, str]:
    us = f"place:{request.us_place_id}" if request.us_place_id is not None else f"state:{request.us_state_abbr}"
    jp = (f"muni:{request.jp_municipality_code}" if request.jp_municipality_code
          else f"pref:{request.jp_prefecture_code}")
    return us, jp


def proposal_labels(session, requests) -> dict[int, str]:
    """"Seattle, WA ↔ Takeo, Saga" for each new-partnership request among ``requests``, by id."""
    from matcher.models import Municipality, Prefecture, USPlace, USState

    out = {}
    for r in requests:
        if r.kind != "new_partnership":
            continue
        if r.us_place_id is not None:
            place = session.get(USPlace, r.us_place_id)
            us = f"{place.name}, {place.state_abbr}" if place else f"US place {r.us_place_id}"
        else:
            state = session.get(USState, r.us_state_abbr)
            us = state.name if state else str(r.us_state_abbr)
        pref = session.get(Prefecture, r.jp_prefecture_code)
        if r.jp_municipality_code:
            muni = session.get(Municipality, r.jp_municipality_code)
            jp = f"{muni.name_romaji}, {pref.name}" if muni and pref else r.jp_municipality_code
        else:
            jp = f"{pref.name} Prefecture" if pref else str(r.jp_prefecture_code)
        out[r.id] = f"{us} ↔ {jp}"
    return out
