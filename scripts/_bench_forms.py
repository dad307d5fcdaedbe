"""The generated test set for scripts/bench-resolve: place strings as alumni write them.

Every string is drawn by a seeded generator from the official tables in data/ (e-Stat Heisei
mergers, municipalities, wards, postal codes, US places and ZIPs); nothing is picked by hand.
Each case carries its truth: the set of current JIS codes (or the US place id) the text can mean
under the gazetteer's documented rules, so a bare old name shared by two old towns has two.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass

from matcher.gazetteer.names import jp_key, kana_to_romaji, strip_macrons, _to_katakana, _bare_kana

SUFFIXES = {"town": ("cho", "machi"), "village": ("mura", "son"), "city": ("shi",)}
ENGLISH = {"town": "Town", "village": "Village", "city": "City"}
KANJI_KIND = {"town": "町", "village": "村", "city": "市"}


@dataclass
class Case:
    form: str
    query: str
    truth: frozenset  # current JIS codes (JP) or {place_id} (US)
    country: str = "JP"


def _long_vowels(rng: random.Random, romaji: str) -> str:
    """Write long vowels one of the ways people do: ō, oo, ou, oh, o."""
    style = rng.choice(["macron", "oo", "ou", "oh", "plain"])
    if style == "macron":
        return romaji
    rep = {"oo": ("oo", "uu"), "ou": ("ou", "uu"), "oh": ("oh", "u"), "plain": ("o", "u")}[style]
    return romaji.replace("Ō", "O" + rep[0][1:]).replace("ō", rep[0]).replace("Ū", "U" + rep[1][1:]).replace("ū", rep[1])


class FormMaker:
    """Draw cases form by form; ``truth`` follows the gazetteer's documented precedence."""

    def __init__(self, gaz, official: list[dict], seed: int):
        self.gaz, self.rng = gaz, random.Random(seed)
        seen, self.old = set(), []
        for r in official:
            if r["old_code"] not in seen:
                seen.add(r["old_code"])
                self.old.append(r)
        self.old_codes = defaultdict(set)
        for r in official:
            self.old_codes[r["old_code"]].add(r["current_code"])
        self.prefs = gaz.prefectures
        self.munis = sorted(gaz.municipalities.values(), key=lambda m: m["code"])
        self.by_kanji = defaultdict(list)  # (kanji name) -> old rows
        self.by_romaji = defaultdict(list)
        for r in official:
            self.by_kanji[r["old_name_ja"]].append(r)
            self.by_romaji[jp_key(r["old_name"])].append(r)
        self.cur_kanji = defaultdict(set)
        self.cur_romaji = defaultdict(set)
        for m in self.munis:
            self.cur_kanji[m["name_ja"]].add(m["code"])
            self.cur_romaji[jp_key(m["name"])].add(m["code"])

    def _truth(self, rows: list[dict], current: set[str], pref: str | None = None, district: str | None = None,
               kind: str | None = None) -> frozenset:
        cur = {c for c in current if pref is None or self.gaz.municipalities[c]["prefecture_code"] == pref}
        if kind:
            cur = {c for c in cur if self.gaz.municipalities[c]["kind"] == kind}
        if cur:  # rule 3: a current name beats an old one
            return frozenset(cur)
        rows = [r for r in rows if (pref is None or r["prefecture_code"] == pref)
                and (district is None or r["old_district_ja"] == district) and (kind is None or r["old_kind"] == kind)]
        return frozenset(r["current_code"] for r in rows)

    def _romaji(self, r: dict) -> str:
        bare = _bare_kana(_to_katakana(r["old_kana"]), r["old_kind"])
        return _long_vowels(self.rng, kana_to_romaji(bare))

    def _suffixed(self, r: dict, name: str) -> tuple[str, str | None]:
        style = self.rng.choice(["bare", "hyphen", "english"])
        if style == "bare":
            return name, None
        if style == "hyphen":
            return f"{name}-{self.rng.choice(SUFFIXES[r['old_kind']])}", r["old_kind"]
        return f"{name} {ENGLISH[r['old_kind']]}", r["old_kind"]

    def old_kanji(self) -> Case:
        r = self.rng.choice(self.old)
        return Case("old name, kanji", r["old_name_ja"], self._truth(self.by_kanji[r["old_name_ja"]],
                                                                     self.cur_kanji[r["old_name_ja"]]))

    def old_kanji_pref(self) -> Case:
        r = self.rng.choice(self.old)
        pref = self.prefs[r["prefecture_code"]]
        q = self.rng.choice([f"{pref['name_ja']}{r['old_name_ja']}", f"{r['old_name_ja']}, {pref['name_ja']}"])
        return Case("old name, kanji + prefecture", q, self._truth(self.by_kanji[r["old_name_ja"]],
                                                                   self.cur_kanji[r["old_name_ja"]], r["prefecture_code"]))

    def old_kanji_district(self) -> Case:
        r = self.rng.choice([o for o in self.old if o["old_district_ja"].endswith("郡")])
        pref = self.prefs[r["prefecture_code"]]
        q = f"{pref['name_ja']}{r['old_district_ja']}{r['old_name_ja']}"
        return Case("old name, 県郡町 kanji", q, self._truth(self.by_kanji[r["old_name_ja"]], set(),
                                                          r["prefecture_code"], r["old_district_ja"]))

    def old_kana(self) -> Case:
        r = self.rng.choice(self.old)
        kana = r["old_kana"] if self.rng.random() < 0.5 else _to_katakana(r["old_kana"])
        same = [o for o in self.old if o["old_kana"] == r["old_kana"]]
        cur = {m["code"] for m in self.munis if jp_key(m["name_kana"]) == jp_key(kana)}
        return Case("old name, kana", kana, self._truth(same, cur))

    def old_romaji_pref(self) -> Case:
        r = self.rng.choice(self.old)
        name, kind = self._suffixed(r, self._romaji(r))
        pref = self.prefs[r["prefecture_code"]]
        q = self.rng.choice([f"{name}, {pref['name']}", f"{name} ({pref['name']})", f"{name}, {pref['name']}-ken"])
        key = jp_key(r["old_name"])
        return Case("old name, romaji + prefecture", q,
                    self._truth(self.by_romaji[key], self.cur_romaji[key], r["prefecture_code"], kind=kind))

    def old_romaji_district(self) -> Case:
        rows = [o for o in self.old if o["old_district_ja"].endswith("郡") and self._district(o)]
        r = self.rng.choice(rows)
        dist, pref = self._district(r), self.prefs[r["prefecture_code"]]["name"]
        name = self._romaji(r)
        suffix = self.rng.choice(SUFFIXES[r["old_kind"]])
        q = self.rng.choice([f"{name}-{suffix}, {dist}-gun, {pref}-ken", f"{pref}-ken {dist}-gun {name}-{suffix}",
                             f"{name} {ENGLISH[r['old_kind']]}, {dist} District, {pref}"])
        key = jp_key(r["old_name"])
        return Case("old name, romaji + district", q, self._truth(self.by_romaji[key], set(), r["prefecture_code"],
                                                                  r["old_district_ja"], r["old_kind"]))

    def _district(self, r: dict) -> str | None:
        for a in self.gaz.aliases:
            if a.get("old_code") == r["old_code"]:
                return a.get("district")
        return None

    def organisation(self) -> Case:
        r = self.rng.choice(self.old)
        pref = self.prefs[r["prefecture_code"]]
        name, word = self._romaji(r), ENGLISH[r["old_kind"]]
        latin = [(f"{name} {word} Board of Education, {pref['name']}", True), (f"{name} BOE, {pref['name']}", False),
                 (f"{name} {word} Office, {pref['name']}", True)]
        kanji = [f"{r['old_name_ja']}教育委員会（{pref['name_ja']}）", f"{pref['name_ja']}{r['old_name_ja']}役場"]
        i = self.rng.randrange(len(latin) + len(kanji))
        if i < len(latin):
            q, with_kind = latin[i]
            key = jp_key(r["old_name"])
            truth = self._truth(self.by_romaji[key], self.cur_romaji[key], r["prefecture_code"],
                                kind=r["old_kind"] if with_kind else None)
        else:
            q = kanji[i - len(latin)]
            truth = self._truth(self.by_kanji[r["old_name_ja"]], self.cur_kanji[r["old_name_ja"]], r["prefecture_code"])
        return Case("organisation", q, truth)

    def now_form(self) -> Case:
        r = self.rng.choice(self.old)
        cur = self.gaz.municipalities[r["current_code"]]
        with_pref = self.rng.random() < 0.5
        q = (f"{r['old_name']} (now {cur['name_romaji']}), {self.prefs[r['prefecture_code']]['name']}" if with_pref
             else f"{self._romaji(r)} (now {cur['name']})")
        now_key = jp_key(cur["name"])
        truth = {o["current_code"] for o in self.by_romaji[jp_key(r["old_name"])]
                 if jp_key(self.gaz.municipalities[o["current_code"]]["name"]) == now_key
                 and (not with_pref or o["prefecture_code"] == r["prefecture_code"])}
        return Case("\"X (now Y)\"", q, frozenset(truth))

    def ward(self) -> Case:
        w = self.rng.choice(self.gaz.wards)
        city = self.gaz.municipalities[w["city_code"]]
        q = self.rng.choice([f"{city['name_ja']}{w['name_ja']}", f"{w['name']}-ku, {city['name']}",
                             f"{city['name']}-shi {w['name']}-ku", f"{w['name']} Ward, {city['name']} City"])
        return Case("designated-city ward", q, frozenset({city["code"]}))

    def postal(self) -> Case:
        row = self.rng.choice(self.gaz.postal._rows)
        code = row["prefix"] + self.rng.choice(row["suffixes"].split())
        q = self.rng.choice([f"〒{code[:3]}-{code[3:]}", code, f"{code[:3]}-{code[3:]}"])
        codes = self.gaz.postal.get(code)
        truth = {self.gaz.wards[self.gaz._ward_codes[c]]["city_code"] if c in self.gaz._ward_codes else c for c in codes}
        return Case("JP postal code", q, frozenset(truth))

    def jp_address(self) -> Case:
        r = self.rng.choice(self.old)
        cur = self.gaz.municipalities[r["current_code"]]
        pref = self.prefs[cur["prefecture_code"]]
        chome = f"{self.rng.randint(1, 9)}-{self.rng.randint(1, 30)}-{self.rng.randint(1, 20)}"
        q = f"{pref['name_ja']}{cur['name_ja']}{r['old_name_ja']}{chome}"
        return Case("JP full address", q, frozenset({cur["code"]}))

    def current_romaji(self) -> Case:
        m = self.rng.choice(self.munis)
        pref = self.prefs[m["prefecture_code"]]
        q = f"{_long_vowels(self.rng, m['name_romaji'])}, {pref['name']}"
        same = {c for c in self.cur_romaji[jp_key(m["name"])] if self.gaz.municipalities[c]["prefecture_code"] == m["prefecture_code"]}
        rank = {"city": 0, "ward": 1, "town": 2, "village": 3}  # rule 5: the city, then ward, town, village
        best = min(rank[self.gaz.municipalities[c]["kind"]] for c in same)
        same = {c for c in same if rank[self.gaz.municipalities[c]["kind"]] == best}
        return Case("current name, romaji + prefecture", q, frozenset(same))

    def _us_place(self):
        zip_code = self.rng.choice(sorted(self.gaz.zips))
        pid = self.gaz.zips[zip_code][0]
        return zip_code, pid, self.gaz.places[pid]

    def us_city_state(self) -> Case:
        _, pid, p = self._us_place()
        state = self.gaz.states[p["state_abbr"]]["name"] if self.rng.random() < 0.5 else p["state_abbr"]
        return Case("US city, state", f"{p['name']}, {state}", frozenset({pid}), "US")

    def us_city_state_zip(self) -> Case:
        zip_code, pid, p = self._us_place()
        q = self.rng.choice([f"{p['name']} {p['state_abbr']} {zip_code}", f"{p['name']}, {p['state_abbr']} {zip_code}"])
        return Case("US city state ZIP", q, frozenset({pid}), "US")

    def us_street(self) -> Case:
        zip_code, pid, p = self._us_place()
        street = f"{self.rng.randint(1, 9999)} {self.rng.choice(['Main St', 'Oak Ave', 'Elm Street', '2nd St'])}"
        return Case("US street address", f"{street}, {p['name']}, {p['state_abbr']} {zip_code}", frozenset({pid}), "US")

    def cases(self, per_form: int) -> list[Case]:
        makers = [self.old_kanji, self.old_kanji_pref, self.old_kanji_district, self.old_kana, self.old_romaji_pref,
                  self.old_romaji_district, self.organisation, self.now_form, self.ward, self.postal, self.jp_address,
                  self.current_romaji, self.us_city_state, self.us_city_state_zip, self.us_street]
        return [make() for make in makers for _ in range(per_form)]


def judge(case: Case, res) -> str:
    """right | wrong | wrong on ambiguous truth | ambiguous (right) | ambiguous (miss) | unknown."""
    got = (res.place_id if case.country == "US" else res.code) if res.status == "resolved" else None
    if res.status == "resolved":
        if len(case.truth) > 1:
            return "wrong on ambiguous truth"
        return "right" if got in case.truth else "wrong"
    if res.status == "ambiguous":
        offered = {c.place_id if case.country == "US" else c.code for c in res.candidates}
        return "ambiguous (right)" if len(case.truth) > 1 and case.truth <= offered else "ambiguous (miss)"
    return "unknown"
