"""The alumni and relationships the reports look at, as arrays: who could serve which tie."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import select

from matcher.geo import PointIndex
from matcher.models import Alumnus, Municipality, Placement, Relationship, USPlace, USState
from matcher.names import display_name

__all__ = ["Pool", "load_pool", "RADIUS_KM"]

RADIUS_KM = 100.0


@dataclass
class Pool:
    """Hold the consenting alumni and every relationship's two sides, for the reports.

    Parameters
    ----------
    alumni : numpy.ndarray
        Consenting alumni ids, sorted.
    names : list of str
        Their display names, in the same order.
    lat, lon : numpy.ndarray
        Their home coordinates, NaN where no home is known.
    relationships : list of dict
        One per relationship: id, label, status, state, lat, lon (of the US side),
        signed_year, dormant_since.
    tied : dict of int to numpy.ndarray
        Relationship id → ids of the alumni placed in its partner, sorted.

    Examples
    --------
    >>> import numpy as np
    >>> rel = {"id": 7, "label": "Seattle ↔ Kobe", "status": "active", "state": "WA",
    ...        "lat": 47.61, "lon": -122.33, "signed_year": 1957, "dormant_since": None}
    >>> pool = Pool(np.array([1, 2]), ["Ann Lee", "Bo Kim"], np.array([47.66, 42.36]), np.array([-122.31, -71.06]),
    ...             [rel], {7: np.array([2])})
    >>> pool.near(rel).tolist()   # Ann lives in Seattle, Bo in Boston
    [1]
    """

    alumni: np.ndarray            # ids, sorted
    names: Sequence[str]          # a list, or :class:`Names` (written when read)
    lat: np.ndarray               # NaN where no home is known
    lon: np.ndarray
    relationships: list[dict]     # id, label, status, state, lat, lon, signed_year, dormant_since
    tied: dict[int, np.ndarray]   # relationship id → alumnus ids placed in its partner, sorted
    _near: dict[float, dict[int, np.ndarray]] = field(default_factory=dict, repr=False)

    def near(self, rel: dict, radius_km: float = RADIUS_KM) -> np.ndarray:
        """Ids of the consenting alumni living within ``radius_km`` of the relationship's US side.

        All relationships are asked of one BallTree at once, the first time, and kept.
        """
        key = radius_km
        if key not in self._near:
            self._near[key] = self._all_near(radius_km)
        return self._near[key].get(rel["id"], self.alumni[:0])

    def _all_near(self, radius_km: float) -> dict[int, np.ndarray]:
        homes = ~np.isnan(self.lat)
        rels = [r for r in self.relationships if r["lat"] is not None]
        if not homes.any() or not rels:
            return {}
        ids = self.alumni[homes]
        found = PointIndex(np.column_stack([self.lat[homes], self.lon[homes]])).within(
            [[r["lat"], r["lon"]] for r in rels], radius_km)
        return {r["id"]: np.sort(ids[i]) for r, i in zip(rels, found)}


class Names(Sequence):
    """The display names of the pool's alumni, each written (:func:`display_name`) when read.

    A report names only a few of 40,000 alumni, so none is written before it is asked for.

    >>> Names([("Ada", "Quillon")])[0]
    'Ada Q.'
    """

    def __init__(self, parts: list[tuple[str, str]]):
        self._parts = parts

    def __len__(self) -> int:
        return len(self._parts)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [display_name(*p) for p in self._parts[i]]
        return display_name(*self._parts[i])


def load_pool(session) -> Pool:
    """Read the pool with one query per table (no ORM objects).

    Parameters
    ----------
    session : Session
        Read only.

    Returns
    -------
    Pool
        The consenting alumni and every relationship, with the alumni placed in each partner.
    """
    rows = session.execute(select(Alumnus.id, Alumnus.given_name, Alumnus.family_name, Alumnus.home_lat, Alumnus.home_lon)
                           .where(Alumnus.consent.is_(True)).order_by(Alumnus.id)).all()
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    names = Names([(r.given_name, r.family_name) for r in rows])
    # None → NaN by the float conversion of an object array
    lat = np.array([r.home_lat for r in rows], dtype=float)
    lon = np.array([r.home_lon for r in rows], dtype=float)
    R = Relationship
    rels = []
    for rid, us_kind, st, jp_kind, muni, pref, status, year, since, pname, plat, plon, sname, slat, slon, mname \
            in session.execute(select(R.id, R.us_kind, R.us_state_abbr, R.jp_kind, R.jp_municipality_code,
                                      R.jp_prefecture_code, R.status, R.signed_year, R.dormant_since,
                                      USPlace.name, USPlace.lat, USPlace.lon, USState.name, USState.lat, USState.lon,
                                      Municipality.name_romaji)
                               .outerjoin(USPlace, R.us_place_id == USPlace.id)
                               .join(USState, R.us_state_abbr == USState.abbr)
                               .outerjoin(Municipality, R.jp_municipality_code == Municipality.code)
                               .order_by(R.id)):
        us = f"{pname}, {st}" if pname else sname
        rels.append({"id": rid, "label": f"{us} ↔ {mname or pref}", "status": status, "state": st,
                     "lat": plat if pname else slat, "lon": plon if pname else slon, "signed_year": year,
                     "dormant_since": since, "muni": muni if jp_kind == "municipality" else None, "pref": pref})
    return Pool(ids, names, lat, lon, rels, _placement_ties(session, rels))


def _placement_ties(session, rels: list[dict]) -> dict[int, np.ndarray]:
    # Placement.municipality_code is the current municipality, so a town merged into the
    # partner (Ishidoriya → Hanamaki) already counts as the partner.
    by_muni: dict[str, list[int]] = {}
    by_pref: dict[str, list[int]] = {}
    for alum, muni, pref in session.execute(
            select(Placement.alumnus_id, Placement.municipality_code, Placement.prefecture_code)
            .join(Alumnus, Placement.alumnus_id == Alumnus.id).where(Alumnus.consent.is_(True))):
        if muni:
            by_muni.setdefault(muni, []).append(alum)
        by_pref.setdefault(pref, []).append(alum)
    # one sorted array per place, shared by every relationship with that partner
    held: dict[tuple[str, str], np.ndarray] = {}

    def ids(kind: str, code: str) -> np.ndarray:
        if (kind, code) not in held:
            found = (by_muni if kind == "muni" else by_pref).get(code, ())
            held[kind, code] = np.unique(np.asarray(found, dtype=np.int64))
        return held[kind, code]

    return {r["id"]: ids("muni", r["muni"]) if r["muni"] else ids("pref", r["pref"]) for r in rels}
