"""Reasons for many pairs at once, as JSON text ready to store.

A reason is one level's sentence filled with a few words about the pair ("lives within 80 km
of Hot Springs, AR"). Those words repeat: a relationship's themes, an alumnus's Japanese level,
a placement seen from every relationship in the same prefecture. :class:`ReasonWriter` fills
each (factor, level) template once per distinct set of the words it uses and keeps the JSON
text of the reason, so a pair's reasons are a string join of cached pieces.

Reasons with a zero weight are left out, and the pieces are ordered placement, distance,
themes, then the alumnus factors, so the weights sum to the score.
"""

from __future__ import annotations

import copy
import json
import string
from typing import Any

import numpy as np

from matcher.scoring.comparisons import ALUMNUS_FACTORS
from matcher.geo import haversine_km
from matcher.scoring.features import decode_pair

__all__ = ["ReasonWriter", "writer_for"]

_REL_FIELDS = {"partner_kind", "partner_prefecture"}
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _lat_lon(info: dict[int, dict[str, Any]], ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Latitude and longitude arrays (NaN where unknown) of ``ids`` from their details."""
    ids = ids.tolist()
    return (np.array([info[i]["lat"] for i in ids], dtype=float).reshape(-1),
            np.array([info[i]["lon"] for i in ids], dtype=float).reshape(-1))


def _fields(template: str) -> frozenset[str]:
    """Names a sentence template uses: ``"lives {km:.0f} km"`` -> {"km"}."""
    return frozenset(name for _, name, _, _ in string.Formatter().parse(template) if name)


class ReasonWriter:
    """Build the reasons of many (alumnus, relationship) pairs from cached sentence pieces.

    Parameters
    ----------
    scorer : the :class:`matcher.scoring.scorer.Scorer` whose levels and weights are explained.
    side : the :class:`matcher.scoring.pool.RelationshipSide` (arrays, names, placement table).

    Pieces that depend on relationships only are kept for the writer's lifetime; call
    :meth:`set_alumni` with the alumni being explained (it forgets alumnus-specific pieces).
    """

    def __init__(self, scorer, side) -> None:
        self.comps = scorer.comps
        self.rel_ids, self.rel_info, self.table = side.rels.ids, side.info, side.table
        self.rel_muni = side.rels.muni
        self.rel_lat, self.rel_lon = _lat_lon(side.info, side.rels.ids)
        self._uses = {(f, c): _fields(lvl.sentence) for f, comp in self.comps.items()
                      for c, lvl in enumerate(comp.levels)}
        self._rel: dict[tuple, str] = {}  # (factor, level, relationship, km) -> JSON text
        self._value: dict[tuple, str] = {}  # (factor, level, words...) -> JSON text
        self._heads: dict[tuple, str] = {}  # (factor, level) -> the JSON before the sentence
        self.set_alumni(np.empty(0, np.int64), {}, {})

    def set_alumni(self, ids: np.ndarray, info: dict[int, dict[str, Any]], codes: dict[str, np.ndarray]) -> None:
        """Explain these alumni from now on (ids, details by id, alumnus-factor codes by position)."""
        self.alum_ids, self.alum_info, self.alum_codes = ids, info, codes
        self.alum_lat, self.alum_lon = _lat_lon(info, ids)
        self._alum: dict[int, str] = {}

    def _piece(self, factor: str, code: int, ctx: dict[str, Any]) -> str:
        """One reason as JSON text followed by a comma; "" for a level weighing nothing."""
        level = self.comps[factor].levels[code]
        if level.weight == 0:
            return ""
        head = self._heads.get((factor, code))
        if head is None:
            head = self._heads[(factor, code)] = _JSON(dict(factor=factor, level=level.name,
                                                            weight=round(level.weight, 4)))[:-1] + ',"sentence":'
        return head + _JSON(level.describe(**ctx)) + "},"

    def _alumnus(self, a: int) -> str:
        """The joined alumnus-factor pieces of the alumnus at position ``a``."""
        text = self._alum.get(a)
        if text is None:
            info = self.alum_info[int(self.alum_ids[a])]
            parts = []
            for f in ALUMNUS_FACTORS:
                code = int(self.alum_codes[f][a])  # alumnus pieces are shared by value, not by person
                key = (f, code, *(info[n] for n in sorted(self._uses[(f, code)])))
                piece = self._value.get(key)
                if piece is None:
                    piece = self._value[key] = self._piece(f, code, info)
                parts.append(piece)
            text = self._alum[a] = "".join(parts)
        return text

    def _placement_piece(self, a: int, j: int, r: int, level: int) -> str:
        ps = self.alum_info[int(self.alum_ids[a])]["placements"]
        if self.comps["placement"].levels[level].weight == 0 or not ps:
            return ""
        p, rel = ps[j], self.rel_info[int(self.rel_ids[r])]
        named = p["alias"] and rel["jp_name_at_signing"] and p["alias"] == rel["jp_name_at_signing"]
        ctx = dict(place=p["alias"] or p["muni_name"] or f"{p['prefecture']} Prefecture",
                   merger=f" (merged into {p['muni_name']} in {p['merged']})" if p["alias"] else "",
                   partner_kind="as named at signing" if named else
                   ("prefecture" if rel["jp_kind"] == "prefecture" else "municipality"),
                   years=f"{p['start']}–{p['end']}", prefecture=p["prefecture"], region=p["region"],
                   partner_prefecture=rel["prefecture"])
        return self._piece("placement", level, ctx)

    def _relationship(self, factor: str, r: int, level: int, km: float) -> str:
        key = (factor, level, r, km)
        text = self._rel.get(key)
        if text is None:
            rel = self.rel_info[int(self.rel_ids[r])]
            ctx = dict(us_place=rel["us_place"], us_state=rel["us_state"], themes=", ".join(rel["themes"]),
                       km=km if km >= 0 else float("nan"))
            text = self._rel[key] = self._piece(factor, level, ctx)
        return text

    def _uses_any(self, factor: str, names: set[str]) -> np.ndarray:
        """Per level code of ``factor``: does its sentence use any of ``names``?"""
        return np.array([bool(self._uses[(factor, c)] & names) for c in range(len(self.comps[factor]))])

    def _which_placement(self, a: np.ndarray, r: np.ndarray, level: np.ndarray, muni: np.ndarray,
                         pref: np.ndarray) -> np.ndarray:
        """Per pair, the first of the alumnus's placements that reaches the pair's placement level."""
        own = self.table[pref[a].astype(np.intp), r[:, None]]  # (pairs, placements)
        exact = (muni[a] == self.rel_muni[r][:, None]) & (self.rel_muni[r][:, None] >= 0)
        own[exact] = 0
        hit = own == level[:, None]
        return np.where(hit.any(axis=1), hit.argmax(axis=1), 0)

    def pairs(self, a: np.ndarray, r: np.ndarray, codes: np.ndarray, muni: np.ndarray, pref: np.ndarray) -> list[str]:
        """Return the JSON reasons of each pair.

        Parameters
        ----------
        a, r : positions of the alumnus (in :meth:`set_alumni`'s ids) and the relationship.
        codes : the pair codes (:func:`matcher.scoring.features.pair_codes`).
        muni, pref : the alumni's placement arrays (:class:`matcher.scoring.features.Alumni`), rows as in ``ids``.

        Each distinct piece (a placement seen from a relationship, a distance band with its
        rounded km, a relationship's themes, an alumnus's own factors) is written once.
        """
        a, r = np.asarray(a, np.int64), np.asarray(r, np.int64)
        if a.size == 0:
            return []
        placement, distance, themes = decode_pair(np.asarray(codes, np.int64))
        km = np.rint(haversine_km(self.alum_lat[a], self.alum_lon[a], self.rel_lat[r], self.rel_lon[r]))
        km = np.where(np.isnan(km), -1, km).astype(np.int64)  # "{km:.0f}" rounds alike; -1: unknown home
        km[~self._uses_any("distance", {"km", "near"})[distance]] = 0  # "near" is chosen from the km
        n_rel, width = len(self.rel_ids) + 1, muni.shape[1]
        j = self._which_placement(a, r, placement, muni, pref)
        rel_part = np.where(self._uses_any("placement", _REL_FIELDS)[placement], r + 1, 0)
        keys = {
            "placement": ((a * width + j) * 8 + placement) * n_rel + rel_part,
            "distance": (r * 8 + distance) * 40_100 + km + 1,
            "themes": r * 8 + themes,
            "alumnus": a,
        }
        text = None
        for part, key in keys.items():
            uniq, first, inverse = np.unique(key, return_index=True, return_inverse=True)
            i = first.tolist()
            if part == "placement":
                pieces = [self._placement_piece(a[f], j[f], r[f], placement[f]) for f in i]
            elif part == "alumnus":
                pieces = [self._alumnus(a[f]) for f in i]
            else:
                level = distance if part == "distance" else themes
                pieces = [self._relationship(part, int(r[f]), int(level[f]), float(km[f])) for f in i]
            column = np.array(pieces, dtype=object)[inverse.reshape(-1)]
            text = column if text is None else text + column  # str concatenation, element by element
        return ["[" + t[:-1] + "]" for t in text.tolist()]


def writer_for(scorer, side, ids: np.ndarray, info: dict[int, dict[str, Any]],
               codes: dict[str, np.ndarray]) -> ReasonWriter:
    """A :class:`ReasonWriter` for these alumni, sharing the relationship pieces of its model with earlier calls.

    The shared writer is kept in ``side.memo`` (it lives as long as the relationship side);
    each call gets a copy with its own alumni, so threads do not share alumnus pieces.
    """
    key = ("reasons", scorer.version, json.dumps(scorer.settings["weights"], sort_keys=True))
    shared = side.memo.get(key)
    if shared is None:
        shared = side.memo[key] = ReasonWriter(scorer, side)
    writer = copy.copy(shared)
    writer.set_alumni(ids, info, codes)
    return writer
