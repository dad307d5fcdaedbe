"""The score-ordered pair codes of a chunk in one compiled pass (Numba).

:func:`matcher.scoring.features.pair_codes` builds the codes with about ten NumPy passes
over the chunk (placement minimum per placement, exact matches, a float64 matrix of dot
products and three compares, state matches, a sparse-dense product for the themes, then
:func:`matcher.scoring.topk.renumber`); at 1,000,000 x 2,000 pairs those passes were three
quarters of the scoring time. :func:`pair_q` computes each pair's three levels where it
reads them and writes the renumbered code once, with the same arithmetic in the same
order, so its codes equal ``renumber(pair_codes(...), qmap)`` exactly (the tests compare them).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from matcher.scoring.features import DIST_KM, EARTH_RADIUS_KM, Alumni, Relationships, placement_table
from matcher.scoring.topk import _SPAN, _run, threads

__all__ = ["pair_q"]


@njit(nogil=True, cache=True)
def _codes(xyz, state, muni, pref, ptr, ind, val, rx, ry, rz, rstate, ris_state, keys, key_cols, themes, table, cos,
           bands, qmap, out):  # out: (alumni, padded relationships) uint8
    """Per alumnus, a few simple passes over the relationships (each one a vector loop), then the codes."""
    n, width = muni.shape
    m = rx.shape[0]
    place = np.empty(m, np.uint8)
    c = np.empty(m, np.float32)
    pair = np.empty(m, np.int64)
    for a in range(n):
        first = table[pref[a, 0]]
        for r in range(m):
            place[r] = first[r]
        for j in range(1, width):
            row = table[pref[a, j]]
            for r in range(m):
                place[r] = min(place[r], row[r])
        for j in range(width):  # the partner municipality itself: relationships found by their code
            code = muni[a, j]
            if code >= 0:
                i = np.searchsorted(keys, code)
                while i < keys.size and keys[i] == code:
                    place[key_cols[i]] = 0
                    i += 1
        for r in range(m):
            c[r] = np.float32(0.0)
        for k in range(ptr[a], ptr[a + 1]):  # the sparse row in stored order, float32, as SciPy sums it
            v = val[k]
            trow = themes[ind[k]]
            for r in range(m):
                c[r] += v * trow[r]
        ax, ay, az = xyz[a, 0], xyz[a, 1], xyz[a, 2]
        st = state[a]
        for r in range(m):  # branch-free, so that it compiles to vector instructions
            dot = ax * rx[r] + ay * ry[r] + az * rz[r]  # NaN (home unknown) compares False
            d = 5 - 2 * np.int64(dot >= cos[2]) - 2 * np.int64(dot >= cos[1]) - np.int64(dot >= cos[0])
            same = np.int64((st >= 0) & (st == rstate[r]))
            d -= np.int64(d == 5) * same  # further away, but in the same state
            d += ris_state[r] * (5 - 3 * same - d)  # a whole US state: in it (2) or not (5)
            t = 2 - np.int64(c[r] >= bands[1]) - np.int64(c[r] >= bands[0])
            pair[r] = place[r] * 18 + d * 3 + t
        for r in range(m):
            out[a, r] = qmap[pair[r]]
        for r in range(m, out.shape[1]):
            out[a, r] = 255


def pair_q(alumni: Alumni, rels: Relationships, settings: dict, qmap: np.ndarray,
           table: np.ndarray | None = None, geo=None) -> np.ndarray:
    """Return ``renumber(pair_codes(geo, alumni, rels, settings, table), qmap)`` in one pass.

    Rows are padded with 255 to a multiple of 32, as :func:`matcher.scoring.topk.scan_chunk`
    wants them; slices of the alumni run on a thread per core.
    """
    table = placement_table(geo, rels) if table is None else table
    n, m = len(alumni), len(rels)
    out = np.empty((n, -(-m // _SPAN) * _SPAN), np.uint8)
    if alumni.interests is None or rels.themes is None or rels.themes.shape[0] == 0:
        ptr, ind, val = np.zeros(n + 1, np.int64), np.zeros(0, np.int32), np.zeros(0, np.float32)
        themes = np.zeros((1, m), np.float32)
    else:
        csr = alumni.interests.tocsr()
        ptr, ind, val = csr.indptr.astype(np.int64), csr.indices.astype(np.int32), csr.data.astype(np.float32)
        themes = np.ascontiguousarray(rels.themes, np.float32)  # (terms, relationships)
    cols = np.flatnonzero(rels.muni >= 0)
    order = np.argsort(rels.muni[cols], kind="stable")
    keys, key_cols = rels.muni[cols][order].astype(np.int64), cols[order].astype(np.int64)
    cos = np.cos(np.array(DIST_KM) / EARTH_RADIUS_KM)
    bands = np.array(settings["theme_bands"], np.float32)  # NumPy compares the float32 cosines in float32
    rxyz = np.asarray(rels.xyz, np.float64)
    args = (*(np.ascontiguousarray(rxyz[:, i]) for i in range(3)), rels.state.astype(np.int64),
            rels.is_state.astype(np.int64), keys, key_cols, themes, np.ascontiguousarray(table, np.uint8), cos,
            bands, np.asarray(qmap, np.uint8))
    xyz, state = np.ascontiguousarray(alumni.xyz, np.float64), alumni.state.astype(np.int64)
    muni, pref = np.ascontiguousarray(alumni.muni, np.int64), np.ascontiguousarray(alumni.pref, np.int64)
    parts = np.linspace(0, n, 2 * threads() + 1).astype(np.int64)
    # each slice reads its rows' offsets into the whole sparse arrays
    _run([(_codes, (xyz[lo:hi], state[lo:hi], muni[lo:hi], pref[lo:hi], ptr[lo:hi + 1], ind, val, *args, out[lo:hi]))
          for lo, hi in zip(parts[:-1], parts[1:]) if hi > lo])
    return out
