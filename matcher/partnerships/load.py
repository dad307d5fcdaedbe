"""Build the Universe and the TieGraph from the database: reference places on both sides,
existing relationships, and the alumni who bridge them."""

from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy import sparse

from matcher.geo import EARTH_RADIUS_KM
from matcher.instance import data_dir
from matcher.partnerships.features import SIGNALS
from matcher.partnerships.graph import TieGraph, Universe

__all__ = ["RADIUS_KM", "capital_codes", "coast_km", "load_graph", "ScoringGraph", "scoring_graph", "uses_alumni"]

# SQLAlchemy and the models are imported by the functions that query: unpickling a ScoringGraph
# from `jetmatch partnerships score`'s cache file needs this module but no database library.

RADIUS_KM = 80.0  # "lives near the US place": the design note's commuting band


# JIS convention: a prefecture's capital is its designated city xx100 if it has one, else xx201;
# the two exceptions are Tokyo (the Metropolitan Government sits in Shinjuku) and Yamaguchi
# (35201 is Shimonoseki).
_CAPITAL_EXCEPTIONS = {"13": "13104", "35": "35203"}


def capital_codes(codes: list[str]) -> set[str]:
    """Return the JIS codes of prefectural capitals among ``codes`` (current municipalities).

    Parameters
    ----------
    codes : list of str
        5-digit municipality codes.

    Returns
    -------
    set of str
        Those that are a prefecture's capital.

    Examples
    --------
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
    """Build the Universe and the graph of existing relationships from the database.

    The Universe holds all US places and states and all JP municipalities and prefectures.

    Parameters
    ----------
    session : Session
        Read only.
    alumni : bool, optional
        Also count the alumni who bridge each pair (``Universe.bridges``).

    Returns
    -------
    TieGraph
        The existing relationships over the Universe.
    """
    from sqlalchemy import select

    from matcher.models import Municipality, Prefecture, Relationship, USPlace, USState

    prefs = session.execute(select(Prefecture.code, Prefecture.name, Prefecture.region, Prefecture.neighbours)
                            .order_by(Prefecture.code)).all()
    munis = session.execute(select(Municipality.code, Municipality.prefecture_code, Municipality.name_romaji,
                                   Municipality.population, Municipality.kind, Municipality.lat,
                                   Municipality.lon).order_by(Municipality.code)).all()
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
        us_lat=np.r_[[p.lat for p in places], np.full(len(states), np.nan)].astype(float),
        us_lon=np.r_[[p.lon for p in places], np.full(len(states), np.nan)].astype(float),
        jp_lat=np.r_[[m.lat for m in munis], np.full(len(prefs), np.nan)].astype(float),
        jp_lon=np.r_[[m.lon for m in munis], np.full(len(prefs), np.nan)].astype(float),
        jp_kind=np.array([m.kind for m in munis] + ["prefecture"] * len(prefs)),
        jp_merged=np.r_[_merged_counts(session, [m.code for m in munis]), np.zeros(len(prefs))],
    )
    us_coast, jp_coast = coast_km()
    u.us_coast_km = np.r_[[us_coast.get(str(p.id), np.nan) for p in places], np.full(len(states), np.nan)]
    u.jp_coast_km = np.r_[[jp_coast.get(m.code, np.nan) for m in munis], np.full(len(prefs), np.nan)]
    rels = session.execute(select(Relationship.us_kind, Relationship.us_place_id, Relationship.us_state_abbr,
                                  Relationship.jp_kind, Relationship.jp_municipality_code,
                                  Relationship.jp_prefecture_code).order_by(Relationship.id)).all()
    us = [u.us_index[f"state:{r.us_state_abbr}" if r.us_kind == "state" else f"place:{r.us_place_id}"] for r in rels]
    jp = [u.jp_index[f"pref:{r.jp_prefecture_code}" if r.jp_kind == "prefecture" else f"muni:{r.jp_municipality_code}"]
          for r in rels]
    if alumni:
        _add_bridges(session, u, places)
    return TieGraph(u, np.array(us, dtype=int), np.array(jp, dtype=int))


class ScoringGraph(TieGraph):
    """A TieGraph with everything ``pair_features`` reads computed once, to be kept in a cache file.

    The US places near each US node are computed for every node at once (see :func:`scoring_graph`),
    so scoring new pairs later needs neither a ball tree nor scikit-learn. The features are those
    of the graph it was made from, number for number.
    """

    near_all: sparse.csr_matrix | None = None  # U × U: TieGraph.near_us of every US node

    def near_us(self, us: np.ndarray) -> sparse.csr_matrix:
        return self.near_all[np.asarray(us, dtype=int)]


def scoring_graph(graph: TieGraph) -> ScoringGraph:
    """Return ``graph`` with the arrays ``pair_features`` reads computed, ready to pickle.

    Parameters
    ----------
    graph : TieGraph
        The partnerships.

    Returns
    -------
    ScoringGraph
        The same partnerships over the same Universe.
    """
    out = ScoringGraph(graph.universe, graph.us, graph.jp)
    out.near_all = TieGraph.near_us(out, np.arange(graph.universe.n_us)).tocsr()
    for name in ("pair_set", "projected", "sister", "indices", "us_degree", "jp_degree", "us_by_pref",
                 "jp_by_state", "neighbour_ties", "adjacency", "jp_near_by_state", "region_ties"):
        getattr(out, name)
    for name in ("jp_near", "us_index", "jp_index"):
        getattr(graph.universe, name)
    return out


def uses_alumni(features) -> bool:
    """Whether a model over ``features`` reads the alumni bridges (else the graph is loaded without them).

    >>> uses_alumni(["sister_state", "jp_degree"]), uses_alumni(["alumni_bridges"])
    (False, True)
    """
    return any(name in SIGNALS["alumni"] for name in features)


@lru_cache(maxsize=1)
def coast_km(folder: str | None = None) -> tuple[dict[str, float], dict[str, float]]:
    """Return each US place's (by id) and JP municipality's (by JIS code) distance to the sea in km,
    from ``data/coast_km.csv`` (built from the shipped map outlines by scripts/build-coast-distance);
    empty when the file is missing (the coast features are then unknown everywhere)."""
    path = (Path(folder) if folder else data_dir()) / "coast_km.csv"
    out: tuple[dict[str, float], dict[str, float]] = ({}, {})
    if not path.exists():
        return out
    with open(path, encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            out[0 if row["side"] == "us" else 1][row["key"]] = float(row["km"])
    return out


def _merged_counts(session, codes: list[str]) -> np.ndarray:
    """How many former municipalities merged into each one, from the alias table (so a fuller
    merger table loaded into the database is picked up without a code change)."""
    from sqlalchemy import func, select

    from matcher.models import MunicipalityAlias

    counts = dict(session.execute(select(MunicipalityAlias.municipality_code, func.count())
                                  .where(MunicipalityAlias.reason == "merger")
                                  .group_by(MunicipalityAlias.municipality_code)).all())
    return np.array([counts.get(c, 0) for c in codes], dtype=float)


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
    # imported here, not at the top: matcher.partnerships loads on the CLI's --help path and sklearn is heavy
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
        hits = tree.query_radius(np.radians([(a.home_lat, a.home_lon) for _, a in located]), r=RADIUS_KM / EARTH_RADIUS_KM)
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
