"""Look-ups the row checks share: chapters by state, database rows by key, and the plan of a kind."""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from matcher.ingest.cells import _Places, _Row
from matcher.ingest.report import RowError
from matcher.models import Chapter, MunicipalityAlias, USPlace

__all__ = ["ChapterFinder"]

_CHUNK = 500  # keys per IN (...) query


# --- lookups shared with synth -------------------------------------------------------------


class ChapterFinder:
    """Find the JETAA chapter of a US state; where two chapters share a state, the nearest hub.

    Chapter ``states`` are "DC;MD;VA"; a qualifier such as "CA(north/central)" counts as "CA".

    Parameters
    ----------
    chapters : iterable of (int, str, float or None, float or None)
        Each chapter's id, its states and the latitude and longitude of its hub
        (:meth:`from_session` reads them from the database).

    Examples
    --------
    >>> finder = ChapterFinder([(1, "CA(north/central)", 37.8, -122.4), (2, "CA(south);NV", 34.1, -118.2),
    ...                         (3, "DC;MD;VA", 38.9, -77.0)])
    >>> finder.find("VA"), finder.find("CA", 34.0, -118.0), finder.find("CA", 38.5, -121.5)
    (3, 2, 1)
    >>> finder.find("TX") is None
    True
    """

    def __init__(self, chapters: Iterable[tuple[int, str, float | None, float | None]]):
        self.by_state: dict[str, list[tuple[int, float | None, float | None]]] = defaultdict(list)
        for chapter_id, states, lat, lon in chapters:
            for token in states.split(";"):
                abbr = token.strip()[:2].upper()
                if abbr:
                    self.by_state[abbr].append((chapter_id, lat, lon))

    @classmethod
    def from_session(cls, session: Session) -> ChapterFinder:
        rows = session.execute(
            select(Chapter.id, Chapter.states, USPlace.lat, USPlace.lon)
            .outerjoin(USPlace, Chapter.hub_place_id == USPlace.id).order_by(Chapter.id))
        return cls(rows)

    def find(self, state: str | None, lat: float | None = None, lon: float | None = None) -> int | None:
        """Return the chapter id for a home in ``state`` at (lat, lon), or None."""
        candidates = self.by_state.get(state or "", [])
        if len(candidates) <= 1 or lat is None or lon is None:
            return candidates[0][0] if candidates else None

        def distance(c):
            _, clat, clon = c
            if clat is None or clon is None:
                return math.inf
            return (clat - lat) ** 2 + ((clon - lon) * math.cos(math.radians(lat))) ** 2

        return min(candidates, key=distance)[0]


def _chunks(items: list, size: int = _CHUNK) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _existing(session: Session, model, key_column, keys: Iterable, columns: Iterable[str]) -> list[dict]:
    """Return the rows of ``model`` whose ``key_column`` is in ``keys``, as dicts of ``columns``."""
    keys = sorted(set(keys))
    cols = [getattr(model, c) for c in columns]
    found: list[dict] = []
    for chunk in _chunks(keys):
        found += [dict(r._mapping) for r in session.execute(select(*cols).where(key_column.in_(chunk)))]
    return found


# --- the plan of a kind ---------------------------------------------------------------------


@dataclass
class _Plan:
    """A kind's validated records keyed for upsert, and how to find what the database holds."""

    model: type
    fields: tuple[str, ...]  # columns compared and written
    defaults: dict[str, Any]  # filled in on insert for columns a row left blank
    records: dict[Hashable, tuple[_Row, dict[str, Any]]] = field(default_factory=dict)
    existing: dict[Hashable, dict[str, Any]] = field(default_factory=dict)  # what the database holds


class _Context:
    """What row checks need: the gazetteer, reference look-ups, and the database rows."""

    def __init__(self, session: Session, gazetteer, file: Path, warnings: list[RowError]):
        self.session, self.places, self.file, self.warnings = session, _Places(gazetteer), file, warnings
        self.this_year = dt.date.today().year

    def alias_ids(self) -> dict[tuple[str, str], int]:
        if not hasattr(self, "_aliases"):
            self._aliases: dict[tuple[str, str], int] = {}
            rows = self.session.execute(select(MunicipalityAlias.id, MunicipalityAlias.municipality_code,
                                               MunicipalityAlias.name, MunicipalityAlias.merged_on))
            for alias_id, code, name, merged_on in rows:
                self._aliases.setdefault((code, name.casefold()), alias_id)
                self._aliases[(code, name.casefold(), merged_on.isoformat() if merged_on else "")] = alias_id
        return self._aliases

    def alias_id(self, res) -> int | None:
        """Return the MunicipalityAlias id a resolution came through, if it came through one."""
        if not res.via_alias or res.kind != "municipality":
            return None
        name = str(res.via_alias.get("name", "")).casefold()
        merged = str(res.via_alias.get("merged_on") or "")
        aliases = self.alias_ids()
        return aliases.get((res.code, name, merged)) or aliases.get((res.code, name))


def _keep(plan: _Plan, row: _Row, key, rec: dict, column: str, duplicate: str) -> None:
    """Keep a row's record under its upsert key unless the row is bad or repeats an earlier one."""
    if key is not None and key in plan.records and not row.errors:
        first = plan.records[key][0].number
        row.error(column, f"{duplicate} (already on row {first})")
    if not row.errors and key is not None:
        plan.records[key] = (row, rec)


def _keys(plan: _Plan) -> list:
    return list(plan.records)


def _with_existing(plan: _Plan, existing: dict) -> _Plan:
    plan.existing = existing
    return plan
