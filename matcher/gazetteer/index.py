"""The gazetteer's lookup index: folded key → hits, with one-edit typo and prefix look-ups.

Internal to :mod:`matcher.gazetteer.resolver`.
"""

from __future__ import annotations

import bisect
from typing import NamedTuple

from matcher.gazetteer.names import _is_cjk


class _Hit(NamedTuple):  # a tuple: built ~100,000 times at load, so cheap to make and compare
    kind: str  # prefecture | municipality | state | city | county | zip
    code: str
    tier: int  # 0 current name, 1 old name or secondary name, 2 typo
    alias: int | None = None  # index into aliases
    ward: int | None = None  # index into wards (a designated city's ward)


class _Index:
    """A key → hits dict; typo look-ups try every one-edit variant of the query key.

    The hits are kept as tuples of plain tuples and made :class:`_Hit` when read: a gazetteer
    read back from its cache file then unpickles ~90,000 tuples in C (a third of the time lists
    take), not ~90,000 calls of ``_Hit.__new__``.
    """

    _LETTERS = "abcdefghijklmnopqrstuvwxyz0123456789"
    MAX_TYPO_KEY = 32  # longer keys get no typo search: its cost grows with the square of the length

    def __init__(self) -> None:
        self.exact: dict[str, tuple[tuple, ...]] = {}
        self._sorted: list[str] | None = None

    def add(self, key: str, hit: _Hit) -> None:
        hit = tuple(hit)
        hits = self.exact.get(key)
        if hits is None:
            if key:
                self.exact[key] = (hit,)
        elif hit not in hits:
            self.exact[key] = hits + (hit,)  # most keys have one hit, a few a dozen

    def get(self, key: str) -> list[_Hit]:
        return [_Hit._make(h) for h in self.exact.get(key, ())]

    def typo(self, key: str) -> list[_Hit]:
        """Return hits for keys one edit away (delete, swap, replace, insert); ~600 dict probes."""
        if not 5 <= len(key) <= self.MAX_TYPO_KEY or _is_cjk(key):
            return []
        exact, found = self.exact, set()
        for i in range(len(key) + 1):
            a, b = key[:i], key[i:]
            if b:
                found.add(a + b[1:])
                found.update(a + c + b[1:] for c in self._LETTERS)
            if len(b) > 1:
                found.add(a + b[1] + b[0] + b[2:])
            found.update(a + c + b for c in self._LETTERS)
        found = sorted(v for v in found if v in exact and v != key)
        return [_Hit(kind, code, 2, alias) for k in found for kind, code, _, alias, _ in self.exact[k]]

    def prefixed(self, prefix: str, cap: int = 3000) -> list[tuple[str, _Hit]]:
        prefix = prefix[: self.MAX_TYPO_KEY * 2]  # no name is longer; keeps the comparisons short
        if self._sorted is None:
            self._sorted = sorted(self.exact)
        i = bisect.bisect_left(self._sorted, prefix)
        out = []
        while i < len(self._sorted) and self._sorted[i].startswith(prefix) and len(out) < cap:
            out.extend((self._sorted[i], _Hit._make(h)) for h in self.exact[self._sorted[i]])
            i += 1
        return out
