"""The score-ordered pair codes of a chunk in compiled passes (Numba), from per-key tables.

:func:`matcher.scoring.features.pair_codes` builds the codes with about ten NumPy passes
over the chunk; :func:`pair_q` gives the same codes, ``renumber(pair_codes(...), qmap)``,
code for code (the tests compare them), with far less work per pair, by blocking as
record-linkage engines do:

* the *distance* level of a pair depends only on the alumnus's home (its unit vector and
  state), and homes sit at their town's centre, so a million alumni have a few tens of
  thousands of distinct homes; the *themes* level depends only on the alumnus's interest
  row, and these repeat as well. Each distinct home and interest row is compared with every
  relationship once, into a table of ``distance * 3`` and ``themes`` codes (uint8), by
  the same arithmetic in the same order as before (float64 dot products, float32 cosines
  summed in SciPy's stored order);
* the *placement* level is the minimum over the alumnus's placements of rows of the
  prefecture table (``placement * 18``), and the partner municipalities found by code;
* each alumnus's row is then three byte rows added and renumbered through ``qmap``.

Homes and interest rows are numbered by a 64-bit hash (an open-addressing table, in order of
first appearance), and every row is then checked against the first row of its number: if two
different rows ever shared a hash, the rows are numbered one by one instead. When the tables of
a whole pool would pass :data:`TABLE_BUDGET` bytes (every home different, say), :func:`prepare`
leaves them to :func:`chunk_codes`, which builds them per chunk (:meth:`PairTables.for_rows`):
then the per-pair work is that of a direct pass.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from matcher.scoring._jit import njit

from matcher.scoring.features import DIST_KM, EARTH_RADIUS_KM, Alumni, Relationships, placement_table
from matcher.scoring.topk import _SPAN, _run, threads

__all__ = ["pair_q", "prepare", "chunk_codes", "padded_width", "PairTables", "Keys", "TABLE_BUDGET"]

TABLE_BUDGET = 256 * 2**20  # bytes of distance and theme tables built once for a whole pool


@njit(nogil=True, cache=True)
def _distance_rows(xyz, state, rx, ry, rz, rstate, ris_state, cos, out):  # out: (homes, relationships) uint8
    """``distance * 3`` for each home x relationship: 0 ≤25 km, 1 ≤80, 2 partner state, 3 ≤200, 4 same state, 5."""
    n = xyz.shape[0]
    m = rx.shape[0]
    c0, c1, c2 = cos[0], cos[1], cos[2]
    for a in range(n):
        ax, ay, az = xyz[a, 0], xyz[a, 1], xyz[a, 2]
        st = state[a]
        row = out[a]
        for r in range(m):  # branch-free, so that it compiles to vector instructions
            dot = ax * rx[r] + ay * ry[r] + az * rz[r]  # NaN (home unknown) compares False
            d = np.uint8(15) - np.uint8(6) * np.uint8(dot >= c2) - np.uint8(6) * np.uint8(dot >= c1) \
                - np.uint8(3) * np.uint8(dot >= c0)
            same = np.uint8((st >= 0) & (st == rstate[r]))
            d -= np.uint8(3) * (np.uint8(d == 15) & same)  # further away, but in the same state
            d += ris_state[r] * (np.uint8(15) - np.uint8(9) * same - d)  # a whole US state: in it (2) or not (5)
            row[r] = d


@njit(nogil=True, cache=True)
def _theme_rows(ptr, ind, val, themes, bands, out):  # out: (interest rows, relationships) uint8
    """The themes level of each interest row x relationship from the float32 cosine: 0 strong, 1 some, 2 none."""
    n = ptr.shape[0] - 1
    m = themes.shape[1]
    c = np.empty(m, np.float32)
    b0, b1 = bands[0], bands[1]
    for a in range(n):
        for r in range(m):
            c[r] = np.float32(0.0)
        for k in range(ptr[a], ptr[a + 1]):  # the sparse row in stored order, float32, as SciPy sums it
            v = val[k]
            trow = themes[ind[k]]
            for r in range(m):
                c[r] += v * trow[r]
        row = out[a]
        for r in range(m):
            row[r] = np.uint8(2) - np.uint8(c[r] >= b1) - np.uint8(c[r] >= b0)


@njit(nogil=True, cache=True)
def _codes(home, dist, interest, theme, muni, pref, table18, keys, key_cols, q2, out2):
    """Each alumnus's row: placement (minimum over placements, partners found by code) + distance + themes,
    renumbered two codes at a time (``q2``, see :func:`_pairs_table`) into ``out2``, the rows as uint16."""
    n, width = muni.shape
    m = table18.shape[1]
    pair = np.full(2 * out2.shape[1], _PAD, np.uint16)  # the padding stays _PAD
    for a in range(n):
        first = table18[pref[a, 0]]
        drow = dist[home[a]]
        trow = theme[interest[a]]
        for r in range(m):
            pair[r] = first[r]
        for j in range(1, width):
            row = table18[pref[a, j]]
            for r in range(m):
                pair[r] = min(pair[r], np.uint16(row[r]))
        for r in range(m):
            pair[r] += drow[r] + trow[r]
        for j in range(width):  # the partner municipality itself: relationships found by their code
            code = muni[a, j]
            if code >= 0:
                i = np.searchsorted(keys, code)
                while i < keys.size and keys[i] == code:
                    col = key_cols[i]
                    pair[col] = pair[col] % np.uint16(18)  # placement level 0
                    i += 1
        o = out2[a]
        for w in range(o.shape[0]):
            o[w] = q2[pair[2 * w] + _BASE * pair[2 * w + 1]]


_PAD = 90  # a code beyond every pair code (5 x 18): padding, renumbered 255
_BASE = 91


def _pairs_table(qmap: np.ndarray) -> np.ndarray:
    """``qmap`` for two codes at once: ``q2[c0 + 91 * c1]`` is the uint16 whose bytes (in memory) are ``qmap[c0], qmap[c1]``."""
    q = np.append(np.asarray(qmap, np.uint8)[:_PAD], np.uint8(255))
    pairs = np.empty((_BASE, _BASE, 2), np.uint8)  # [c1, c0]: the two bytes in memory order
    pairs[:, :, 0] = q[None, :]
    pairs[:, :, 1] = q[:, None]
    return pairs.reshape(-1, 2).view(np.uint16).reshape(-1)


@njit(nogil=True, cache=True)
def _home_keys(bits, state):
    """A 64-bit hash of each home (the float64 bits of its unit vector, and its state)."""
    n = bits.shape[0]
    out = np.empty(n, np.uint64)
    for a in range(n):
        h = np.uint64(0x9E3779B97F4A7C15) ^ np.uint64(state[a] + 1)
        for j in range(3):
            h = (h ^ np.uint64(bits[a, j])) * np.uint64(0x100000001B3)
            h ^= h >> np.uint64(29)
        out[a] = h
    return out


@njit(nogil=True, cache=True)
def _interest_keys(ptr, ind, val_bits):
    """A 64-bit hash of each sparse interest row (its columns and float32 bits, in stored order)."""
    n = ptr.shape[0] - 1
    out = np.empty(n, np.uint64)
    for a in range(n):
        h = np.uint64(0x9E3779B97F4A7C15) ^ np.uint64(ptr[a + 1] - ptr[a])
        for k in range(ptr[a], ptr[a + 1]):
            h = (h ^ np.uint64(ind[k])) * np.uint64(0x100000001B3)
            h = (h ^ np.uint64(val_bits[k])) * np.uint64(0x100000001B3)
            h ^= h >> np.uint64(29)
        out[a] = h
    return out


@njit(nogil=True, cache=True)
def _same_interests(ptr, ind, val_bits, first, inverse):
    """Whether every row equals the first row of its key (no two different rows share a hash)."""
    for a in range(ptr.shape[0] - 1):
        b = first[inverse[a]]
        if ptr[a + 1] - ptr[a] != ptr[b + 1] - ptr[b]:
            return False
        for k in range(ptr[a + 1] - ptr[a]):
            if ind[ptr[a] + k] != ind[ptr[b] + k] or val_bits[ptr[a] + k] != val_bits[ptr[b] + k]:
                return False
    return True


@njit(nogil=True, cache=True)
def _first_seen(keys, first, inverse):
    """Number distinct keys in order of first appearance (an open-addressing hash table); return how many."""
    n = keys.shape[0]
    size = 1
    while size < 2 * n:
        size *= 2
    slot_key = np.empty(size, np.uint64)
    slot_num = np.full(size, -1, np.int64)
    mask = np.uint64(size - 1)
    count = 0
    for a in range(n):
        key = keys[a]
        s = (key * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(20)
        while True:
            i = np.int64(s & mask)
            if slot_num[i] < 0:
                slot_key[i] = key
                slot_num[i] = count
                first[count] = a
                inverse[a] = count
                count += 1
                break
            if slot_key[i] == key:
                inverse[a] = slot_num[i]
                break
            s += np.uint64(1)
    return count


def _number(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(first row of each distinct key, each row's key number), numbered in order of first appearance."""
    first, inverse = np.empty(len(keys), np.int64), np.empty(len(keys), np.int64)
    count = _first_seen(keys, first, inverse)
    return first[:count].copy(), inverse


def _csr(alumni: Alumni, rels: Relationships):
    """The alumni's interests as (indptr int64, indices int32, data float32), or None when themes do not apply."""
    if alumni.interests is None or rels.themes is None or rels.themes.shape[0] == 0:
        return None
    csr = alumni.interests.tocsr()
    return csr.indptr.astype(np.int64), csr.indices.astype(np.int32), csr.data.astype(np.float32)


@dataclass
class Keys:
    """Each alumnus's home number and interest-row number, and the first alumnus of each number."""

    home: np.ndarray  # int64 (A,)
    home_first: np.ndarray  # int64 (homes,)
    interest: np.ndarray  # int64 (A,)
    interest_first: np.ndarray  # int64 (interest rows,)

    def table_bytes(self, m: int) -> int:
        return (len(self.home_first) + len(self.interest_first)) * m


def _keys(alumni: Alumni, rels: Relationships) -> Keys:
    """Number the distinct homes and interest rows; hashes are checked, and rows stand alone if two differ."""
    n = len(alumni)
    xyz = np.ascontiguousarray(alumni.xyz, np.float64)
    bits, state = xyz.view(np.int64), alumni.state.astype(np.int64)
    home_first, home = _number(_home_keys(bits, state))
    if not ((bits[home_first[home]] == bits).all() and (state[home_first[home]] == state).all()):
        home_first, home = np.arange(n, dtype=np.int64), np.arange(n, dtype=np.int64)
    csr = _csr(alumni, rels)
    if csr is None:  # no themes: one row of "none" for everyone
        return Keys(home, home_first, np.zeros(n, np.int64), np.zeros(min(n, 1), np.int64))
    ptr, ind, val = csr
    val_bits = val.view(np.int32)
    interest_first, interest = _number(_interest_keys(ptr, ind, val_bits))
    if not _same_interests(ptr, ind, val_bits, interest_first, interest):
        interest_first, interest = np.arange(n, dtype=np.int64), np.arange(n, dtype=np.int64)
    return Keys(home, home_first, interest, interest_first)


@dataclass
class PairTables:
    """What :func:`_codes` reads: the relationship side and the distance and theme tables of some alumni."""

    table18: np.ndarray  # uint8 (48, R): placement level * 18 per prefecture
    keys: np.ndarray  # int64: partner municipality codes, sorted
    key_cols: np.ndarray  # int64: their relationship columns
    qmap: np.ndarray  # uint8 (256,)
    rels: Relationships
    settings: dict
    dist: np.ndarray | None = None  # uint8 (homes, R): distance * 3
    theme: np.ndarray | None = None  # uint8 (interest rows, R)

    @classmethod
    def side(cls, rels: Relationships, settings: dict, qmap: np.ndarray, table: np.ndarray) -> PairTables:
        cols = np.flatnonzero(rels.muni >= 0)
        order = np.argsort(rels.muni[cols], kind="stable")
        keys, key_cols = rels.muni[cols][order].astype(np.int64), cols[order].astype(np.int64)
        table18 = np.ascontiguousarray(table, np.uint8) * np.uint8(18)
        return cls(table18, keys, key_cols, np.asarray(qmap, np.uint8), rels, settings)

    def for_rows(self, alumni: Alumni, keys: Keys) -> PairTables:
        """These tables with the distance and theme rows of the keys' first alumni (indices into ``alumni``)."""
        rels, m = self.rels, len(self.rels)
        homes = alumni.take(keys.home_first)
        dist = np.empty((len(keys.home_first), m), np.uint8)
        rxyz = np.asarray(rels.xyz, np.float64)
        args = (*(np.ascontiguousarray(rxyz[:, i]) for i in range(3)), rels.state.astype(np.int64),
                rels.is_state.astype(np.uint8), np.cos(np.array(DIST_KM) / EARTH_RADIUS_KM))
        xyz, state = np.ascontiguousarray(homes.xyz, np.float64), homes.state.astype(np.int64)
        parts = _parts(len(dist))
        tasks = [(_distance_rows, (xyz[lo:hi], state[lo:hi], *args, dist[lo:hi])) for lo, hi in parts]
        theme = np.full((len(keys.interest_first), m), 2, np.uint8)
        csr = _csr(alumni.take(keys.interest_first), rels)
        if csr is not None:
            ptr, ind, val = csr
            themes = np.ascontiguousarray(rels.themes, np.float32)  # (terms, relationships)
            bands = np.array(self.settings["theme_bands"], np.float32)  # NumPy compares float32 cosines in float32
            # each slice reads its rows' offsets into the whole sparse arrays
            tasks += [(_theme_rows, (ptr[lo:hi + 1], ind, val, themes, bands, theme[lo:hi]))
                      for lo, hi in _parts(len(theme))]
        _run(tasks)
        return PairTables(self.table18, self.keys, self.key_cols, self.qmap, rels, self.settings, dist, theme)

    def codes(self, muni: np.ndarray, pref: np.ndarray, home: np.ndarray, interest: np.ndarray,
              out: np.ndarray) -> np.ndarray:
        """Write the score-ordered codes of alumni (their placements' municipality and prefecture, home and
        interest-row numbers) into ``out``, rows padded with 255 to a multiple of 32."""
        muni, pref = np.ascontiguousarray(muni, np.int64), np.ascontiguousarray(pref, np.int64)
        args = (self.table18, self.keys, self.key_cols, _pairs_table(self.qmap))
        out2 = out.view(np.uint16)  # rows of an even width (a multiple of 32)
        _run([(_codes, (home[lo:hi], self.dist, interest[lo:hi], self.theme, muni[lo:hi], pref[lo:hi], *args,
                        out2[lo:hi])) for lo, hi in _parts(len(muni))])
        return out


def _parts(n: int) -> list[tuple[int, int]]:
    """Two slices per thread."""
    parts = np.linspace(0, n, 2 * threads() + 1).astype(np.int64)
    return [(int(lo), int(hi)) for lo, hi in zip(parts[:-1], parts[1:]) if hi > lo]


def padded_width(m: int) -> int:
    return -(-m // _SPAN) * _SPAN


def prepare(alumni: Alumni, rels: Relationships, settings: dict, qmap: np.ndarray, table: np.ndarray,
            budget: int | None = None) -> tuple[PairTables, Keys, bool]:
    """The tables for a whole pool: (tables, keys, whole). ``whole`` is False when the tables would
    pass ``budget`` bytes; then :func:`chunk_codes` builds them per chunk."""
    side = PairTables.side(rels, settings, qmap, table)
    keys = _keys(alumni, rels)
    if keys.table_bytes(len(rels)) > (TABLE_BUDGET if budget is None else budget):
        return side, keys, False
    return side.for_rows(alumni, keys), keys, True


def chunk_codes(tables: PairTables, keys: Keys, whole: bool, alumni: Alumni, rows: np.ndarray,
                out: np.ndarray) -> np.ndarray:
    """The codes of ``alumni.take(rows)`` into ``out`` (as many rows), from :func:`prepare`'s tables."""
    if whole:
        return tables.codes(alumni.muni[rows], alumni.pref[rows], keys.home[rows], keys.interest[rows], out)
    chunk = alumni.take(rows)
    local = _keys(chunk, tables.rels)
    return tables.for_rows(chunk, local).codes(chunk.muni, chunk.pref, local.home, local.interest, out)


def pair_q(alumni: Alumni, rels: Relationships, settings: dict, qmap: np.ndarray,
           table: np.ndarray | None = None, geo=None) -> np.ndarray:
    """Return ``renumber(pair_codes(geo, alumni, rels, settings, table), qmap)``.

    Rows are padded with 255 to a multiple of 32, as :func:`matcher.scoring.topk.scan_chunk`
    wants them; slices of the alumni run on a thread per core.
    """
    table = placement_table(geo, rels) if table is None else table
    out = np.empty((len(alumni), padded_width(len(rels))), np.uint8)
    side = PairTables.side(rels, settings, qmap, table)
    keys = _keys(alumni, rels)
    return side.for_rows(alumni, keys).codes(alumni.muni, alumni.pref, keys.home, keys.interest, out)
