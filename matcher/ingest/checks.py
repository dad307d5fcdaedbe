"""The row checks of the five kinds: each turns rows into a plan of records to upsert."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from matcher.ingest.cells import _Row, parse_japanese_level
from matcher.ingest.report import RowError
from matcher.ingest.lookups import ChapterFinder, _Context, _existing, _keep, _keys, _Plan, _with_existing
from matcher.models import (
    FIRST_JET_YEAR,
    RELATIONSHIP_STATUSES,
    ROLES,
    Alumnus,
    Chapter,
    Placement,
    Relationship,
    Seeker,
    USState,
)
from matcher.names import parse_name
from matcher.refdata import pair_key

__all__: list[str] = []

_SIGNED = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")


def _check_alumni(rows: list[_Row], ctx: _Context) -> _Plan:
    plan = _Plan(Alumnus, ("external_id", "given_name", "family_name", "email", "home", "home_place_id", "home_state_abbr",
                           "home_lat", "home_lon", "chapter_id", "japanese_level", "interests",
                           "availability_hours", "max_matches", "consent", "consent_contact"), {})
    chapters = ChapterFinder.from_session(ctx.session)
    for row in rows:
        rec: dict[str, Any] = {"external_id": row.text("external_id", required=True, max_len=64),
                               **_names(row, ctx), "email": row.email("email"), "home": row.text("home")}
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


def _names(row: _Row, ctx: _Context) -> dict[str, str]:
    """Given and family name from their own columns, else read from ``name`` (warning where guessed)."""
    if "given_name" in row.cells or "family_name" in row.cells:
        given = row.text("given_name", max_len=120)
        family = row.text("family_name", max_len=120)
        if not given and not family:
            row.error("given_name", "is empty, and so is family_name; a name is required")
        return {"given_name": given, "family_name": family}
    name = parse_name(row.text("name", required=True, max_len=120))
    if name.warning and not row.errors:
        ctx.warnings.append(RowError(row.number, "name", row.get("name"), name.warning))
    return {"given_name": name.given, "family_name": name.family}


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
