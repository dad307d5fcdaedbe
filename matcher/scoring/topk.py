"""The two top-k lists of a chunk of score-ordered pair codes, in compiled loops (Numba).

NumPy can rank the codes only with several full passes (masks, ``flatnonzero``, sorts of
the survivors); these kernels read each alumnus's row (one byte per relationship, *q*: a
smaller code is a better pair, see :class:`matcher.scoring.scorer.Scorer`) without sorting it:

* :func:`_alumni_lists` — the alumnus's own k best: the codes below a cut learnt from the
  rows before are listed eight at a time (the bytes of a 64-bit word), then put in order
  by a counting sort on their weight group, ties in relationship order;
* :func:`_relationship_lists` — each relationship's k best alumni in a small sorted
  buffer (score rank, then alumnus index), kept across chunks so the lists are exact for
  the whole pool. Each row is screened 32 codes at a time against the buffers' entry
  thresholds (vector compares); a pair touches a buffer only when it beats its worst
  entry, which after the first rows is rare.

The kernels release the GIL; :func:`scan_chunk` runs the relationship lists and slices of
the alumni as tasks on a thread per core (``JETMATCH_THREADS`` sets how many). Only look-up
tables reach the kernels; they know nothing of comparisons or weights.

Compiled code is cached on disk (``cache=True``); helpers are inlined into the kernels
(``inline="always"``) because a cached kernel calls a helper it did not inline, which was
up to four times slower in the hot loop.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from matcher.scoring._jit import njit
from numba.cpython.unsafe.numbers import trailing_zeros

from matcher.scoring.scorer import NOT_ELIGIBLE  # rank of a pair below min_pair_score: never listed

__all__ = ["NOT_ELIGIBLE", "Buffers", "renumber", "scan_chunk", "threads"]

_OPEN = NOT_ELIGIBLE - 1  # the worst key of a buffer that is not full: any eligible pair enters
_SPAN = 32  # codes screened at once before any scalar work
_HIGH = np.uint64(0x8080808080808080)  # the top bit of each byte of a 64-bit word
_ONES = np.uint64(0x0101010101010101)


class Buffers:
    """Each relationship's k best so far: rank key, alumnus index and score-ordered code, best first."""

    def __init__(self, n_rels: int, k: int) -> None:
        self.key = np.full((n_rels, k), _OPEN, np.int32)
        self.index = np.full((n_rels, k), np.iinfo(np.int64).max, np.int64)
        self.q = np.zeros((n_rels, k), np.uint8)
        self.count = np.zeros(n_rels, np.int32)


@njit(nogil=True, cache=True)
def _renumber(codes, qmap, out):  # out: the renumbered codes, rows padded with 255
    n, m = codes.shape
    for a in range(n):
        for r in range(m):
            out[a, r] = qmap[codes[a, r]]
        for r in range(m, out.shape[1]):
            out[a, r] = 255


def renumber(codes: np.ndarray, qmap: np.ndarray) -> np.ndarray:
    """Return ``qmap[codes]`` (uint8), each row padded with 255 (never listed) to a multiple of 32 codes."""
    n, m = codes.shape
    out = np.empty((n, -(-m // _SPAN) * _SPAN), np.uint8)
    _renumber(np.ascontiguousarray(codes, np.uint8), qmap, out)
    return out


@njit(nogil=True, cache=True, inline="always")
def _usual_cut(seen, total, n_eligible, group_q, share=0.95):
    """A cut below which ``share`` of the rows so far had their k-th best code, at the end of a weight group."""
    cut, acc = n_eligible, 0
    if total >= 64:
        for v in range(n_eligible):
            acc += seen[v]
            if acc >= share * total:
                cut = v + 1
                break
    while 0 < cut < n_eligible and group_q[cut] == group_q[cut - 1]:
        cut += 1  # ties are listed whole
    return cut


@njit(nogil=True, cache=True, inline="always")
def _list_below(words, a, cut, picked):
    """Write the columns of row ``a`` whose code is below ``cut`` (< 128) into ``picked``; return how many.

    Eight codes at a time, as the bytes of one 64-bit word (SWAR): the top bit of
    ``(x | 0x80) - cut`` is clear exactly for the bytes below the cut (padding, 255, never is).
    """
    found = 0
    spread = np.uint64(cut) * _ONES
    for w in range(words.shape[1]):
        x = words[a, w]
        below = ~(((x | _HIGH) - spread) | x) & _HIGH
        while below:  # each set bit, lowest first: byte (bit index) // 8
            picked[found] = w * 8 + (trailing_zeros(below) >> 3)
            found += 1
            below &= below - np.uint64(1)
    return found


@njit(nogil=True, cache=True)
def _alumni_lists(q, words, combo, index, rank_q, group_q, n_eligible, code_of, total_of, k, out_row, out_col,
                  out_score, out_rank, out_code, held):
    """Each alumnus's k best relationships, best first (ties: the lower relationship).

    One pass lists the codes below a cut learnt from the rows before (where 95 % had their
    k-th best code; the whole list of eligible codes for a row short of k there), and a
    counting sort on the weight group orders them, ties in column order.
    """
    n, width = q.shape
    seen = np.zeros(256, np.int64)  # rows so far by their k-th best code
    picked = np.empty(width + 8, np.int64)  # columns below the cut, and their weight groups
    group = np.empty(width + 8, np.int64)
    start = np.empty(257, np.int64)  # counting sort: where each weight group's columns begin
    usual = _usual_cut(seen, 0, n_eligible, group_q)
    tight = usual
    for a in range(n):
        if a % 256 == 0 and a > 0:
            usual = _usual_cut(seen, a, n_eligible, group_q)
            tight = _usual_cut(seen, a, n_eligible, group_q, 0.5)
        row = q[a]
        cut = tight  # half the rows find their k below this: far fewer codes listed and sorted
        found = _list_below(words, a, cut, picked)
        if found < k and cut < usual:
            cut = usual
            found = _list_below(words, a, cut, picked)
        if found < k and cut < n_eligible:
            cut = n_eligible
            found = _list_below(words, a, cut, picked)
        groups = group_q[cut - 1] + 1 if cut > 0 else 0
        start[:groups + 1] = 0
        for i in range(found):
            g = group_q[row[picked[i]]]
            group[i] = g
            start[g + 1] += 1
        for g in range(groups):
            start[g + 1] += start[g]
        ranks = rank_q[combo[a]]
        got = min(found, k)
        for i in range(found):
            slot = start[group[i]]
            start[group[i]] = slot + 1
            if slot < got:
                r = picked[i]
                v = row[r]
                best = ranks[v]
                out_row[a, slot] = index[a]
                out_col[a, slot] = r
                out_score[a, slot] = total_of[best]
                out_rank[a, slot] = best
                out_code[a, slot] = code_of[v]
        held[a] = got
        seen[row[out_col[a, k - 1]] if got == k else n_eligible - 1] += 1


@njit(nogil=True, cache=True, inline="always")
def _count_within(ranks, n_eligible, worst):
    """How many score-ordered codes have a rank <= ``worst`` (ranks ascend over the eligible codes)."""
    lo, hi = 0, n_eligible
    while lo < hi:
        mid = (lo + hi) // 2
        if ranks[mid] <= worst:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(nogil=True, cache=True, inline="always")
def _next_hit(row, limit, lo):
    """The first block of 32 codes from ``lo`` with a code below its relationship's limit."""
    width = row.size
    for block in range(lo, width, _SPAN):
        hit = 0
        for j in range(_SPAN):  # a constant count of reads, summed: compiled to vector compares
            hit += row[block + j] < limit[block + j]
        if hit:
            return block
    return width


@njit(nogil=True, cache=True, inline="always")
def _any_below(row, limit):
    """Whether any code of the row is below its relationship's limit: one vector pass, no early exit
    (a count, which compiles to vector compares and adds; a block-by-block search with exits did not)."""
    hits = 0
    for r in range(row.size):
        hits += row[r] < limit[r]
    return hits > 0


@njit(nogil=True, cache=True)
def _relationship_lists(q, m, combo, index, rank_q, n_eligible, key, idx, kq, count):
    """Offer every alumnus of the chunk to each relationship's buffered list."""
    n, width = q.shape
    k = key.shape[1]
    worst_key = np.empty(m, np.int64)  # a pair enters relationship r's list when it beats these
    worst_idx = np.empty(m, np.int64)
    for r in range(m):
        worst_key[r] = key[r, k - 1]
        worst_idx[r] = idx[r, k - 1]
    limit = np.zeros(width, np.uint8)  # codes below limit[r] may enter r's list (current combo); 0: padding
    current = -1
    ranks = rank_q[0]
    for a in range(n):
        row = q[a]
        if combo[a] != current:
            current = combo[a]
            ranks = rank_q[current]
            for r in range(m):
                limit[r] = _count_within(ranks, n_eligible, worst_key[r])
        me = index[a]
        if not _any_below(row, limit):  # most rows, once the lists are full
            continue
        block = _next_hit(row, limit, 0)
        while block < width:
            for r in range(block, block + _SPAN):
                v = row[r]
                if v >= limit[r]:
                    continue
                kr = ranks[v]
                if kr < worst_key[r] or (kr == worst_key[r] and me < worst_idx[r]):
                    i = min(count[r], k - 1)  # the slot to fill: the first free one, or the worst
                    while i > 0 and (kr < key[r, i - 1] or (kr == key[r, i - 1] and me < idx[r, i - 1])):
                        key[r, i] = key[r, i - 1]
                        idx[r, i] = idx[r, i - 1]
                        kq[r, i] = kq[r, i - 1]
                        i -= 1
                    key[r, i] = kr
                    idx[r, i] = me
                    kq[r, i] = v
                    count[r] = min(count[r] + 1, k)
                    if count[r] == k:
                        worst_key[r] = key[r, k - 1]
                        worst_idx[r] = idx[r, k - 1]
                        limit[r] = _count_within(ranks, n_eligible, worst_key[r])
            block = _next_hit(row, limit, block + _SPAN)


def scan_chunk(q: np.ndarray, n_rels: int, combo: np.ndarray, index: np.ndarray, scorer, k_rows: int,
               buffers: Buffers) -> tuple[np.ndarray, ...]:
    """Update ``buffers`` with one chunk; return each alumnus's k_rows best, best first.

    Returns (alumnus index, column, score, rank, pair code) arrays. The relationship lists
    and slices of the alumni run as separate tasks, on a thread per core.

    Parameters
    ----------
    q : score-ordered pair codes from :func:`renumber`, alumni x relationships padded to a
        multiple of 32 (uint8, C order); the first ``n_rels`` columns are relationships.
    combo : each alumnus's combo code (a row of ``scorer.rank_q``); runs of one combo are fastest.
    index : each alumnus's position in the pool; ties go to the lower.
    scorer : a :class:`matcher.scoring.scorer.Scorer`: ``rank_q`` (the rank of every total score,
        0 = best, ascending in q, ``NOT_ELIGIBLE`` from ``n_eligible`` on), ``order_q`` (q to
        pair code) and ``totals`` (rank to score).
    """
    n, width = q.shape
    if width % _SPAN or not q.flags.c_contiguous or q.dtype != np.uint8 or n_rels > width:
        raise ValueError("q must come from renumber(): uint8, C order, rows padded to a multiple of 32")
    if scorer.n_eligible >= 128 or len(index) and int(index.max()) >= 2**31:
        raise ValueError("at most 127 eligible pair codes (compared as 7-bit bytes) and 2**31 alumni")
    combo, index = np.asarray(combo, np.int64), np.asarray(index, np.int64)
    k = max(0, min(k_rows, n_rels))
    # narrow types: fresh pages cost more than the arithmetic here
    out = (np.empty((n, k), np.int32), np.empty((n, k), np.int32), np.empty((n, k), np.float32),
           np.empty((n, k), np.int32), np.empty((n, k), np.uint8))
    held = np.zeros(n, np.int64)
    tasks = []
    if buffers.key.shape[1] > 0:
        tasks.append((_relationship_lists, (q, n_rels, combo, index, scorer.rank_q, scorer.n_eligible, buffers.key,
                                            buffers.index, buffers.q, buffers.count)))
    if k > 0:
        parts = np.linspace(0, n, 2 * threads() + 1).astype(np.int64)
        words = q.view(np.uint64)  # the same rows as 64-bit words, 8 codes each
        tasks += [(_alumni_lists, (q[lo:hi], words[lo:hi], combo[lo:hi], index[lo:hi], scorer.rank_q,
                                   scorer.group_q, scorer.n_eligible, scorer.order_q, scorer.totals, k,
                                   *(array[lo:hi] for array in out), held[lo:hi]))
                  for lo, hi in zip(parts[:-1], parts[1:]) if hi > lo]
    _run(tasks)
    if k == 0 or held.min() == k:
        return tuple(array.reshape(-1) for array in out)
    filled = np.arange(k)[None, :] < held[:, None]
    return tuple(array[filled] for array in out)


_POOL = None


def threads() -> int:
    """Threads the kernels run on: ``JETMATCH_THREADS``, else one per core (at most 8)."""
    wanted = os.environ.get("JETMATCH_THREADS", "")
    return max(1, int(wanted) if wanted.isdigit() else min(os.cpu_count() or 1, 8))


def _run(tasks) -> None:
    """Run compiled kernels (they release the GIL) on a thread per core; the first task starts first."""
    global _POOL
    if len(tasks) <= 1 or threads() == 1:
        for f, args in tasks:
            f(*args)
        return
    if _POOL is None:
        _POOL = ThreadPoolExecutor(threads(), thread_name_prefix="jetmatch-topk")
    for future in [_POOL.submit(f, *args) for f, args in tasks]:
        future.result()
