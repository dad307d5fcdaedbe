"""Read the gazetteer's reference files in ``data/`` into the row dicts :class:`Gazetteer` takes.

Old names come from the official e-Stat table (``jp_heisei_mergers.csv``: kanji, official kana,
district); the compiled list (``jp_mergers.csv``) adds only rows the official table lacks (an
old city of the same name as its successor, a merger after March 2010) and none that it reads
differently (``superseded_by``). The database loader (:mod:`matcher.refdata`) uses the same rows.
"""

from __future__ import annotations

import csv
from pathlib import Path

from matcher.gazetteer.names import jp_key

__all__ = ["read_rows", "alias_rows"]


def read_rows(path: Path) -> list[dict]:
    """Read a UTF-8 CSV into dicts; a missing optional file reads as no rows."""
    if not path.exists():
        return []
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = next(reader, [])
        return [dict(zip(header, row)) for row in reader if row]  # DictReader's work, at twice its speed


def alias_rows(data: Path, municipalities: list[dict]) -> list[dict]:
    """Return one dict per old name: the official rows first, then compiled rows they do not cover.

    Keys: municipality_code, prefecture_code, old_code, name, name_ja, kana, kind, district,
    district_ja, merged_on, source.
    """
    compiled = read_rows(data / "jp_mergers.csv")
    official = read_rows(data / "jp_heisei_mergers.csv")
    district_romaji = {(m["prefecture_code"], m.get("district_ja") or ""): m.get("district") or ""
                       for m in municipalities if m.get("district_ja")}
    compiled_by_name = {(r["new_code"], jp_key(r["old_name"])): r for r in compiled}
    for r in official:  # districts that no longer exist: their romaji from the compiled rows
        twin = compiled_by_name.get((r["current_code"], jp_key(r["old_name"])))
        if twin and twin.get("old_district") and r["old_district_ja"].endswith("郡"):
            district_romaji.setdefault((r["prefecture_code"], r["old_district_ja"]), twin["old_district"])
    out, seen = [], set()
    for r in official:
        ident = (r["old_code"], r["current_code"])
        if ident in seen:
            continue
        seen.add(ident)
        twin = compiled_by_name.get((r["current_code"], jp_key(r["old_name"])), {})
        district = district_romaji.get((r["prefecture_code"], r["old_district_ja"])) or twin.get("old_district") or ""
        out.append(dict(municipality_code=r["current_code"], prefecture_code=r["prefecture_code"],
                        old_code=r["old_code"], name=r["old_name"], name_ja=r["old_name_ja"], kana=r["old_kana"],
                        kind=r["old_kind"], district=district or None, district_ja=r["old_district_ja"] or None,
                        merged_on=r["date"], source="e-Stat 市区町村の廃置分合等情報"))
    official_names = {(r["current_code"], jp_key(r["old_name"])) for r in official}
    for r in compiled:
        if not r.get("new_code") or r.get("superseded_by") or (r["new_code"], jp_key(r["old_name"])) in official_names:
            continue
        out.append(dict(municipality_code=r["new_code"], prefecture_code=r["prefecture_code"], old_code=None,
                        name=r["old_name"], name_ja=None, kana=None, kind=r["old_kind"] or None,
                        district=r["old_district"] or None, district_ja=None, merged_on=r["date"] or None,
                        source=r["source"]))
    return out
