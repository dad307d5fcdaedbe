"""Feature arrays: small integer level codes per alumnus x relationship, built in NumPy.

* one ``uint8`` *pair code* per alumnus x relationship, the product code
  ``placement * 18 + distance * 3 + themes`` of the three pair comparisons (decode with
  :func:`decode_pair`);
* one ``uint8`` code per alumnus for each alumnus factor (Japanese, years, role, recency,
  availability): these add the same amount to every relationship.

No database here: :mod:`matcher.scoring.pool` reads these arrays from a session, the benchmark
builds them from synthetic alumni.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from matcher.geo import EARTH_RADIUS_KM, haversine_km
from matcher.scoring.comparisons import validate_settings

if TYPE_CHECKING:  # SciPy's sparse matrices come from the TF-IDF vectoriser; importing it costs 0.3 s
    import scipy.sparse as sp

__all__ = [
    "EARTH_RADIUS_KM",
    "N_PREF",
    "Geography",
    "Alumni",
    "Relationships",
    "unit_vectors",
    "placement_table",
    "placement_levels",
    "pair_codes",
    "decode_pair",
    "alumnus_codes",
    "haversine_km",
]

N_PREF = 47  # prefecture index = int(JIS code) - 1; index 47 = no prefecture
DIST_KM = (25.0, 80.0, 200.0)


def unit_vectors(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Return float64 unit vectors (n, 3); NaN rows where the place is unknown.

    Great-circle distance bands are compared as dot products in float64 (exact to far
    below a metre at 25 km, unlike float32 ``arccos``).
    """
    la, lo = np.radians(np.asarray(lat, float)), np.radians(np.asarray(lon, float))
    return np.stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)], axis=1)


@dataclass
class Geography:
    """Prefecture regions and adjacency, indexed by ``int(code) - 1``."""

    region: np.ndarray  # int16 (47,)
    neighbours: np.ndarray  # bool (47, 47)

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[str, str, str]]) -> Geography:
        """Build from (code, region, "43;45") rows."""
        region = np.full(N_PREF, -1, np.int16)
        neighbours = np.zeros((N_PREF, N_PREF), bool)
        names: dict[str, int] = {}
        for code, reg, neigh in rows:
            i = int(code) - 1
            region[i] = names.setdefault(reg, len(names))
            for n in filter(None, neigh.split(";")):
                neighbours[i, int(n) - 1] = neighbours[int(n) - 1, i] = True
        return cls(region, neighbours)


@dataclass
class Alumni:
    """Eligible alumni as arrays (consent given, capacity left)."""

    ids: np.ndarray  # int64 (A,)
    xyz: np.ndarray  # float64 (A, 3), NaN if home unknown
    state: np.ndarray  # int16 (A,), -1 unknown
    muni: np.ndarray  # int32 (A, P): JIS code as int, -1 none
    pref: np.ndarray  # int16 (A, P): prefecture index, 47 none
    codes: dict[str, np.ndarray]  # alumnus factor -> uint8 (A,)
    interests: sp.csr_matrix | None = None  # (A, V) float32, rows L2-normalised
    capacity: np.ndarray | None = None  # int32 (A,)
    chapter: np.ndarray | None = None  # int64 (A,): chapter id, -1 none

    def __len__(self) -> int:
        return len(self.ids)

    def take(self, rows) -> Alumni:
        """Return the alumni at ``rows`` (a slice or index array)."""
        return Alumni(self.ids[rows], self.xyz[rows], self.state[rows], self.muni[rows], self.pref[rows],
                      {k: v[rows] for k, v in self.codes.items()},
                      *(None if x is None else x[rows] for x in (self.interests, self.capacity, self.chapter)))


@dataclass
class Relationships:
    """Relationships as arrays; ``muni`` is -1 for a prefecture-level tie."""

    ids: np.ndarray  # int64 (R,)
    xyz: np.ndarray  # float64 (R, 3) of the US side
    state: np.ndarray  # int16 (R,)
    is_state: np.ndarray  # bool (R,): the US side is a whole state
    muni: np.ndarray  # int32 (R,)
    pref: np.ndarray  # int16 (R,)
    themes: np.ndarray | None = None  # float32 (V, R), columns L2-normalised
    wanted: np.ndarray | None = None  # int32 (R,)

    def __len__(self) -> int:
        return len(self.ids)


def placement_table(geo: Geography, rels: Relationships) -> np.ndarray:
    """Return the placement level (uint8, shape (48, R)) of a placement in each prefecture.

    The top level (0, partner) comes from this table only for a prefecture-level tie;
    for a municipality tie it is set by :func:`_exact_pairs`.
    """
    p = np.arange(N_PREF)[:, None]
    r = rels.pref[None, :].astype(np.intp)
    table = np.full((N_PREF + 1, len(rels)), 4, np.uint8)
    same_region = geo.region[p] == geo.region[r]
    table[:N_PREF][same_region] = 3
    table[:N_PREF][geo.neighbours[p, r]] = 2
    same = p == r
    table[:N_PREF][same] = 1
    table[:N_PREF][same & (rels.muni[None, :] < 0)] = 0
    return table


def _exact_pairs(muni: np.ndarray, rel_muni: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return (row, column) of every placement in a relationship's partner municipality."""
    cols = np.flatnonzero(rel_muni >= 0)
    order = np.argsort(rel_muni[cols], kind="stable")
    keys, cols = rel_muni[cols][order], cols[order]
    flat = muni.ravel()
    lo, hi = np.searchsorted(keys, flat, "left"), np.searchsorted(keys, flat, "right")
    count = np.where(flat >= 0, hi - lo, 0)
    total = int(count.sum())
    if total == 0:
        return np.empty(0, np.intp), np.empty(0, np.intp)
    rows = np.repeat(np.arange(flat.size) // muni.shape[1], count)
    offsets = np.arange(total) - np.repeat(np.cumsum(count) - count, count)
    return rows, cols[np.repeat(lo, count) + offsets]


def _distance_codes(alumni: Alumni, rels: Relationships) -> np.ndarray:
    """Distance level per pair: 0 ≤25 km, 1 ≤80, 2 partner state, 3 ≤200, 4 same state, 5 further."""
    cos = np.cos(np.array(DIST_KM) / EARTH_RADIUS_KM)
    with np.errstate(invalid="ignore"):
        # written out rather than a matrix product, whose summation order (and fused multiply-adds)
        # the BLAS chooses: :mod:`matcher.scoring.compiled` must compute the same dot products
        a, b = alumni.xyz, rels.xyz
        dot = a[:, 0, None] * b[None, :, 0] + a[:, 1, None] * b[None, :, 1] + a[:, 2, None] * b[None, :, 2]
        code = np.full(dot.shape, 5, np.uint8)
        code -= (dot >= cos[2]).view(np.uint8) * np.uint8(2)
        code -= (dot >= cos[1]).view(np.uint8) * np.uint8(2)
        code -= (dot >= cos[0]).view(np.uint8)
    del dot
    same_state = (alumni.state[:, None] == rels.state[None, :]) & (alumni.state[:, None] >= 0)
    code[(code == 5) & same_state] = 4
    if rels.is_state.any():
        cols = np.flatnonzero(rels.is_state)
        code[:, cols] = np.where(same_state[:, cols], 2, 5)
    return code


def _theme_codes(alumni: Alumni, rels: Relationships, bands: list[float]) -> np.ndarray | int:
    """Theme level per pair from the TF-IDF cosine: 0 strong, 1 some, 2 none."""
    if alumni.interests is None or rels.themes is None or rels.themes.shape[0] == 0:
        return 2
    cos = np.asarray(alumni.interests @ rels.themes, dtype=np.float32)
    code = np.full(cos.shape, 2, np.uint8)
    code -= (cos >= bands[1]).view(np.uint8)
    code -= (cos >= bands[0]).view(np.uint8)
    return code


def placement_levels(alumni: Alumni, rels: Relationships, table: np.ndarray) -> np.ndarray:
    """Return the placement level (uint8, (A, R)) of each pair: the best over the alumnus's placements."""
    place = table[alumni.pref[:, 0]]
    for j in range(1, alumni.pref.shape[1]):
        np.minimum(place, table[alumni.pref[:, j]], out=place)
    rows, cols = _exact_pairs(alumni.muni, rels.muni)
    place[rows, cols] = 0
    return place


def pair_codes(geo: Geography, alumni: Alumni, rels: Relationships, settings: dict[str, Any] | None = None,
               table: np.ndarray | None = None) -> np.ndarray:
    """Return the uint8 pair code (A, R): ``placement * 18 + distance * 3 + themes``."""
    settings = validate_settings(settings or {})
    table = placement_table(geo, rels) if table is None else table
    place = placement_levels(alumni, rels, table)
    place *= np.uint8(18)
    place += _distance_codes(alumni, rels) * np.uint8(3)
    place += _theme_codes(alumni, rels, settings["theme_bands"])
    return place


def decode_pair(code: int | np.ndarray):
    """Split a pair code into (placement, distance, themes) level codes.

    >>> decode_pair(1 * 18 + 4 * 3 + 2)
    (1, 4, 2)
    """
    placement, rest = divmod(code, 18)
    distance, themes = divmod(rest, 3)
    return placement, distance, themes


def alumnus_codes(japanese_level, jet_years, role, last_year, hours, this_year: int) -> dict[str, np.ndarray]:
    """Return the alumnus factor codes (uint8 arrays) from plain per-alumnus arrays.

    ``role`` is 0 for anyone who was a CIR, 1 an SEA, 2 ALT only.
    """
    jl, yrs = np.asarray(japanese_level), np.asarray(jet_years)
    since, hrs = this_year - np.asarray(last_year), np.asarray(hours)
    return {
        "japanese": np.select([jl >= 4, jl >= 2], [0, 1], 2).astype(np.uint8),
        "years": np.select([yrs >= 3, yrs >= 2], [0, 1], 2).astype(np.uint8),
        "role": np.asarray(role, np.uint8),
        "recency": np.select([since <= 5, since <= 15], [0, 1], 2).astype(np.uint8),
        "availability": np.select([hrs >= 8, hrs >= 2], [0, 1], 2).astype(np.uint8),
    }
