"""Features of a (US node, JP node) pair, each with a sentence that says what its value means,
and the leave-one-out training examples the model learns from."""

from __future__ import annotations

import numpy as np
from scipy import sparse

from matcher.partnerships.graph import TieGraph, Universe

__all__ = ["FEATURES", "SIGNALS", "SUPPORTING", "pair_features", "training_examples", "candidate_lists",
           "level_candidates"]

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
    "near_us_partners_in_pref": "US places within 150 km of the US side have {v:g} partnership{s} in this prefecture",
    "near_us_partners_near_jp": "US places within 150 km of the US side have {v:g} partner{s} within 30 km of "
                                "the JP side",
    "jp_near_partners_in_state": "towns within 30 km of the JP side have {v:g} partner{s} in this state",
    "jp_partners_near_us": "the JP side already partners {v:g} US place{s} within 150 km of the US side",
    "us_partners_near_jp": "the US side already partners {v:g} town{s} within 30 km of the JP side",
    "area_pref_share": "{v:.0%} of the partnerships of this part of the US are with this prefecture",
    "jp_merged": "{v:g} former municipalit{ies} merged into the JP side, each with its own history of ties",
    "jp_city": "the JP side is a city",
    "kind_match": "sizes match: a small US place with a Japanese town or village, or a larger one with a city",
    "pref_partners": "the prefecture already has {v:g} US partnership{s}",
    "pref_affinity": "{v:.1%} of the partnerships of this state and nearby US places go to this prefecture "
                     "(smoothed towards the prefecture's share of all)",
    "pref_munis": "{v:g} municipalit{ies} of this prefecture compete for a partner",
    "size_product": "size on both sides: log-populations from the average multiply to {v:.2f}",
    "latitude_gap": "their latitudes differ by {v:.1f}°",
    "jp_designated": "the JP side is a designated city",
    "jp_near_partners": "towns within 30 km of the JP side have {v:g} US partner{s}",
    "longitude_product": "east–west position on both sides: longitudes from the average multiply to {v:.2f}",
    "coast_product": "distance to the sea on both sides: log-distances from about 20 km multiply to {v:.2f}",
    "port_pair": "both sides lie on the coast (within 25 km of the sea): a port with a port",
    "jp_coastal": "the JP side lies on the coast (within 25 km of the sea)",
    "latitude_product": "north–south position on both sides: latitudes from the average multiply to {v:.2f}",
    "town_size_gap": "the JP side is a town or village, and the populations differ by a factor of {v:.1f}",
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
    "near_us_partners_in_pref": "no US place within 150 km of the US side has a partnership in this prefecture",
    "near_us_partners_near_jp": "no US place within 150 km of the US side has a partner within 30 km of the "
                                "JP side",
    "jp_near_partners_in_state": "no town within 30 km of the JP side has a partner in this state",
    "jp_partners_near_us": "the JP side has no partner within 150 km of the US side",
    "us_partners_near_jp": "the US side has no partner within 30 km of the JP side",
    "jp_merged": "no former municipality merged into the JP side",
    "jp_city": "the JP side is a town, village or prefecture, not a city",
    "kind_match": "sizes differ in kind: a small US place with a Japanese city, or a larger one with a town",
    "pref_partners": "the prefecture has no US partnership yet",
    "jp_designated": "the JP side is not a designated city",
    "jp_near_partners": "no town within 30 km of the JP side has a US partner",
    "port_pair": "the two sides are not both on the coast",
    "jp_coastal": "the JP side lies inland (more than 25 km from the sea)",
}
_UNKNOWN = {"jp_population": "the JP side's population is unknown (a typical one is assumed)",
            "us_population": "the US side's population is unknown (a typical one is assumed)",
            "population_gap": "one population is unknown (a typical gap is assumed)",
            "size_product": "one population is unknown (an average size is assumed)",
            "latitude_gap": "one side has no coordinates (a typical latitude gap is assumed)",
            "longitude_product": "one side has no coordinates (an average position is assumed)",
            "coast_product": "one side's distance to the sea is unknown (a typical one is assumed)",
            "latitude_product": "one side has no coordinates (an average position is assumed)",
            "town_size_gap": "the JP side is a town or village and one population is unknown (a typical gap is assumed)"}
# Features worded by the sign of their value (negative, zero, positive).
_BY_SIGN = {"size_product": ("sizes differ: one side has more than about 30,000 people, the other fewer",
                             "one side has about 30,000 people",
                             "sizes match: both sides have more than about 30,000 people, or both fewer"),
            "coast_product": ("one side is within about 20 km of the sea, the other further inland",
                              "one side is about 20 km from the sea",
                              "both sides are within about 20 km of the sea, or both further inland")}
_BINARY = {"sister_state", "jp_capital", "level_match", "jp_city", "kind_match", "jp_designated", "port_pair",
           "jp_coastal"}
_CONTINUOUS = {"jp_population", "us_population", "population_gap", "size_product", "latitude_gap", "pref_affinity",
               "longitude_product", "coast_product", "latitude_product"}  # measured from the average pair
_LINEAR = {"size_product", "latitude_gap", "longitude_product", "coast_product", "latitude_product",
           "town_size_gap"}  # on a log scale or in degrees
# Features whose direction is known before any data: more of them never makes a pair less
# likely. The model keeps their weights ≥ 0, so a line saying "5 alumni…" never subtracts.
SUPPORTING = frozenset({"sister_state", "state_pref_ties", "adamic_adar", "resource_allocation",
                        "common_neighbours", "pref_attachment", "neighbour_ties", "region_ties",
                        "us_partners_in_pref", "jp_partners_in_state", "alumni_bridges", "alumni_pref_bridges",
                        "near_us_partners_in_pref", "near_us_partners_near_jp", "jp_near_partners_in_state",
                        "jp_partners_near_us", "us_partners_near_jp", "area_pref_share", "jp_capital", "kind_match",
                        "level_match", "pref_partners", "pref_affinity"})
# The new signals, as groups that the evaluation's ablation switches off one at a time.
SIGNALS: dict[str, tuple[str, ...]] = {
    "spatial": ("near_us_partners_in_pref", "near_us_partners_near_jp", "jp_near_partners_in_state",
                "jp_partners_near_us", "us_partners_near_jp", "area_pref_share"),
    "mergers": ("jp_merged",),
    "size_kind": ("jp_population", "us_population", "population_gap", "jp_capital", "jp_city", "kind_match"),
    "alumni": ("alumni_bridges", "alumni_pref_bridges"),
    "graph_indices": ("adamic_adar", "resource_allocation", "common_neighbours", "pref_attachment"),
    "size_match": ("size_product",),
    "latitude": ("latitude_gap",),
    "longitude": ("longitude_product",),
    "prefecture": ("pref_partners", "pref_affinity", "pref_munis"),
    "designated": ("jp_designated",),
    "near_partners": ("jp_near_partners",),
    "coast": ("coast_product",),
    "coast_flags": ("port_pair", "jp_coastal"),
    "latitude_product": ("latitude_product",),
    "town_size_gap": ("town_size_gap",),
}
SMALL_US_PLACE = 25_000  # below this a US place "is a town" for kind matching
LOG_POP_CENTRE = 4.5  # log10 population the size product is measured from (about 30,000 people)
US_LON_CENTRE, JP_LON_CENTRE = -100.0, 137.0  # the middle of each country, for the longitude product
US_LAT_CENTRE, JP_LAT_CENTRE = 39.0, 36.0  # and for the latitude product
PREF_PRIOR = 5.0  # pseudo-partnerships of the prefecture-affinity back-off
COAST_KM = 25.0  # within this of the sea a place "is on the coast" (the distances are good to about 5 km)
LOG_COAST_CENTRE = 1.3  # log10(1 + km) the coast product is measured from (about 20 km)


def pair_features(graph: TieGraph, us: np.ndarray, jp: np.ndarray) -> np.ndarray:
    """Return the raw feature matrix (pairs × FEATURES) of pairs scored on ``graph``.

    The caller is responsible for ``graph`` not containing the pairs (see
    ``training_examples`` and ``PartnershipModel.score``).

    Parameters
    ----------
    graph : TieGraph
        The partnerships the features are computed from.
    us, jp : numpy.ndarray
        The pairs' US and JP node ids.

    Returns
    -------
    numpy.ndarray
        One row per pair, one column per name in FEATURES.
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
        **_spatial(graph, us, jp, p, s),
        "jp_merged": u.jp_merged[jp] if u.jp_merged is not None else np.zeros(len(jp)),
        **_kind(u, us, jp, us_pop),
        **_prefecture(graph, us, jp, s, p),
        "size_product": (np.log10(us_pop) - LOG_POP_CENTRE) * (np.log10(jp_pop) - LOG_POP_CENTRE),
        "latitude_gap": _latitude_gap(u, us, jp),
        "jp_designated": _designated(u, jp),
        "jp_near_partners": graph.jp_near_degree[jp],
        "longitude_product": _longitude_product(u, us, jp),
        **_coast(u, us, jp),
        "latitude_product": _latitude_product(u, us, jp),
        "town_size_gap": np.where(np.isin(u.jp_kind[jp], ("town", "village")) if u.jp_kind is not None
                                  else np.zeros(len(jp), bool), np.abs(np.log10(us_pop) - np.log10(jp_pop)), 0.0),
    }
    out = np.empty((len(us), len(FEATURES)), order="F")  # column-major: _transform works by column
    for i, name in enumerate(FEATURES):
        out[:, i] = cols[name]
    return out


def _spatial(graph: TieGraph, us: np.ndarray, jp: np.ndarray, p: np.ndarray, s: np.ndarray) -> dict:
    """Spatial smoothing: the partnerships of US places near the US side (by prefecture, and
    with towns near the JP side), and those of towns near the JP side with the US side's state."""
    uniq, inv = np.unique(us, return_inverse=True)
    near = graph.near_us(uniq)  # len(uniq) × U
    by_pref = np.asarray((near @ graph.us_by_pref).todense())
    jp_near = graph.universe.jp_near
    near_partners = (near @ graph.adjacency).tocsr()  # len(uniq) × J: partners of nearby US places
    near_jp = near_partners @ (jp_near + sparse.identity(graph.universe.n_jp, format="csr"))
    own_near = graph.adjacency[uniq] @ jp_near  # the US side's own partners near each JP node
    b = graph.projected
    share = (b[s, p] + by_pref[inv, p] + b.sum(axis=0)[p] / max(b.sum(), 1.0)) / (
        b.sum(axis=1)[s] + by_pref.sum(axis=1)[inv] + 1.0)
    return {"near_us_partners_in_pref": by_pref[inv, p],
            "near_us_partners_near_jp": _gather(near_jp.tocsr(), inv, jp),
            "jp_near_partners_in_state": graph.jp_near_by_state[jp, s],
            "jp_partners_near_us": _gather(near_partners, inv, jp),
            "us_partners_near_jp": _gather(own_near.tocsr(), inv, jp),
            "area_pref_share": share}


def _prefecture(graph: TieGraph, us: np.ndarray, jp: np.ndarray, s: np.ndarray, p: np.ndarray) -> dict:
    """Prefecture-level popularity and affinity: the prefecture's partnerships (leave-one-out,
    as everything on ``graph``), its number of municipalities, and the share of the state's
    and nearby US places' partnerships in it, backed off to the prefecture's share of all
    (additive smoothing with PREF_PRIOR pseudo-partnerships)."""
    u = graph.universe
    b = graph.projected
    per_pref = b.sum(axis=0)
    prior = (per_pref + 1.0) / (per_pref.sum() + len(per_pref))
    uniq, inv = np.unique(us, return_inverse=True)
    by_pref = np.asarray((graph.near_us(uniq) @ graph.us_by_pref).todense()) + b[u.us_state[uniq]]
    affinity = (by_pref[inv, p] + PREF_PRIOR * prior[p]) / (by_pref.sum(axis=1)[inv] + PREF_PRIOR)
    munis = np.bincount(u.jp_pref[~u.jp_is_pref], minlength=len(u.prefectures)).astype(float)
    return {"pref_partners": per_pref[p], "pref_affinity": affinity,
            "pref_munis": np.where(u.jp_is_pref[jp], 1.0, munis[p])}


def _latitude_gap(u: Universe, us: np.ndarray, jp: np.ndarray) -> np.ndarray:
    if u.us_lat is None or u.jp_lat is None:
        return np.full(len(us), np.nan)
    return np.abs(u.us_lat[us] - u.jp_lat[jp])


def _longitude_product(u: Universe, us: np.ndarray, jp: np.ndarray) -> np.ndarray:
    """(US longitude − US_LON_CENTRE) × (JP longitude − JP_LON_CENTRE), in units of 10°."""
    if u.us_lon is None or u.jp_lon is None:
        return np.full(len(us), np.nan)
    return (u.us_lon[us] - US_LON_CENTRE) * (u.jp_lon[jp] - JP_LON_CENTRE) / 100.0


def _latitude_product(u: Universe, us: np.ndarray, jp: np.ndarray) -> np.ndarray:
    """(US latitude − US_LAT_CENTRE) × (JP latitude − JP_LAT_CENTRE), in units of 10°."""
    if u.us_lat is None or u.jp_lat is None:
        return np.full(len(us), np.nan)
    return (u.us_lat[us] - US_LAT_CENTRE) * (u.jp_lat[jp] - JP_LAT_CENTRE) / 100.0


def _coast(u: Universe, us: np.ndarray, jp: np.ndarray) -> dict:
    """Coast to coast: ports pair with ports. The product of log-distances to the sea (each from
    about 20 km) is positive when both sides are on the coast or both inland; unknown → nan."""
    if u.us_coast_km is None or u.jp_coast_km is None:
        nan = np.full(len(us), np.nan)
        return {"coast_product": nan, "port_pair": np.zeros(len(us)), "jp_coastal": np.zeros(len(us))}
    us_km, jp_km = u.us_coast_km[us], u.jp_coast_km[jp]
    with np.errstate(invalid="ignore"):
        jp_coastal = jp_km <= COAST_KM
        return {"coast_product": (np.log10(1 + us_km) - LOG_COAST_CENTRE) * (np.log10(1 + jp_km) - LOG_COAST_CENTRE),
                "port_pair": ((us_km <= COAST_KM) & jp_coastal).astype(float),
                "jp_coastal": jp_coastal.astype(float)}


def _designated(u: Universe, jp: np.ndarray) -> np.ndarray:
    """Designated cities: JIS codes xx100 (the wards of a designated city are xx1nn)."""
    return np.array([k.startswith("muni:") and k.endswith("100") for k in u.jp_keys], dtype=float)[jp]


def _kind(u: Universe, us: np.ndarray, jp: np.ndarray, us_pop: np.ndarray) -> dict:
    """Size and kind: is the JP side a city, and does that fit the size of the US side."""
    if u.jp_kind is None:
        return {"jp_city": np.zeros(len(jp)), "kind_match": np.zeros(len(jp))}
    city = u.jp_kind[jp] == "city"
    town = np.isin(u.jp_kind[jp], ("town", "village"))
    small = np.nan_to_num(us_pop, nan=0.0) < SMALL_US_PLACE
    place = ~u.us_is_state[us]
    return {"jp_city": city.astype(float),
            "kind_match": (place & ((small & town) | (~small & city))).astype(float)}


def _gather(matrix: sparse.csr_matrix | None, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    if matrix is None:
        return np.zeros(len(rows))
    return np.asarray(matrix[rows, cols]).ravel()


def _transform(raw: np.ndarray) -> np.ndarray:
    """Model inputs: log1p for counts, log10 for populations; unknown populations → 0 gap."""
    x = np.array(raw, dtype=float, order="F")
    for i, name in enumerate(FEATURES):
        col = x[:, i]
        if name in _LINEAR:
            x[:, i] = np.where(np.isfinite(col), col, np.nan)
        elif name in _CONTINUOUS:
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

    Parameters
    ----------
    graph : TieGraph
        The known partnerships.
    rng : numpy.random.Generator
        Draws the negatives.
    negatives, same_prefecture : int, optional
        Negatives per edge, at random and from the edge's prefecture.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        The feature rows and their labels (1 for an edge, 0 for a non-edge).
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


def level_candidates(u: Universe, jp_node: int) -> np.ndarray:
    """The JP nodes a partner at ``jp_node``'s level competes with: every municipality for a
    municipality, every prefecture for a prefecture."""
    return np.flatnonzero(u.jp_is_pref == u.jp_is_pref[jp_node])


def candidate_lists(graph: TieGraph, edges: np.ndarray | None = None,
                    exclude: set[tuple[int, int]] | None = None) -> dict[str, np.ndarray]:
    """Return every edge's full candidate list, each scored on the graph without that edge.

    For edge ``(u, j)`` the list is ``j`` first, then every other node at ``j``'s level that
    is not a known partner of ``u`` (in ``graph`` or in ``exclude``): the list a coordinator
    ranks, and the one the listwise model and the calibration learn from.

    Parameters
    ----------
    graph : TieGraph
        The known partnerships.
    edges : numpy.ndarray, optional
        Indices of the edges to build lists for (default: all).
    exclude : set of (int, int), optional
        Pairs known elsewhere (hidden in an evaluation), kept out of the lists.

    Returns
    -------
    dict of str to numpy.ndarray
        ``raw`` (rows × FEATURES), ``y`` (1 for the partner), ``group`` (edge index),
        ``level`` (1 for a prefecture list), ``jp`` (the candidate node).
    """
    u = graph.universe
    edges = np.arange(len(graph.us)) if edges is None else np.asarray(edges, dtype=int)
    known = graph.pair_set | (exclude or set())
    parts: dict[str, list] = {"raw": [], "y": [], "group": [], "level": [], "jp": []}
    for i in edges.tolist():
        us_node, jp_node = int(graph.us[i]), int(graph.jp[i])
        cand = level_candidates(u, jp_node)
        cand = cand[[(us_node, c) not in known for c in cand.tolist()]]
        jp = np.r_[jp_node, cand]
        parts["raw"].append(pair_features(graph.without(i), np.full(len(jp), us_node), jp))
        parts["y"].append(np.r_[1.0, np.zeros(len(cand))])
        parts["group"].append(np.full(len(jp), i))
        parts["level"].append(np.full(len(jp), int(u.jp_is_pref[jp_node])))
        parts["jp"].append(jp)
    if not parts["raw"]:
        return {"raw": np.zeros((0, len(FEATURES))), "y": np.zeros(0), "group": np.zeros(0, int),
                "level": np.zeros(0, int), "jp": np.zeros(0, int)}
    return {k: np.concatenate(v) if k != "raw" else np.vstack(v) for k, v in parts.items()}


def _munis_by_pref(u: Universe) -> list[np.ndarray]:
    out = [np.flatnonzero((u.jp_pref == p) & ~u.jp_is_pref) for p in range(len(u.prefectures))]
    return [o if len(o) else np.flatnonzero(u.jp_pref == p) for p, o in enumerate(out)]


def _sentence(name: str, value: float) -> str:
    """Say what the raw value is, in words that hold for that value (zero included).

    >>> _sentence("alumni_pref_bridges", 0.0)
    'no JET alum living near the US side was placed in this prefecture yet'
    >>> _sentence("state_pref_ties", 1.0)
    '1 other partnership already joins this state and this prefecture'
    >>> _sentence("size_product", -0.4)
    'sizes differ: one side has more than about 30,000 people, the other fewer'
    """
    if np.isnan(value):
        return _UNKNOWN.get(name, FEATURES[name].split("(")[0].split("{")[0].strip() + " (unknown)")
    if name in _BY_SIGN:
        return _BY_SIGN[name][int(np.sign(value)) + 1].format(v=value)
    if value == 0 and name in _WHEN_ZERO:
        return _WHEN_ZERO[name]
    one = value == 1
    return FEATURES[name].format(v=value, s="" if one else "s", s_="s" if one else "",
                                 were="was" if one else "were", alumni="alum" if one else "alumni",
                                 ies="y" if one else "ies")
