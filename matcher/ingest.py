"""Import CSV files of alumni, placements, relationships, chapters and seekers.

Every row is checked before anything is written, and every problem is reported at
once with its row (as a spreadsheet numbers it: the header is row 1), its column and
what was expected. By default one bad row means nothing is written; with
``skip_invalid`` the good rows are written and the bad ones go to
``<stem>.rejects.csv`` beside the input, with an ``error`` column. The whole import is
one transaction (the caller commits), and rows that would not change are not rewritten, so importing the
same file twice changes nothing the second time.

Columns (extra columns are ignored with a warning):

=============  ==========================================================================
alumni         external_id, name, email, home, japanese_level, interests,
               availability_hours, max_matches, consent [, consent_contact]
placements     alum_external_id, place, role, start_year, end_year, employer
relationships  us_place, jp_place, signed, status, themes, committee_name,
               committee_email, volunteers_wanted
chapters       slug, name, states, hub
seekers        municipality, prefecture, desired_countries, desired_partner, as_of, source
=============  ==========================================================================

Values:

- ``home`` is a US city ("Rice Lake, WI") or ZIP code ("54868"); the alum's chapter is
  the one covering the home state (the one with the nearest hub where two share a state).
- ``place`` is a Japanese municipality, current or pre-merger ("Yamauchi-cho, Saga",
  "武雄市"), or a prefecture for a prefectural post ("Saga Prefecture").
- ``japanese_level``: 0–5; JLPT N5=1, N4=2, N3=3, N2=4, N1=5; or a word — none=0,
  beginner/basic=1, elementary=2, conversational/intermediate=3, business=4,
  fluent/native=5.
- ``consent``/``consent_contact``: yes/no, y/n, true/false, 1/0; blank = no.
  ``consent_contact`` defaults to ``consent``.
- ``role``: ALT, CIR or SEA (any case). Start year 1987 to next year; the end year is
  not before the start and at most ten years after it.
- ``signed``: "YYYY", "YYYY-MM" or "YYYY-MM-DD"; ``status``: active, dormant or unknown;
  ``themes``: separated by semicolons. A blank relationship cell keeps what the
  database holds (reference pairs are updated, not overwritten with blanks).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from matcher.models import (
    FIRST_JET_YEAR,
    RELATIONSHIP_STATUSES,
    ROLES,
    Alumnus,
    Chapter,
    MunicipalityAlias,
    Placement,
    Relationship,
    Seeker,
    USPlace,
    USState,
)
from matcher.refdata import pair_key

__all__ = [
    "KINDS",
    "COLUMNS",
    "JAPANESE_LEVEL_WORDS",
    "RowError",
    "ImportReport",
    "ChapterFinder",
    "import_csv",
    "parse_japanese_level",
    "parse_bool",
]

KINDS = ("alumni", "placements", "relationships", "chapters", "seekers")

# (required, optional) columns per kind.
COLUMNS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "alumni": (("external_id", "name", "email", "home", "japanese_level", "interests",
                "availability_hours", "max_matches", "consent"), ("consent_contact",)),
    "placements": (("alum_external_id", "place", "role", "start_year", "end_year", "employer"), ()),
    "relationships": (("us_place", "jp_place", "signed", "status", "themes", "committee_name",
                       "committee_email", "volunteers_wanted"), ()),
    "chapters": (("slug", "name", "states", "hub"), ()),
    "seekers": (("municipality", "prefecture", "desired_countries", "desired_partner", "as_of", "source"), ()),
}

JAPANESE_LEVEL_WORDS = {
    "none": 0, "beginner": 1, "basic": 1, "elementary": 2,
    "conversational": 3, "intermediate": 3, "business": 4, "fluent": 5, "native": 5,
}
_JLPT = re.compile(r"^(?:jlpt\s*)?n([1-5])$")
_TRUE = {"yes", "y", "true", "t", "1"}
_FALSE = {"no", "n", "false", "f", "0", ""}
_EMAIL = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[^@\s,;.]+$")
_SIGNED = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_CHUNK = 500  # keys per IN (...) query


# --- report -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowError:
    """A problem in one cell (or the header): where it is and what was expected."""

    row: int
    column: str
    value: str
    message: str

    def __str__(self) -> str:
        where = f"row {self.row}, column {self.column}" if self.column else f"row {self.row}"
        return f"{where}: {self.message}"

    def to_json(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "value": self.value, "message": self.message}


@dataclass
class ImportReport:
    """What an import found and did; ``ok`` is False when any row or the header is bad."""

    kind: str
    file: str
    dry_run: bool = False
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    errors: list[RowError] = field(default_factory=list)
    warnings: list[RowError] = field(default_factory=list)
    rejects_file: str | None = None

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "file": self.file, "ok": self.ok, "dry_run": self.dry_run,
            "rows": self.rows, "inserted": self.inserted, "updated": self.updated,
            "unchanged": self.unchanged, "rejected": self.rejected,
            "errors": [e.to_json() for e in self.errors],
            "warnings": [w.to_json() for w in self.warnings],
            "rejects_file": self.rejects_file,
        }

    def summary(self) -> str:
        """Say in a few lines what happened, then list every error and warning."""
        counts = f"{self.inserted} inserted, {self.updated} updated, {self.unchanged} unchanged"
        if self.rejected:
            counts += f", {self.rejected} rejected"
        head = f"{self.kind} from {self.file}: {self.rows} rows"
        if self.errors and not self.rejected:
            verdict = f"{len(self.errors)} error{'s' if len(self.errors) != 1 else ''} — nothing written"
        elif self.dry_run:
            verdict = f"dry run, nothing written (would be: {counts})"
        else:
            verdict = counts
        lines = [f"{head}; {verdict}"]
        if self.rejects_file:
            lines.append(f"rejected rows written to {self.rejects_file}")
        lines += [str(e) for e in self.errors]
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)


# --- reading and checking cells --------------------------------------------------------------


class _Row:
    """One data row: its spreadsheet number, cells by column, and the errors found in it."""

    def __init__(self, number: int, cells: dict[str, str], raw: list[str]):
        self.number, self.cells, self.raw = number, cells, raw
        self.errors: list[RowError] = []

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

    >>> parse_bool("Yes"), parse_bool("0"), parse_bool("maybe")
    (True, False, None)
    """
    value = value.strip().lower()
    return True if value in _TRUE else False if value in _FALSE else None


def parse_japanese_level(value: str) -> int | None:
    """Read a Japanese level as 0–5: a number, a JLPT level or a word; None if unreadable.

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

    def resolve(self, row: _Row, column: str, country: str, kinds: Iterable[str], expected: str,
                required: bool = True):
        """Return the resolution of a cell, or None after recording why it cannot be used."""
        query = row.get(column)
        if not query:
            if required:
                row.error(column, f"is empty; expected {expected}")
            return None
        key = (query.casefold(), country)
        if key not in self._seen:
            self._seen[key] = self.gazetteer.resolve(query, country=country)
        res = self._seen[key]
        if res.status == "unknown":
            row.error(column, f"unknown place {query!r}; expected {expected}")
        elif res.status == "ambiguous":
            names = "; ".join(_label(c) for c in res.candidates[:8])
            more = f" and {len(res.candidates) - 8} more" if len(res.candidates) > 8 else ""
            row.error(column, f"{query!r} is ambiguous: {names}{more}; add the prefecture or state")
        elif res.kind not in kinds:
            row.error(column, f"{query!r} is {self._KIND_WORDS.get(res.kind, res.kind)}; expected {expected}")
        else:
            return res
        return None


def _label(res) -> str:
    where = res.prefecture or res.state
    return f"{res.name} ({where})" if where else str(res.name)


# --- lookups shared with synth -------------------------------------------------------------


class ChapterFinder:
    """Find the JETAA chapter of a US state; where two chapters share a state, the nearest hub.

    Chapter ``states`` are "DC;MD;VA"; a qualifier such as "CA(north/central)" counts as "CA".
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


# --- the five kinds ------------------------------------------------------------------------


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


def _check_alumni(rows: list[_Row], ctx: _Context) -> _Plan:
    plan = _Plan(Alumnus, ("external_id", "name", "email", "home", "home_place_id", "home_state_abbr",
                           "home_lat", "home_lon", "chapter_id", "japanese_level", "interests",
                           "availability_hours", "max_matches", "consent", "consent_contact"), {})
    chapters = ChapterFinder.from_session(ctx.session)
    for row in rows:
        rec: dict[str, Any] = {"external_id": row.text("external_id", required=True, max_len=64),
                               "name": row.text("name", required=True, max_len=120),
                               "email": row.email("email"), "home": row.text("home")}
        home = ctx.places.resolve(row, "home", "US", ("city", "zip"), "a US city (\"Rice Lake, WI\") or ZIP code",
                                  required=False)
        rec["home_place_id"] = home.place_id if home else None
        rec["home_state_abbr"] = home.state if home else None
        rec["home_lat"], rec["home_lon"] = (home.lat, home.lon) if home else (None, None)
        rec["chapter_id"] = chapters.find(rec["home_state_abbr"], rec["home_lat"], rec["home_lon"])
        level = parse_japanese_level(row.get("japanese_level") or "0")
        if level is None:
            row.error("japanese_level", f"{row.get('japanese_level')!r} is not a Japanese level "
                                        "(expected 0–5, N5–N1, or none/basic/conversational/business/fluent/native)")
        rec["japanese_level"] = level
        rec["interests"] = row.text("interests", max_len=10_000)
        rec["availability_hours"] = row.integer("availability_hours", 0, 168, default=0)
        rec["max_matches"] = row.integer("max_matches", 0, 50, default=1)
        rec["consent"] = row.boolean("consent")
        rec["consent_contact"] = row.boolean("consent_contact", default=rec["consent"])
        _keep(plan, row, rec["external_id"], rec, "external_id", f"duplicate external id {rec['external_id']!r}")
    found = _existing(ctx.session, Alumnus, Alumnus.external_id, _keys(plan), ("id",) + plan.fields)
    return _with_existing(plan, {r["external_id"]: r for r in found})


def _check_placements(rows: list[_Row], ctx: _Context) -> _Plan:
    plan = _Plan(Placement, ("alumnus_id", "place", "municipality_code", "prefecture_code", "alias_id",
                             "role", "start_year", "end_year", "employer"), {})
    wanted = {row.get("alum_external_id") for row in rows} - {""}
    alumni = {r["external_id"]: r["id"] for r in _existing(ctx.session, Alumnus, Alumnus.external_id,
                                                           wanted, ("id", "external_id"))}
    for row in rows:
        external_id = row.text("alum_external_id", required=True, max_len=64)
        alumnus_id = alumni.get(external_id)
        if external_id and alumnus_id is None:
            row.error("alum_external_id", f"no alum with external id {external_id!r} in the database "
                                          "(import the alumni first)")
        place = ctx.places.resolve(row, "place", "JP", ("municipality", "prefecture"),
                                   "a Japanese municipality (\"Takeo, Saga\") or prefecture")
        role = row.get("role").upper()
        if role not in ROLES:
            row.error("role", f"{row.get('role')!r} is not a JET role (expected ALT, CIR or SEA)")
        start = row.integer("start_year", FIRST_JET_YEAR, ctx.this_year + 1)
        end = row.integer("end_year", FIRST_JET_YEAR, ctx.this_year + 11)
        if start is not None and end is not None:
            if end < start:
                row.error("end_year", f"{end} is before the start year {start}")
            elif end > start + 10:
                row.error("end_year", f"{end} is more than ten years after the start year {start}")
        rec = {"alumnus_id": alumnus_id, "place": row.text("place", max_len=200), "role": role,
               "start_year": start, "end_year": end, "employer": row.text("employer", max_len=200),
               "municipality_code": None, "prefecture_code": None, "alias_id": None}
        if place is not None:
            municipal = place.kind == "municipality"
            rec["municipality_code"] = place.code if municipal else None
            rec["prefecture_code"] = place.prefecture_code if municipal else place.code
            rec["alias_id"] = ctx.alias_id(place)
        key = (alumnus_id, rec["place"], role, start)
        _keep(plan, row, key, rec, "place",
              f"duplicate placement ({external_id}, {rec['place']}, {role}, {start})")
    found = _existing(ctx.session, Placement, Placement.alumnus_id, {k[0] for k in _keys(plan)},
                      ("id",) + plan.fields)
    return _with_existing(plan, {(r["alumnus_id"], r["place"], r["role"], r["start_year"]): r for r in found})


def _check_relationships(rows: list[_Row], ctx: _Context) -> _Plan:
    plan = _Plan(Relationship, ("pair_key", "us_kind", "us_place_id", "us_state_abbr", "jp_kind",
                                "jp_municipality_code", "jp_prefecture_code", "jp_name_at_signing", "signed",
                                "signed_year", "status", "themes", "committee_name", "committee_email",
                                "volunteers_wanted"),
                 {"jp_name_at_signing": None, "signed": None, "signed_year": None, "status": "unknown",
                  "themes": "", "committee_name": None, "committee_email": None, "volunteers_wanted": 3,
                  "source": f"import: {ctx.file.name}"})
    for row in rows:
        us = ctx.places.resolve(row, "us_place", "US", ("city", "county", "state", "zip"),
                                "a US city, county or state")
        jp = ctx.places.resolve(row, "jp_place", "JP", ("municipality", "prefecture"),
                                "a Japanese municipality or prefecture")
        rec: dict[str, Any] = {}
        if us is not None and us.kind != "state" and us.place_id is None:  # a geocoder's answer
            row.error("us_place", f"{row.get('us_place')!r} is not in the reference places; expected a US city, "
                                  "county or state that jetmatch knows")
            us = None
        if us is not None:
            rec["us_kind"] = "city" if us.kind == "zip" else us.kind
            rec["us_place_id"] = None if us.kind == "state" else us.place_id
            rec["us_state_abbr"] = us.code if us.kind == "state" else us.state
        if jp is not None:
            rec["jp_kind"] = jp.kind
            rec["jp_municipality_code"] = jp.code if jp.kind == "municipality" else None
            rec["jp_prefecture_code"] = jp.prefecture_code if jp.kind == "municipality" else jp.code
            if jp.via_alias:
                rec["jp_name_at_signing"] = jp.via_alias["name"]
        if signed := row.get("signed"):
            if _valid_signed(signed, ctx.this_year):
                rec["signed"], rec["signed_year"] = signed, int(signed[:4])
            else:
                row.error("signed", f"{signed!r} is not a signing date (expected YYYY or YYYY-MM-DD, "
                                    f"1900–{ctx.this_year})")
        if status := row.get("status").lower():
            if status not in RELATIONSHIP_STATUSES:
                row.error("status", f"{row.get('status')!r} is not a status (expected active, dormant or unknown)")
            rec["status"] = status
        if themes := row.get("themes"):
            rec["themes"] = ";".join(dict.fromkeys(t.strip() for t in themes.split(";") if t.strip()))
        if committee := row.text("committee_name", max_len=120):
            rec["committee_name"] = committee
        if row.get("committee_email"):
            rec["committee_email"] = row.email("committee_email")
        if row.get("volunteers_wanted"):
            rec["volunteers_wanted"] = row.integer("volunteers_wanted", 0, 1000)
        key = None
        if us is not None and jp is not None:
            key = pair_key(rec["us_kind"], rec["us_place_id"] or rec["us_state_abbr"], rec["jp_kind"],
                           rec["jp_municipality_code"] or rec["jp_prefecture_code"])
            rec["pair_key"] = key
        _keep(plan, row, key, rec, "jp_place", f"duplicate relationship {key}")
    found = _existing(ctx.session, Relationship, Relationship.pair_key, _keys(plan), ("id",) + plan.fields)
    return _with_existing(plan, {r["pair_key"]: r for r in found})


def _valid_signed(value: str, this_year: int) -> bool:
    match = _SIGNED.match(value)
    if not match or not 1900 <= int(match.group(1)) <= this_year:
        return False
    year, month, day = (int(g) if g else 1 for g in match.groups())
    try:
        dt.date(year, month, day)
    except ValueError:
        return False
    return True


def _check_chapters(rows: list[_Row], ctx: _Context) -> _Plan:
    plan = _Plan(Chapter, ("slug", "name", "states", "hub", "hub_place_id"),
                 {"source": f"import: {ctx.file.name}"})
    known_states = set(ctx.session.scalars(select(USState.abbr)))
    for row in rows:
        slug = row.text("slug", required=True, max_len=40)
        if slug and not _SLUG.match(slug):
            row.error("slug", f"{slug!r} is not a slug (expected lower-case letters, digits and hyphens)")
        tokens = [t.strip() for t in row.get("states").split(";") if t.strip()]
        if not tokens:
            row.error("states", "is empty; expected state abbreviations separated by semicolons (\"DC;MD;VA\")")
        for token in tokens:
            if token[:2].upper() not in known_states or (len(token) > 2 and token[2] != "("):
                row.error("states", f"{token!r} is not a US state abbreviation (expected e.g. \"DC;MD;VA\")")
        rec = {"slug": slug, "name": row.text("name", required=True, max_len=120),
               "states": ";".join(tokens), "hub": row.text("hub", max_len=120), "hub_place_id": None}
        if rec["hub"]:
            hub = ctx.places.resolve(row, "hub", "US", ("city", "zip"), "a US city")
            if hub is None:  # a hub is descriptive: keep the text, warn, leave the place empty
                ctx.warnings.append(row.errors.pop())
            else:
                rec["hub_place_id"] = hub.place_id
        _keep(plan, row, slug, rec, "slug", f"duplicate slug {slug!r}")
    found = _existing(ctx.session, Chapter, Chapter.slug, _keys(plan), ("id",) + plan.fields)
    return _with_existing(plan, {r["slug"]: r for r in found})


def _check_seekers(rows: list[_Row], ctx: _Context) -> _Plan:
    plan = _Plan(Seeker, ("municipality_code", "desired_countries", "desired_partner", "as_of", "source"), {})
    for row in rows:
        query = ", ".join(v for v in (row.get("municipality"), row.get("prefecture")) if v)
        row.cells["municipality"] = query
        place = ctx.places.resolve(row, "municipality", "JP", ("municipality",),
                                   "a Japanese municipality and its prefecture")
        as_of = row.get("as_of")
        if as_of and not _valid_signed(as_of, ctx.this_year):
            row.error("as_of", f"{as_of!r} is not a date (expected YYYY, YYYY-MM or YYYY-MM-DD)")
        rec = {"municipality_code": place.code if place else None,
               "desired_countries": row.text("desired_countries", max_len=10_000),
               "desired_partner": row.text("desired_partner", max_len=10_000), "as_of": as_of,
               "source": row.text("source", max_len=10_000)}
        _keep(plan, row, rec["municipality_code"], rec, "municipality", f"duplicate municipality {query!r}")
    found = _existing(ctx.session, Seeker, Seeker.municipality_code, _keys(plan), ("id",) + plan.fields)
    return _with_existing(plan, {r["municipality_code"]: r for r in found})


_CHECKS: dict[str, Callable[[list[_Row], _Context], _Plan]] = {
    "alumni": _check_alumni, "placements": _check_placements, "relationships": _check_relationships,
    "chapters": _check_chapters, "seekers": _check_seekers,
}


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


# --- the import ------------------------------------------------------------------------------


def _read(path: Path, report: ImportReport) -> tuple[list[str], list[_Row], bool]:
    """Read a UTF-8 CSV (BOM or not); return its header, data rows and whether it had a BOM."""
    data = path.read_bytes()
    bom = data.startswith(b"\xef\xbb\xbf")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        report.errors.append(RowError(1, "", "", f"the file is not UTF-8 text (byte {exc.start}); "
                                                  "save it as CSV UTF-8"))
        return [], [], bom
    records = list(csv.reader(io.StringIO(text, newline="")))
    if not records:
        report.errors.append(RowError(1, "", "", "the file is empty; expected a header row"))
        return [], [], bom
    header = [h.strip().lower() for h in records[0]]
    rows = []
    for number, raw in enumerate(records[1:], start=2):
        if not any(cell.strip() for cell in raw):
            continue
        row = _Row(number, dict(zip(header, raw)), raw)
        if len(raw) > len(header):
            row.error("", f"has {len(raw)} cells but the header has {len(header)} columns")
        rows.append(row)
    return header, rows, bom


def _check_header(kind: str, header: list[str], report: ImportReport) -> None:
    required, optional = COLUMNS[kind]
    for column in required:
        if column not in header:
            report.errors.append(RowError(1, column, "", f"required column {column!r} is missing"))
    seen = set()
    for column in header:
        if column in seen:
            report.errors.append(RowError(1, column, column, f"column {column!r} appears twice"))
        seen.add(column)
        if column not in required and column not in optional:
            report.warnings.append(RowError(1, column, column, f"column {column!r} is not used; ignored"))


def _diff(plan: _Plan) -> tuple[list[dict], list[dict], int]:
    """Split records into inserts, updates (only changed fields, with the id) and an unchanged count."""
    inserts, updates, unchanged = [], [], 0
    for key, (_row, rec) in plan.records.items():
        old = plan.existing.get(key)
        if old is None:
            inserts.append({**plan.defaults, **rec})
            continue
        changed = {k: v for k, v in rec.items() if k in plan.fields and old.get(k) != v}
        if changed:
            updates.append({"id": old["id"], **changed})
        else:
            unchanged += 1
    return inserts, updates, unchanged


def _write(session: Session, model, inserts: list[dict], updates: list[dict]) -> None:
    now = dt.datetime.now(dt.timezone.utc)
    if model is Alumnus:
        for rec in updates:
            rec["updated_at"] = now
    if inserts:
        session.execute(insert(model), inserts)
    if updates:
        session.execute(update(model), updates)
    session.flush()


def _write_rejects(path: Path, header: list[str], bad: list[_Row], bom: bool) -> Path:
    target = path.with_name(f"{path.stem}.rejects.csv")
    with open(target, "w", newline="", encoding="utf-8-sig" if bom else "utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([*header, "error"])
        for row in bad:
            cells = (row.raw + [""] * len(header))[:len(header)]
            writer.writerow([*cells, "; ".join(f"{e.column}: {e.message}" if e.column else e.message
                                               for e in row.errors)])
    return target


def import_csv(session: Session, kind: str, path: Path | str, *, gazetteer, dry_run: bool = False,
               skip_invalid: bool = False) -> ImportReport:
    """Check every row of a CSV of ``kind`` and, unless told otherwise, write all of it or none.

    Parameters
    ----------
    session : the session to read and write with. Rows are written and flushed, not
        committed: the caller commits, so the import is one transaction. If writing
        fails the session is rolled back.
    kind : one of ``KINDS``.
    path : the CSV file, UTF-8 with or without a BOM.
    gazetteer : resolves place text (``matcher.gazetteer.Gazetteer``).
    dry_run : check and count, write nothing (no rejects file either).
    skip_invalid : write the good rows and put the bad ones in ``<stem>.rejects.csv``.

    Returns
    -------
    ImportReport : counts, every error located by row and column, and warnings.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown import kind {kind!r}; expected one of {', '.join(KINDS)}")
    path = Path(path)
    report = ImportReport(kind=kind, file=str(path), dry_run=dry_run)
    header, rows, bom = _read(path, report)
    if header:
        _check_header(kind, header, report)
    report.rows = len(rows)
    if report.errors:  # the header is unusable: no row can be read reliably
        return report
    ctx = _Context(session, gazetteer, path, report.warnings)
    plan = _CHECKS[kind](rows, ctx)
    bad = [row for row in rows if row.errors]
    report.errors = [e for row in bad for e in row.errors]
    report.rejected = len(bad) if skip_invalid else 0
    inserts, updates, report.unchanged = _diff(plan)
    report.inserted, report.updated = len(inserts), len(updates)
    if bad and not skip_invalid:
        report.inserted = report.updated = report.unchanged = 0
        return report
    if not dry_run:
        try:
            _write(session, plan.model, inserts, updates)
        except BaseException:
            session.rollback()
            raise
        if kind == "relationships" and (inserts or updates):
            from matcher.pool import invalidate

            invalidate()  # the scoring cache keys on counts, not on every field an import can change
        if bad:
            report.rejects_file = str(_write_rejects(path, header, bad, bom))
    return report
