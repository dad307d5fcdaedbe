"""Places written the ways alumni write them: old names in kanji and kana, districts, organisations,
wards, postal codes, addresses; the official e-Stat table behind every old name."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from matcher.gazetteer import MAX_PLACE_CHARS, place_problem
from matcher.gazetteer.index import _Hit, _Index
from matcher.gazetteer.resolver import Gazetteer

DATA = Path(__file__).resolve().parents[3] / "data"


@pytest.fixture(scope="module")
def gaz() -> Gazetteer:
    return Gazetteer.from_data_dir("data")


def _one(gaz, query, **kw):
    res = gaz.resolve(query, **kw)
    assert res.status == "resolved", (query, res.status, res.note, [c.label for c in res.candidates])
    return res


def test_kawane_written_as_prefecture_district_town_in_kanji_is_shimada(gaz):
    res = _one(gaz, "静岡県榛原郡川根町")
    assert (res.name, res.code, res.via, res.via_alias["name"], res.alias_name_ja) == (
        "Shimada", "22209", "district", "Kawane", "川根町")


def test_the_same_district_form_in_romaji_with_and_without_commas(gaz):
    for query in ("Kawane-cho, Haibara-gun, Shizuoka-ken", "Shizuoka-ken Haibara-gun Kawane-cho",
                  "Kawane Town, Haibara District, Shizuoka"):
        assert _one(gaz, query).name == "Shimada", query


def test_yasato_ibaraki_missing_from_the_compiled_list_is_ishioka(gaz):
    res = _one(gaz, "Yasato-machi, Ibaraki")
    assert (res.name, res.via_alias["name"], res.via_alias["merged_on"]) == ("Ishioka", "Yasato", "2005-10-01")


def test_yufuin_in_kanji_with_or_without_prefecture_and_in_kana_is_yufu(gaz):
    for query in ("湯布院町", "大分県湯布院町", "湯布院", "ゆふいんちょう", "ユフイン", "Yufuin-cho, Oita"):
        res = _one(gaz, query)
        assert (res.name, res.prefecture) == ("Yufu", "Oita"), query


def test_toyoma_is_read_from_the_official_kana_not_the_misread_tome(gaz):
    res = _one(gaz, "登米町")
    assert (res.name, res.via_alias["name"]) == ("Tome", "Toyoma")
    assert _one(gaz, "Toyoma-machi, Miyagi").name == "Tome"
    assert not any(a["name"] == "Tome" and a["kind"] == "town" for a in gaz.aliases)


def test_long_vowels_written_every_way_find_the_same_old_town(gaz):
    for query in ("Ōuchi, Akita", "Oouchi, Akita", "Ouchi, Akita", "Ōuchi-machi, Akita", "Oouchi Town, Akita"):
        assert _one(gaz, query).name == "Yurihonjo", query


def test_board_of_education_town_office_and_kanji_organisations(gaz):
    for query in ("Ikuno Town Board of Education, Hyogo", "Ikuno BOE, Hyogo", "Ikuno-cho Town Office, Hyogo",
                  "生野町教育委員会", "兵庫県生野町役場"):
        res = _one(gaz, query)
        assert (res.name, res.via) == ("Asago", "organisation"), query


def test_designated_city_wards_resolve_to_the_city_and_keep_the_ward(gaz):
    for query in ("名古屋市千種区", "Chikusa-ku, Nagoya", "Nagoya-shi Chikusa-ku", "Chikusa Ward, Nagoya City"):
        res = _one(gaz, query)
        assert (res.name, res.code, res.via) == ("Nagoya", "23100", "ward"), query
        assert res.ward == {"code": "23101", "name": "Chikusa", "name_ja": "千種区"}


def test_a_bare_ward_name_shared_by_cities_is_ambiguous_until_the_city_is_given(gaz):
    res = gaz.resolve("Kita-ku")
    assert res.status == "resolved" and res.name == "Kita" and res.prefecture == "Tokyo"  # Tokyo's special ward
    assert _one(gaz, "Kita-ku, Sapporo").ward["name_ja"] == "北区"


def test_now_form_and_a_romaji_address(gaz):
    assert _one(gaz, "Ishidoriya (now Hanamaki)").name == "Hanamaki"
    res = _one(gaz, "Yahata, Hanamaki-shi, Iwate-ken")
    assert (res.name, res.via) == ("Hanamaki", "address")


def test_a_full_japanese_address_with_the_old_town_in_it(gaz):
    res = _one(gaz, "岩手県花巻市石鳥谷町八幡4-100")
    assert (res.name, res.via) == ("Hanamaki", "address")


def test_japanese_postal_codes_written_with_and_without_the_mark(gaz):
    for query in ("〒025-0301", "0250301", "025-0301"):
        res = _one(gaz, query)
        assert (res.name, res.via) == ("Hanamaki", "postal code"), query
    ward = _one(gaz, "〒464-0850")  # Chikusa-ku, Nagoya
    assert (ward.name, ward.ward["name_ja"]) == ("Nagoya", "千種区")


def test_us_homes_with_zip_state_and_street(gaz):
    res = _one(gaz, "Billings MT 59101")
    assert (res.name, res.state, res.kind, res.via) == ("Billings", "MT", "city", "address")
    for query in ("Hot Springs, Arkansas", "Hot Springs AR 71901", "100 Central Ave, Hot Springs, AR 71901",
                  "Hot Springs, AR 71901"):
        res = _one(gaz, query)
        assert (res.name, res.state) == ("Hot Springs", "AR"), query


def test_same_named_old_villages_prefecture_alone_is_ambiguous_district_decides(gaz):
    res = gaz.resolve("Azuma, Gunma")
    assert res.status == "ambiguous"
    assert {c.name for c in res.candidates} == {"Isesaki", "Midori", "Higashiagatsuma"}
    assert all(c.note.startswith("old village") for c in res.candidates)
    assert _one(gaz, "Azuma-mura, Seta-gun, Gunma").name == "Midori"
    assert _one(gaz, "群馬県吾妻郡東村").name == "Higashiagatsuma"


def test_a_split_village_is_ambiguous_with_both_successors(gaz):
    res = gaz.resolve("Kamikuishiki, Yamanashi")
    assert res.status == "ambiguous" and {c.name for c in res.candidates} == {"Kofu", "Fujikawaguchiko"}


def test_unknown_gives_up_to_five_candidates_with_reasons_and_one_sentence(gaz):
    res = gaz.resolve("Ishidoryia-choo, Iwatte")
    assert res.status in ("unknown", "resolved")
    res = gaz.resolve("Ishidorixxa")
    assert res.status == "unknown" and 0 < len(res.candidates) <= 5
    assert all(c.note for c in res.candidates)
    assert "did you mean Ishidoriya (now Hanamaki), Iwate" in place_problem(res)


def test_too_long_text_is_refused_with_a_note_not_read(gaz):
    res = gaz.resolve("Ishidoriya" * 10_240)  # 100 KB
    assert res.status == "unknown" and res.note.startswith("too long: 102,400 characters")
    assert str(MAX_PLACE_CHARS) in place_problem(res)


def test_typo_search_has_a_hard_bound_on_key_length():
    index = _Index()
    hit = _Hit("municipality", "03205", 0)
    index.add("a" * 40, hit)
    assert index.typo("a" * 41) == []  # one edit away, but past the bound: not searched
    index.add("hanamaki", hit)
    assert [h.code for h in index.typo("hanamakk")] == ["03205"]


def test_an_unknown_town_in_a_known_prefecture_is_not_answered_with_the_prefecture_city(gaz):
    assert gaz.resolve("Zzyzxville-machi, Akita").status == "unknown"


def test_every_official_old_municipality_from_kanji_with_prefecture(gaz):
    with open(DATA / "jp_heisei_mergers.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    truth: dict[str, set[str]] = {}
    for r in rows:
        truth.setdefault(r["old_code"], set()).add(r["current_code"])
    missed = []
    for r in {r["old_code"]: r for r in rows}.values():
        res = gaz.resolve(f"{gaz.prefectures[r['prefecture_code']]['name_ja']}{r['old_name_ja']}")
        found = {res.code} if res.status == "resolved" else {c.code for c in res.candidates}
        if not (found & truth[r["old_code"]]):
            missed.append(r["old_name_ja"])
    assert missed == []
