"""Load the reference CSVs shipped in ``data/`` into the database.

Loading is an idempotent sync: rows missing from the database are inserted,
changed rows updated, and nothing users added (alumni, relationships they
imported, committee details) is touched. Safe to run on every ``jetmatch init``.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from matcher.gazetteer.files import alias_rows
from matcher.instance import data_dir
from matcher.gazetteer.names import jp_key
from matcher.models import (
    Chapter,
    Municipality,
    MunicipalityAlias,
    Prefecture,
    Relationship,
    Seeker,
    USPlace,
    USState,
    USZip,
)

__all__ = ["data_dir", "read_csv", "load_reference_data", "pair_key", "signed_year"]


def read_csv(path: Path) -> list[dict[str, str]]:
    """Read a UTF-8 CSV (with or without BOM) into a list of dicts.

    Parameters
    ----------
    path : Path
        The file.

    Returns
    -------
    list of dict
        One per row, keyed by the header.
    """
    with open(path, newline="", encoding="utf-8-sig") as handle:
        return list(csv.DictReader(handle))


def _float(value: str) -> float:
    return float(value)


def _int_or_none(value: str | None) -> int | None:
    return int(float(value)) if value not in (None, "") else None


def pair_key(us_kind: str, us: str | int, jp_kind: str, jp: str) -> str:
    """Return the key that identifies a relationship's pair of places.

    Parameters
    ----------
    us_kind : str
        "city" (or another place kind) or "state".
    us : str or int
        The US place id, or the state abbreviation.
    jp_kind : str
        "municipality" or "prefecture".
    jp : str
        The JIS code.

    Returns
    -------
    str
        "place:<id>" or "state:<abbr>", a bar, then "muni:<code>" or "pref:<code>".

    Examples
    --------
    >>> pair_key("city", 12, "municipality", "44201")
    'place:12|muni:44201'
    >>> pair_key("state", "MD", "prefecture", "14")
    'state:MD|pref:14'
    """
    us_part = f"state:{us}" if us_kind == "state" else f"place:{us}"
    jp_part = f"pref:{jp}" if jp_kind == "prefecture" else f"muni:{jp}"
    return f"{us_part}|{jp_part}"


def signed_year(signed: str | None) -> int | None:
    """Return the year of a partial ISO date ("1992", "1992-04-21").

    Parameters
    ----------
    signed : str or None
        The date as the reference data gives it.

    Returns
    -------
    int or None
        The year, or None for no date.

    Examples
    --------
    >>> signed_year("1969-04-21"), signed_year("1992"), signed_year(None)
    (1969, 1992, None)
    """
    return int(signed[:4]) if signed and signed[:4].isdigit() else None


def _sync(
    session: Session, model: type, key: str, rows: Iterable[dict[str, Any]], progress: Callable[[str], None]
) -> int:
    """Insert rows whose key is new and update those that changed; return rows written."""
    rows = list(rows)
    if not rows:
        return 0
    columns = list(rows[0])
    existing = {
        r[0]: r for r in session.execute(select(*(getattr(model, c) for c in [key] + columns))).all()
    }
    new, changed = [], []
    for row in rows:
        current = existing.get(row[key])
        if current is None:
            new.append(row)
        elif tuple(current[1:]) != tuple(row[c] for c in columns):
            changed.append(row)
    if new:
        session.execute(model.__table__.insert(), new)
    if changed:
        session.execute(update(model), changed)  # bulk UPDATE by primary key
    session.flush()
    progress(f"{model.__tablename__}: {len(new)} new, {len(changed)} updated ({len(rows)} in file)")
    return len(new) + len(changed)


def load_reference_data(session: Session, path: Path | None = None, progress: Callable[[str], None] = lambda _: None) -> dict[str, int]:
    """Sync every reference CSV in ``path`` into the database; return rows written per table.

    Parameters
    ----------
    session : Session
        Written to (flushed, not committed).
    path : Path, optional
        The reference data folder (default: :func:`data_dir`).
    progress : callable, optional
        Called with a line of text as each table is synced.

    Returns
    -------
    dict of str to int
        Table name → rows inserted or updated.
    """
    path = path or data_dir()
    written: dict[str, int] = {}
    written["prefectures"] = _sync(session, Prefecture, "code", _prefectures(path), progress)
    written["municipalities"] = _sync(session, Municipality, "code", _municipalities(path), progress)
    written["municipality_aliases"] = _load_aliases(session, path, progress)
    written["us_states"] = _sync(session, USState, "abbr", _states(path), progress)
    written["us_places"] = _sync(session, USPlace, "id", _places(path), progress)
    written["us_zips"] = _sync(session, USZip, "zip", _zips(path), progress)
    written["chapters"] = _load_chapters(session, path, progress)
    written["relationships"] = _load_relationships(session, path, progress)
    written["seekers"] = _load_seekers(session, path, progress)
    return written


def _prefectures(path: Path):
    for r in read_csv(path / "prefectures.csv"):
        yield dict(code=r["code"], name=r["name"], name_ja=r["name_ja"], region=r["region"],
                   neighbours=r["neighbours"], lat=_float(r["lat"]), lon=_float(r["lon"]))


def _municipalities(path: Path):
    for r in read_csv(path / "municipalities.csv"):
        yield dict(code=r["code"], prefecture_code=r["prefecture_code"], name=r["name"],
                   name_romaji=r["name_romaji"], name_ja=r["name_ja"], name_kana=r["name_kana"],
                   kind=r["kind"], lat=_float(r["lat"]), lon=_float(r["lon"]),
                   coord_source=r["coord_source"], population=_int_or_none(r.get("population")))


def _states(path: Path):
    for r in read_csv(path / "us_states.csv"):
        yield dict(abbr=r["abbr"], name=r["name"], fips=r["fips"], lat=_float(r["lat"]), lon=_float(r["lon"]))


def _places(path: Path):
    for r in read_csv(path / "us_places.csv"):
        yield dict(id=int(r["id"]), name=r["name"], state_abbr=r["state"], kind=r["kind"],
                   lat=_float(r["lat"]), lon=_float(r["lon"]),
                   population=_int_or_none(r.get("population")), source=r.get("source", ""))


def _zips(path: Path):
    for r in read_csv(path / "us_zips.csv"):
        yield dict(zip=r["zip"], place_id=int(r["place_id"]), lat=_float(r["lat"]), lon=_float(r["lon"]))


_ALIAS_FIELDS = ("municipality_code", "name", "name_ja", "kana", "kind", "district", "district_ja",
                 "merged_on", "old_code", "source")


def _load_aliases(session: Session, path: Path, progress) -> int:
    """Sync old names from the official e-Stat table (plus compiled rows it lacks) into the alias table.

    A row already there under another spelling (the compiled list's "Tome" for 登米町, or a
    different merger date) is updated in place, so placements that point at it keep pointing.
    """
    munis = read_csv(path / "municipalities.csv")
    rows = alias_rows(path, munis)
    for r in rows:
        r["merged_on"] = dt.date.fromisoformat(r["merged_on"]) if r.get("merged_on") else None
    superseded = {(r["new_code"], r["old_name"]): r["superseded_by"]
                  for r in read_csv(path / "jp_mergers.csv") if r.get("superseded_by")}
    cols = [getattr(MunicipalityAlias, c) for c in ("id",) + _ALIAS_FIELDS]
    existing = [r._asdict() for r in session.execute(select(*cols))]
    exact = {(e["municipality_code"], e["name"], e["merged_on"]): e for e in existing}
    by_key = {(e["municipality_code"], jp_key(e["name"])): e for e in existing}
    by_old = {(e["municipality_code"], superseded[(e["municipality_code"], e["name"])]): e
              for e in existing if (e["municipality_code"], e["name"]) in superseded}
    new, changed, taken = [], [], set()
    for r in rows:
        e = (exact.get((r["municipality_code"], r["name"], r["merged_on"]))
             or by_key.get((r["municipality_code"], jp_key(r["name"])))
             or by_old.get((r["municipality_code"], r.get("old_code"))))
        if e is None or e["id"] in taken:
            new.append(dict(r, reason="merger"))
            continue
        taken.add(e["id"])
        if any(e[c] != r.get(c) for c in _ALIAS_FIELDS):
            changed.append(dict({c: r.get(c) for c in _ALIAS_FIELDS}, id=e["id"]))
    if changed:
        session.execute(update(MunicipalityAlias), changed)
    if new:
        session.execute(MunicipalityAlias.__table__.insert(),
                        [{c: r.get(c) for c in _ALIAS_FIELDS + ("reason",)} for r in new])
    session.flush()
    progress(f"municipality_aliases: {len(new)} new, {len(changed)} updated ({len(rows)} in files)")
    return len(new) + len(changed)


def _load_chapters(session: Session, path: Path, progress) -> int:
    places = {(name, state): pid for pid, name, state in session.execute(
        select(USPlace.id, USPlace.name, USPlace.state_abbr).where(USPlace.kind == "city"))}
    rows = []
    for r in read_csv(path / "chapters.csv"):
        city, _, state = r["hub"].rpartition(", ")
        rows.append(dict(slug=r["slug"], name=r["name"], states=r["states"], hub=r["hub"],
                         hub_place_id=places.get((city, state)), source=r.get("source", ""),
                         coverage_basis=r.get("coverage_basis", "")))
    return _sync(session, Chapter, "slug", rows, progress)


def _load_relationships(session: Session, path: Path, progress) -> int:
    """Insert reference relationships that are missing; never touch user-edited fields."""
    known = set(session.scalars(select(Relationship.pair_key)))
    munis = dict(session.execute(select(Municipality.code, Municipality.prefecture_code)).all())
    place_states = dict(session.execute(select(USPlace.id, USPlace.state_abbr)).all())
    new = []
    for r in read_csv(path / "relationships.csv"):
        us = r["us_state"] if r["us_kind"] == "state" else int(r["us_place_id"])
        key = pair_key(r["us_kind"], us, r["jp_kind"], r["jp_code"])
        if key in known:
            continue
        known.add(key)
        jp_muni = r["jp_code"] if r["jp_kind"] == "municipality" else None
        new.append(dict(
            pair_key=key, us_kind=r["us_kind"],
            us_place_id=None if r["us_kind"] == "state" else us,
            us_state_abbr=r["us_state"] if r["us_kind"] == "state" else place_states[us],
            jp_kind=r["jp_kind"], jp_municipality_code=jp_muni,
            jp_prefecture_code=munis[jp_muni] if jp_muni else r["jp_code"],
            jp_name_at_signing=r.get("jp_name_at_signing") or None,
            signed=r.get("signed") or None, signed_year=signed_year(r.get("signed")),
            status="unknown", themes="", volunteers_wanted=3, source=r.get("sources", ""),
        ))
    if new:
        session.execute(Relationship.__table__.insert(), new)
    progress(f"relationships: {len(new)} new")
    return len(new)


def _load_seekers(session: Session, path: Path, progress) -> int:
    file = path / "clair_seeking_partners.csv"
    if not file.exists():
        return 0
    rows = [dict(municipality_code=r["code"], desired_countries=r.get("desired_countries", ""),
                 desired_partner=r.get("desired_partner", ""), as_of=r.get("as_of", ""),
                 source=r.get("source", ""))
            for r in read_csv(file) if r.get("code")]
    return _sync(session, Seeker, "municipality_code", rows, progress)
