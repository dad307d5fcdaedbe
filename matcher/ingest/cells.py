"""Reading and checking the cells of one CSV row: text, e-mail, numbers, yes/no, levels, places."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Any

from matcher.gazetteer import MAX_PLACE_CHARS, place_problem, resolved_summary
from matcher.ingest.report import RowError, RowPlace

__all__ = ["JAPANESE_LEVEL_WORDS", "parse_bool", "parse_japanese_level"]

JAPANESE_LEVEL_WORDS = {
    "none": 0, "beginner": 1, "basic": 1, "elementary": 2,
    "conversational": 3, "intermediate": 3, "business": 4, "fluent": 5, "native": 5,
}
_JLPT = re.compile(r"^(?:jlpt\s*)?n([1-5])$")
_TRUE = {"yes", "y", "true", "t", "1"}
_FALSE = {"no", "n", "false", "f", "0", ""}
_EMAIL = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[^@\s,;.]+$")


class _Row:
    """One data row: its spreadsheet number, cells by column, and the errors found in it."""

    def __init__(self, number: int, cells: dict[str, str], raw: list[str]):
        self.number, self.cells, self.raw = number, cells, raw
        self.errors: list[RowError] = []
        self.unreadable = False  # the CSV reader could not read it: no cell checks run

    def get(self, column: str) -> str:
        return (self.cells.get(column) or "").strip()

    def error(self, column: str, message: str) -> None:
        self.errors.append(RowError(self.number, column, self.get(column), message))

    def text(self, column: str, required: bool = False, max_len: int = 200) -> str:
        value = self.get(column)
        if required and not value:
            self.error(column, "is empty; a value is required")
        elif len(value) > max_len:
            self.error(column, f"is {len(value)} characters long; at most {max_len} allowed")
        return value

    def email(self, column: str, required: bool = True) -> str | None:
        value = self.get(column)
        if not value:
            if required:
                self.error(column, "is empty; an e-mail address is required")
            return None
        if not _EMAIL.match(value):
            self.error(column, f"{value!r} is not an e-mail address")
        return value

    def integer(self, column: str, lo: int, hi: int, default: int | None = None) -> int | None:
        value = self.get(column)
        if not value:
            if default is None:
                self.error(column, f"is empty; expected a whole number {lo}–{hi}")
            return default
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if not number.is_integer():
            self.error(column, f"{value!r} is not a whole number (expected {lo}–{hi})")
            return None
        if not lo <= number <= hi:
            self.error(column, f"{value} is out of range (expected {lo}–{hi})")
            return None
        return int(number)

    def boolean(self, column: str, default: bool = False) -> bool:
        value = self.get(column)
        parsed = parse_bool(value) if value else default
        if parsed is None:
            self.error(column, f"{value!r} is not yes/no (expected yes, no, y, n, true, false, 1 or 0)")
            return False
        return parsed


def parse_bool(value: str) -> bool | None:
    """Read yes/no, y/n, true/false, 1/0 (any case; blank is no); None if unreadable.

    Parameters
    ----------
    value : str
        The cell text.

    Returns
    -------
    bool or None
        True or False, or None when the text is not a yes or a no.

    Examples
    --------
    >>> parse_bool("Yes"), parse_bool("0"), parse_bool("maybe")
    (True, False, None)
    >>> parse_bool("")
    False
    """
    value = value.strip().lower()
    return True if value in _TRUE else False if value in _FALSE else None


def parse_japanese_level(value: str) -> int | None:
    """Read a Japanese level as 0–5: a number, a JLPT level or a word; None if unreadable.

    Parameters
    ----------
    value : str
        The cell text: "0" to "5", a JLPT level ("N1" is 5, "N5" is 1), or a word such as
        "none", "basic", "business" or "fluent" (``JAPANESE_LEVEL_WORDS``).

    Returns
    -------
    int or None
        The level, or None when the text is none of these.

    Examples
    --------
    >>> [parse_japanese_level(v) for v in ("3", "N1", "JLPT N4", "business", "fluent", "lots")]
    [3, 5, 2, 4, 5, None]
    """
    value = value.strip().lower()
    if value.isdigit():
        return int(value) if 0 <= int(value) <= 5 else None
    if match := _JLPT.match(value):
        return 6 - int(match.group(1))
    return JAPANESE_LEVEL_WORDS.get(value)


class _Places:
    """The gazetteer with a memory: each distinct place text is resolved once per import."""

    _KIND_WORDS = {"municipality": "a municipality", "prefecture": "a prefecture", "city": "a city",
                   "county": "a county", "state": "a state", "zip": "a ZIP code"}

    def __init__(self, gazetteer):
        self.gazetteer = gazetteer
        self._seen: dict[tuple[str, str], Any] = {}
        self.resolved: list[RowPlace] = []  # each place cell that resolved, for the report

    def resolve(self, row: _Row, column: str, country: str, kinds: Iterable[str], expected: str,
                required: bool = True):
        """Return the resolution of a cell, or None after recording why it cannot be used."""
        query = row.get(column)
        if not query:
            if required:
                row.error(column, f"is empty; expected {expected}")
            return None
        if len(query) > MAX_PLACE_CHARS:  # refused before the gazetteer reads it
            row.error(column, f"is {len(query):,} characters long; a place is at most {MAX_PLACE_CHARS}")
            return None
        key = (query.casefold(), country)
        if key not in self._seen:
            self._seen[key] = self.gazetteer.resolve(query, country=country)
        res = self._seen[key]
        if res.status in ("unknown", "ambiguous"):
            row.error(column, place_problem(res, expected))
        elif res.kind not in kinds:
            row.error(column, f"{query!r} is {self._KIND_WORDS.get(res.kind, res.kind)}; expected {expected}")
        else:
            self.resolved.append(RowPlace(row.number, column, query, resolved_summary(res), res.via))
            return res
        return None

