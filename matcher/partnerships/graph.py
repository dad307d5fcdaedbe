"""The relationship graph as arrays: every candidate node (Universe), the existing
partnerships (TieGraph), and neighbourhood indices on its states × prefectures projection.

The graph is bipartite, so common neighbours, Adamic–Adar and resource allocation are zero
for every US–JP pair; ``projected_similarity`` counts length-3 paths on the projection instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from scipy import sparse

__all__ = ["Universe", "TieGraph", "projected_similarity"]

_INDEX_CACHE: dict[tuple, dict[str, np.ndarray]] = {}

NEAR_US_KM = 150.0  # "US places near this one": a region's cities, across a state line too
NEAR_JP_KM = 30.0  # "municipalities near this one": the neighbouring towns
_EARTH_KM = 6371.0


def _within(lat: np.ndarray | None, lon: np.ndarray | None, km: float, n: int) -> sparse.csr_matrix:
    """n × n: 1 where two points are within ``km`` (itself excluded; nan coordinates: nobody's)."""
    if lat is None or lon is None:
        return sparse.csr_matrix((n, n))
    return _near_from(lat, lon, np.arange(n), np.arange(n), km, n)


@dataclass
class Universe:
    """Hold every candidate node on both sides, as arrays (index = node id in a TieGraph).

    US nodes are places ("place:12") and states ("state:MD"); JP nodes are
    municipalities ("muni:44201") and prefectures ("pref:44"). :func:`load_graph` builds it
    from the database; the fields are described where they are declared.

    Parameters
    ----------
    us_keys, us_labels : list of str
        Each US node's key and label.
    us_state, us_is_state, us_pop : numpy.ndarray
        Its state (index into ``states``), whether it is a state, its population (NaN if unknown).
    jp_keys, jp_labels : list of str
        Each JP node's key and label.
    jp_pref, jp_is_pref, jp_pop, jp_capital : numpy.ndarray
        Its prefecture (index into ``prefectures``), whether it is one, its population, and
        whether it is a prefectural capital.
    states, prefectures : list of str
        State abbreviations and JIS prefecture codes.
    pref_region : numpy.ndarray
        Region id per prefecture.
    pref_neighbours : scipy.sparse.csr_matrix
        Prefecture adjacency.
    bridges, pref_bridges, us_lat, us_lon, jp_lat, jp_lon, jp_kind, jp_merged, us_coast_km, jp_coast_km : optional
        Alumni bridges, coordinates, municipality kinds, merger counts and distances to the sea.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import sparse
    >>> u = Universe(["place:1", "place:2"], ["Seattle, WA", "Boise, ID"], np.array([0, 1]), np.array([False, False]),
    ...              np.array([7.4e5, 2.4e5]), ["muni:28100", "muni:41206"], ["Kobe, Hyogo", "Takeo, Saga"],
    ...              np.array([0, 1]), np.array([False, False]), np.array([1.5e6, 4.8e4]), np.array([True, False]),
    ...              ["WA", "ID"], ["28", "41"], np.array([4, 7]), sparse.csr_matrix((2, 2)))
    >>> u.n_us, u.n_jp, u.jp_index["muni:41206"]
    (2, 2, 1)
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
    us_lat: np.ndarray | None = None  # degrees; nan for states (they are not smoothed spatially)
    us_lon: np.ndarray | None = None
    jp_lat: np.ndarray | None = None  # degrees; nan for prefectures
    jp_lon: np.ndarray | None = None
    jp_kind: np.ndarray | None = None  # "city", "town", "village", "ward", "prefecture"
    jp_merged: np.ndarray | None = None  # municipalities merged into this one (alias table)
    us_coast_km: np.ndarray | None = None  # distance to the sea (data/coast_km.csv); nan for states, unknown
    jp_coast_km: np.ndarray | None = None  # nan for prefectures, unknown

    @cached_property
    def jp_near(self) -> sparse.csr_matrix:
        """J × J: 1 where two municipalities are within NEAR_JP_KM of each other (not itself)."""
        return _within(self.jp_lat, self.jp_lon, NEAR_JP_KM, self.n_jp)

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
    """Hold the existing partnerships as (US node, JP node) index arrays over a Universe.

    Parameters
    ----------
    universe : Universe
        The nodes.
    us, jp : numpy.ndarray
        Edge ``i`` joins US node ``us[i]`` and JP node ``jp[i]``.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import sparse
    >>> u = Universe(["place:1", "place:2"], ["Seattle, WA", "Boise, ID"], np.array([0, 1]), np.array([False, False]),
    ...              np.array([7.4e5, 2.4e5]), ["muni:28100", "muni:41206"], ["Kobe, Hyogo", "Takeo, Saga"],
    ...              np.array([0, 1]), np.array([False, False]), np.array([1.5e6, 4.8e4]), np.array([True, False]),
    ...              ["WA", "ID"], ["28", "41"], np.array([4, 7]), sparse.csr_matrix((2, 2)))
    >>> g = TieGraph(u, np.array([0]), np.array([0]))   # Seattle ↔ Kobe
    >>> g.pair_set, g.projected.tolist()
    ({(0, 0)}, [[1.0, 0.0], [0.0, 0.0]])
    >>> len(g.without(0).us)
    0
    """

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
    def adjacency(self) -> sparse.csr_matrix:
        """U × J: 1 for each existing partnership."""
        u = self.universe
        a = sparse.csr_matrix((np.ones(len(self.us)), (self.us, self.jp)), shape=(u.n_us, u.n_jp))
        a.sum_duplicates()
        return a

    @cached_property
    def _tied_places(self) -> np.ndarray:
        return np.unique(self.us[~self.universe.us_is_state[self.us]])

    def near_us(self, us: np.ndarray) -> sparse.csr_matrix:
        """len(us) × U: 1 for each US place with a partnership within NEAR_US_KM of ``us[i]``."""
        u = self.universe
        tied = self._tied_places
        if u.us_lat is None or not len(tied):
            return sparse.csr_matrix((len(us), u.n_us))
        return _near_from(u.us_lat, u.us_lon, tied, np.asarray(us, dtype=int), NEAR_US_KM, u.n_us)

    @cached_property
    def jp_near_by_state(self) -> np.ndarray:
        """J × S: partnerships that municipalities near each JP node have with each state."""
        return np.asarray((self.universe.jp_near @ self.jp_by_state).todense())

    @cached_property
    def jp_near_degree(self) -> np.ndarray:
        """J: US partnerships of the municipalities within NEAR_JP_KM of each JP node."""
        return np.asarray(self.universe.jp_near @ self.jp_degree).ravel()

    @cached_property
    def region_ties(self) -> np.ndarray:
        region = self.universe.pref_region
        same = (region[:, None] == region[None, :]).astype(float)
        np.fill_diagonal(same, 0.0)
        return self.projected @ same


def _near_from(lat: np.ndarray, lon: np.ndarray, points: np.ndarray, centres: np.ndarray, km: float,
               n: int) -> sparse.csr_matrix:
    """len(centres) × n: 1 where ``points[k]`` is within ``km`` of ``centres[i]`` (not itself)."""
    # imported here, not at the top: matcher.partnerships loads on the CLI's --help path and sklearn is heavy
    from sklearn.neighbors import BallTree

    ok = np.isfinite(lat[points]) & np.isfinite(lon[points])
    points = points[ok]
    asked = np.flatnonzero(np.isfinite(lat[centres]) & np.isfinite(lon[centres]))
    if not len(points) or not len(asked):
        return sparse.csr_matrix((len(centres), n))
    tree = BallTree(np.radians(np.c_[lat[points], lon[points]]), metric="haversine")
    hits = tree.query_radius(np.radians(np.c_[lat[centres[asked]], lon[centres[asked]]]), r=km / _EARTH_KM)
    rows = np.repeat(asked, [len(h) for h in hits])
    cols = points[np.concatenate(hits)] if len(hits) else np.zeros(0, dtype=int)
    keep = cols != centres[rows]
    return sparse.csr_matrix((np.ones(int(keep.sum())), (rows[keep], cols[keep])), shape=(len(centres), n))


def projected_similarity(adj: sparse.csr_matrix, kind: str) -> np.ndarray:
    """Score every (state, prefecture) by length-3 paths in the projected bipartite graph.

    A state S and a prefecture P have no common neighbours, but S's neighbours share
    prefectures with P's neighbours: with ``sim`` the one-mode Adamic–Adar (or resource
    allocation, or common-neighbour) similarity among states and among prefectures,
    the score is ``sim_states @ A + A @ sim_prefs`` (self-similarity excluded).

    Parameters
    ----------
    adj : scipy.sparse.csr_matrix
        States × prefectures, 1 where a partnership joins them.
    kind : str
        "cn", "aa" (1/log degree) or "ra" (1/degree) weighting of the middle node.

    Returns
    -------
    numpy.ndarray
        Dense states × prefectures scores.

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
